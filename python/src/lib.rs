//! The mspkpi functions as a Python extension module, `mspkpi._native`, for
//! datafusion-python.
//!
//! Each function is an object that hands datafusion-python a datafusion-ffi capsule
//! (`__datafusion_aggregate_udf__`, `__datafusion_scalar_udf__`), which it wraps with
//! `udaf(...)` / `udf(...)`. Only the function crosses: its documentation does not, so
//! the docstrings and the package's type stub are written here, from each function's
//! `Documentation` ([`docs`]).
//!
//! [`report`] renders the monthly reports with the same code as `mspkpi report`.

/// The docstring of [`report`], for the function itself and for the type stub.
macro_rules! report_doc {
    () => {
        "Renders the reports of one period (a month such as \"2026-10\" or a quarter such as \"2026-Q3\") from `data` (a folder or s3://bucket/prefix) into `out/<period>/`, as `mspkpi report` does, replacing that folder only once everything is written. `as_of` reads an earlier import of Delta tables (an import number such as \"3\" or an RFC 3339 time), as `--as-of` does. Returns {\"folder\": ..., \"clients\": ..., \"files\": ...}; raises ValueError for a bad argument and RuntimeError when the job fails."
    };
}

mod docs;

use std::path::PathBuf;
use std::sync::Arc;

use datafusion_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use mspkpi::data::imports::AsOf;
use mspkpi::data::location::Location;
use mspkpi::period::Period;
use mspkpi::report::format::Currency;
use mspkpi::report::{OutputFormat, ReportOptions};
use mspkpi::session::EngineOptions;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

/// A KPI aggregate function (`nps`, `sla_compliance`, ...), ready for
/// `datafusion.udaf(...)`.
#[pyclass(frozen, module = "mspkpi._native", name = "AggregateFunction")]
struct AggregateFunction {
    function: Arc<AggregateUDF>,
}

#[pymethods]
impl AggregateFunction {
    #[getter]
    fn name(&self) -> &str {
        self.function.name()
    }

    /// The function's documentation as a docstring.
    #[getter]
    fn doc(&self) -> String {
        docs::docstring(self.function.name(), self.function.documentation())
    }

    fn __datafusion_aggregate_udf__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let function = FFI_AggregateUDF::from(self.function.clone());
        PyCapsule::new_with_value(py, function, c"datafusion_aggregate_udf")
    }

    fn __repr__(&self) -> String {
        format!("<mspkpi aggregate function {}>", self.function.name())
    }
}

/// A scalar helper function (`business_minutes`, `local_month`, ...), ready for
/// `datafusion.udf(...)`.
#[pyclass(frozen, module = "mspkpi._native", name = "ScalarFunction")]
struct ScalarFunction {
    function: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    #[getter]
    fn name(&self) -> &str {
        self.function.name()
    }

    /// The function's documentation as a docstring.
    #[getter]
    fn doc(&self) -> String {
        docs::docstring(self.function.name(), self.function.documentation())
    }

    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let function = FFI_ScalarUDF::from(self.function.clone());
        PyCapsule::new_with_value(py, function, c"datafusion_scalar_udf")
    }

    fn __repr__(&self) -> String {
        format!("<mspkpi scalar function {}>", self.function.name())
    }
}

/// Every KPI aggregate function.
#[pyfunction]
fn aggregate_functions() -> Vec<AggregateFunction> {
    mspkpi_udfs::aggregate_functions()
        .into_iter()
        .map(|function| AggregateFunction { function })
        .collect()
}

/// Every scalar helper function.
#[pyfunction]
fn scalar_functions() -> Vec<ScalarFunction> {
    mspkpi_udfs::scalar_functions()
        .into_iter()
        .map(|function| ScalarFunction { function })
        .collect()
}

/// The text of the package's type stub, `mspkpi/__init__.pyi`.
#[pyfunction]
fn stub() -> String {
    docs::stub(
        &mspkpi_udfs::aggregate_functions(),
        &mspkpi_udfs::scalar_functions(),
    )
}

#[doc = report_doc!()]
#[pyfunction]
#[pyo3(signature = (data, period, out, *, formats = "md,html", clients = Vec::new(), queries = None, templates = None, currency = "USD", threads = None, as_of = None))]
#[allow(clippy::too_many_arguments)] // one keyword argument per `mspkpi report` option
fn report<'py>(
    py: Python<'py>,
    data: &str,
    period: &str,
    out: PathBuf,
    formats: &str,
    clients: Vec<String>,
    queries: Option<PathBuf>,
    templates: Option<PathBuf>,
    currency: &str,
    threads: Option<usize>,
    as_of: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let invalid = |e: String| PyValueError::new_err(e);
    let options = ReportOptions {
        data: Location::parse(data).map_err(invalid)?,
        as_of: as_of.map(AsOf::parse).transpose().map_err(invalid)?,
        period: Period::parse(period).map_err(|e| invalid(mspkpi::error_message(&e)))?,
        clients,
        formats: OutputFormat::parse(formats).map_err(|e| invalid(mspkpi::error_message(&e)))?,
        queries,
        templates,
        out,
        engine: EngineOptions {
            threads,
            ..EngineOptions::default()
        },
        currency: Currency::parse(currency).map_err(invalid)?,
    };
    // The job runs on a runtime of its own, with the interpreter free for other threads.
    let summary = py
        .detach(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(mspkpi::report::run(&options))
        })
        .map_err(|e| PyRuntimeError::new_err(mspkpi::error_message(&e)))?;
    let result = PyDict::new(py);
    result.set_item("folder", summary.folder)?;
    result.set_item("clients", summary.clients)?;
    result.set_item("files", summary.files)?;
    Ok(result)
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    mspkpi::install_crypto_provider();
    module.add_class::<AggregateFunction>()?;
    module.add_class::<ScalarFunction>()?;
    module.add_function(wrap_pyfunction!(aggregate_functions, module)?)?;
    module.add_function(wrap_pyfunction!(scalar_functions, module)?)?;
    module.add_function(wrap_pyfunction!(stub, module)?)?;
    module.add_function(wrap_pyfunction!(report, module)?)?;
    // The datafusion-ffi major this module was built with; the package refuses any
    // other datafusion-python major at import.
    module.add("DATAFUSION_MAJOR", datafusion_ffi::version())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
