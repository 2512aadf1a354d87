//! A build without the `delta` feature: every use of a Delta log is refused by name.

use anyhow::{Result, bail};

use super::{BUILD_WITH_DELTA, NewFile, Replace, Snapshot};
use crate::data::location::Location;

/// What a build without delta-rs says of the Delta table at `location`.
fn refuse<T>(location: &Location) -> Result<T> {
    bail!(
        "{location} is a Delta table, and this mspkpi was built without Delta Lake support: {BUILD_WITH_DELTA}"
    )
}

pub async fn snapshot(location: &Location, _version: Option<u64>) -> Result<Snapshot> {
    refuse(location)
}

pub async fn commit(
    location: &Location,
    _schema: &arrow::datatypes::Schema,
    _partition_columns: &[String],
    _files: Vec<NewFile>,
    _replace: Replace<'_>,
) -> Result<u64> {
    refuse(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_use_of_a_delta_log_names_the_table_and_the_feature() {
        let location = Location::Local("/data/tickets".into());
        let schema = arrow::datatypes::Schema::empty();
        let errors = [
            snapshot(&location, Some(3)).await.unwrap_err(),
            commit(&location, &schema, &[], Vec::new(), Replace::All)
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert_eq!(
                error.to_string(),
                "/data/tickets is a Delta table, and this mspkpi was built without Delta Lake support: build it with the `delta` feature (`cargo install --path . --features delta`)"
            );
        }
    }
}
