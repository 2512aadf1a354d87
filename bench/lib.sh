# Shared by bench/run.sh, bench/cluster.sh and bench/python.sh: source it from the repository's root.

# The commit measured; taken before anything is written, so that the results file
# itself does not count as a local change.
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"

# The machine, for a results file's header.
machine() { echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"; }

# bench_venv PACKAGE...: the peers and tools in a virtual environment of their own (the
# system's Python may refuse pip); sets VENV.
bench_venv() {
  VENV=target/bench-venv
  [ -x "$VENV/bin/python" ] || command python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "$@"
}

# Numbers on stdin -> "median (min-max)" with DIGITS decimals (default 3).
median() { sort -g | awk -v d="${DIGITS:-3}" '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.*f (%.*f-%.*f)", d, m, d, a[1], d, a[NR]}'; }

# ratio_of_medians 'A[@]' 'B[@]': the median of array A over the median of array B, to
# three decimals, rounded (cut to four characters, 1.4078 read as 1.40 and passed a 1.4
# target).
ratio_of_medians() { printf '%.3f' "$(echo "$(printf '%s\n' "${!1}" | median | cut -d' ' -f1) / $(printf '%s\n' "${!2}" | median | cut -d' ' -f1)" | bc -l)"; }

# last_period DATA: the last whole month of a generated data folder.
last_period() { "$BIN" sql --data "$1" --format csv "SELECT to_char(CAST(max(created_at) AS DATE) - INTERVAL '1 month', '%Y-%m') AS p FROM tickets" | tail -1; }

# time_of LOG: the wall seconds (WALL) and peak RSS in KiB (RSS) of a /usr/bin/time -v log.
time_of() {
  WALL=$(grep 'Elapsed (wall clock)' "$1" | awk -F': ' '{split($2, t, ":"); print (length(t) == 3 ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2])}')
  RSS=$(grep 'Maximum resident set size' "$1" | awk '{print $NF}')
}

# A free TCP port on 127.0.0.1, and a wait (up to 30 s) until something listens on one.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (echo > "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }
