"""Rewrites mspkpi/__init__.pyi from the functions' documentation (run after changing
a function's documentation, with the package built: maturin develop)."""

from pathlib import Path

import mspkpi._native

Path(__file__).with_name("mspkpi").joinpath("__init__.pyi").write_text(mspkpi._native.stub())
