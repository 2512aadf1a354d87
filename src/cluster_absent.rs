//! Built without the `cluster` feature: no session runs on a cluster, so no query
//! loses an executor.

use anyhow::Result;
use datafusion::prelude::SessionContext;

pub fn is_remote(_ctx: &SessionContext) -> bool {
    false
}

pub fn lost_executor(_error_text: &str) -> Option<&str> {
    None
}

pub async fn rerun_if_executor_lost<T, F, Fut>(
    _ctx: &SessionContext,
    _what: &str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    attempt().await
}
