"""The package itself: the datafusion version guard, the committed type stub and the
report job."""

import importlib
import subprocess
import sys
from pathlib import Path

import datafusion
import pytest

import mspkpi
from conftest import mspkpi_cli


def test_another_datafusion_major_is_refused_at_import(monkeypatch):
    monkeypatch.setattr(datafusion, "__version__", "54.1.0")
    monkeypatch.delitem(sys.modules, "mspkpi")
    with pytest.raises(ImportError, match=r"works with datafusion 55\.x only.*datafusion 54\.1\.0.*pip install 'datafusion>=55,<56'"):
        importlib.import_module("mspkpi")


def test_the_installed_datafusion_is_accepted():
    assert datafusion.__version__.split(".")[0] == "55"
    mspkpi._check_datafusion(datafusion.__version__)


def test_the_committed_stub_is_current():
    committed = Path(mspkpi.__file__).with_name("__init__.pyi").read_text()
    assert committed == mspkpi._native.stub(), (
        "python/mspkpi/__init__.pyi is stale: run `python python/generate_stub.py` and commit it"
    )


def test_report_renders_what_the_cli_renders(sample, tmp_path):
    summary = mspkpi.report(str(sample), "2026-05", tmp_path / "py", formats="md")
    folder = Path(summary["folder"])
    assert folder == tmp_path / "py" / "2026-05"
    cli = subprocess.run(
        [mspkpi_cli(), "report", "--data", sample, "--period", "2026-05", "--format", "md", "--out", tmp_path / "cli"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert f"wrote {summary['files']} files for {summary['clients']} clients" in cli.stderr, cli.stderr
    mine = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    theirs_folder = tmp_path / "cli" / "2026-05"
    theirs = sorted(p.relative_to(theirs_folder) for p in theirs_folder.rglob("*") if p.is_file())
    assert mine == theirs and len(mine) == summary["files"] == summary["clients"] + 2
    for name in mine:
        assert (folder / name).read_bytes() == (theirs_folder / name).read_bytes(), name


def test_report_errors_are_python_exceptions(sample, tmp_path):
    with pytest.raises(ValueError, match=r"2026-13"):
        mspkpi.report(str(sample), "2026-13", tmp_path)
    with pytest.raises(RuntimeError, match=r"does-not-exist"):
        mspkpi.report(str(tmp_path / "does-not-exist"), "2026-05", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_readme_example_runs(sample, tmp_path):
    section = (Path(__file__).resolve().parents[2] / "docs" / "python.md").read_text()
    example = section[section.index("```python\n") + len("```python\n"):]
    example = example[: example.index("```")]
    (tmp_path / "mspkpi-demo").mkdir()
    (tmp_path / "mspkpi-demo" / "data").symlink_to(sample)
    run = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60)
    assert "C0001" in run.stdout and "nps(surveys.score)" in run.stdout, run.stdout
