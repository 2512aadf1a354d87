"""MSP help-desk KPI functions for DataFusion in Python.

    import datafusion, mspkpi
    ctx = datafusion.SessionContext()
    mspkpi.register(ctx)
    ctx.sql("SELECT client_id, nps(score) FROM 'surveys.parquet' GROUP BY client_id")

Every function is also a ready object for the DataFrame API:
``df.aggregate([col("client_id")], [mspkpi.nps(col("score"))])``.

``mspkpi.report(data, "2026-10", out)`` renders the monthly reports, as the
``mspkpi report`` command does.
"""

from __future__ import annotations

import datafusion as _datafusion

from . import _native
from ._native import report

__version__: str = _native.__version__


def _check_datafusion(version: str) -> None:
    """Refuses a datafusion-python of another major than the one this package was
    built against: datafusion-ffi's capsules change layout between majors, and
    datafusion-python checks none when it loads one (a mismatch would crash the
    interpreter instead of raising)."""
    major = version.split(".", 1)[0]
    if major != str(_native.DATAFUSION_MAJOR):
        raise ImportError(
            f"mspkpi {__version__} works with datafusion {_native.DATAFUSION_MAJOR}.x only, "
            f"and this Python has datafusion {version}: "
            f"pip install 'datafusion>={_native.DATAFUSION_MAJOR},<{_native.DATAFUSION_MAJOR + 1}'"
        )


_check_datafusion(_datafusion.__version__)


def _wrap(function, make):
    wrapped = make(function)
    wrapped.__doc__ = function.doc
    return wrapped


_aggregates = {f.name: _wrap(f, _datafusion.udaf) for f in _native.aggregate_functions()}
_scalars = {f.name: _wrap(f, _datafusion.udf) for f in _native.scalar_functions()}
globals().update(_aggregates)
globals().update(_scalars)


def register(ctx: _datafusion.SessionContext) -> None:
    """Registers every mspkpi function on `ctx`, for SQL (`ctx.sql("SELECT nps(score) ...")`)."""
    for function in _aggregates.values():
        ctx.register_udaf(function)
    for function in _scalars.values():
        ctx.register_udf(function)


__all__ = ["register", "report", *_aggregates, *_scalars]
