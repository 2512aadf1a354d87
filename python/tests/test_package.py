"""The package itself: the datafusion version guard and the committed type stub."""

import importlib
import sys
from pathlib import Path

import datafusion
import pytest

import mspkpi


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
