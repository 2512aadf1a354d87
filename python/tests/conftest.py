import os
import subprocess
from pathlib import Path

import datafusion
import pytest

import mspkpi

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ctx():
    ctx = datafusion.SessionContext()
    mspkpi.register(ctx)
    return ctx


def mspkpi_cli():
    """The mspkpi binary (MSPKPI_BIN, else the workspace's debug build)."""
    binary = Path(os.environ.get("MSPKPI_BIN", REPO / "target" / "debug" / "mspkpi"))
    if not binary.exists():
        pytest.fail(f"{binary} does not exist: build it with `cargo build` or set MSPKPI_BIN")
    return binary


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """A generated history, written by `mspkpi generate`."""
    out = tmp_path_factory.mktemp("sample")
    subprocess.run(
        [mspkpi_cli(), "generate", "--out", out, "--clients", "12", "--tickets", "4000", "--months", "6", "--seed", "7", "--start", "2026-01"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out
