//! The Delta log through delta-rs: snapshots of a table at a version, and commits.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use deltalake_core::kernel::engine::arrow_conversion::TryFromArrow;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, Add, Remove, StructType};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder};
use object_store::ObjectMeta;
use object_store::path::Path as ObjectPath;
use url::Url;

use super::{NewFile, Replace, Snapshot};
use crate::data::location::Location;
use crate::data::object_stores;

/// Reader features whose tables this reader reads as plain Parquet files.
const READABLE_FEATURES: [&str; 4] = [
    "timestampNtz",
    "v2Checkpoint",
    "vacuumProtocolCheck",
    "domainMetadata",
];

/// delta-rs's default log store for `s3://` tables: each commit is one conditional put
/// (`PutMode::Create`, S3's `If-None-Match: *`) of the version's log file, so of two
/// writers racing for one version exactly one succeeds; the other retries after
/// delta-rs's conflict check, or fails. (delta-rs keeps its own S3 log store in the
/// `deltalake-aws` crate, whose DynamoDB locking this project does not need.)
struct ConditionalPutLogStores;

impl deltalake_core::logstore::LogStoreFactory for ConditionalPutLogStores {
    fn with_options(
        &self,
        prefixed_store: deltalake_core::logstore::ObjectStoreRef,
        root_store: deltalake_core::logstore::ObjectStoreRef,
        location: &Url,
        options: &deltalake_core::logstore::StorageConfig,
    ) -> deltalake_core::DeltaResult<Arc<dyn deltalake_core::logstore::LogStore>> {
        Ok(deltalake_core::logstore::default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Registers [`ConditionalPutLogStores`] for `s3://` once per process; every function
/// here that opens a table calls it first.
pub fn register_s3_log_stores() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        if let Ok(scheme) = Url::parse("s3://") {
            deltalake_core::logstore::logstore_factories()
                .insert(scheme, Arc::new(ConditionalPutLogStores));
        }
    });
}

/// The table's URL as delta-rs takes it: a folder URL, ending in '/'.
fn table_url(location: &Location) -> Result<Url> {
    register_s3_log_stores();
    super::check_location(location)?;
    match location {
        Location::Local(path) => {
            let absolute = path
                .canonicalize()
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            Url::from_directory_path(&absolute)
                .map_err(|()| anyhow!("{}: not a usable folder path", absolute.display()))
        }
        Location::Object(url) => {
            let mut url = url.clone();
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            Ok(url)
        }
    }
}

/// Opens the table at `location`, at `version` or its latest.
async fn open(location: &Location, version: Option<u64>) -> Result<DeltaTable> {
    let url = table_url(location)?;
    // delta-rs takes a store rooted at "/" (the bucket), which store_for gives.
    let (store, _) = object_stores::store_for(location)?;
    let mut builder = DeltaTableBuilder::from_url(url.clone())
        .map_err(|e| anyhow!("{location}: not a Delta table location: {e}"))?
        .with_storage_backend(store, url);
    if let Some(version) = version {
        builder = builder.with_version(version);
    }
    builder.load().await.map_err(|e| match version {
        Some(version) => {
            anyhow!("cannot read version {version} of the Delta table {location}: {e}")
        }
        None => anyhow!("cannot read the Delta table {location}: {e}"),
    })
}

/// The table at `location` as of `version` (its latest when `None`): its files, checked
/// to be readable as plain Parquet.
pub async fn snapshot(location: &Location, version: Option<u64>) -> Result<Snapshot> {
    let table = open(location, version).await?;
    let state = table
        .snapshot()
        .map_err(|e| anyhow!("cannot read the Delta table {location}: {e}"))?;
    check_readable(state, location)?;
    let prefix = match location {
        Location::Local(path) => ObjectPath::from_filesystem_path(
            path.canonicalize()
                .with_context(|| format!("cannot resolve {}", path.display()))?,
        )
        .with_context(|| format!("{}: not a usable path", path.display()))?,
        Location::Object(_) => location.object_path().unwrap_or_default(),
    };
    let mut files = Vec::new();
    for file in state.log_data().iter() {
        let relative = file.path();
        if relative.contains("://") {
            bail!(
                "the Delta table {location} names a file outside its folder ({relative}): tables of shallow clones are not supported"
            );
        }
        let mut path = prefix.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        files.push(ObjectMeta {
            location: path,
            last_modified: DateTime::<Utc>::from_timestamp_millis(file.modification_time())
                .unwrap_or_default(),
            size: u64::try_from(file.size()).unwrap_or(0),
            // Files of a version are never rewritten; the first read pins the identity.
            e_tag: None,
            version: None,
        });
    }
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(Snapshot {
        version: state.version(),
        files,
        partition_columns: state.metadata().partition_columns().to_vec(),
        schema: state.snapshot().arrow_schema(),
    })
}

/// Refuses a table whose log asks readers for what a plain Parquet scan cannot do.
fn check_readable(
    state: &deltalake_core::table::state::DeltaTableState,
    location: &Location,
) -> Result<()> {
    let protocol = state.protocol();
    let features: Vec<String> = protocol
        .reader_features()
        .unwrap_or_default()
        .iter()
        .map(|f| f.to_string())
        .filter(|f| !READABLE_FEATURES.contains(&f.as_str()))
        .collect();
    if !features.is_empty() {
        bail!(
            "the Delta table {location} uses reader feature(s) {}, which mspkpi cannot read: rewrite it without them (e.g. REORG TABLE … APPLY (PURGE) for deletion vectors)",
            features.join(", ")
        );
    }
    let mapping = state
        .metadata()
        .configuration()
        .get("delta.columnMapping.mode")
        .map(String::as_str)
        .unwrap_or("none");
    if protocol.min_reader_version() == 2 && mapping != "none" {
        bail!(
            "the Delta table {location} uses column mapping (mode '{mapping}'), which mspkpi cannot read"
        );
    }
    Ok(())
}

impl Replace<'_> {
    fn covers(&self, partition_values: &HashMap<String, Option<String>>) -> bool {
        match self {
            Replace::All => true,
            Replace::Partition { column, value } => {
                partition_values.get(*column) == Some(&Some(value.to_string()))
            }
        }
    }

    fn predicate(&self) -> Option<String> {
        match self {
            Replace::All => None,
            Replace::Partition { column, value } => {
                Some(format!("{column} = '{}'", value.replace('\'', "''")))
            }
        }
    }
}

/// Every commit writes a checkpoint when Delta's interval says so (each 100th version by
/// default), so readers replay at most that many JSON commits. Expired log entries are
/// never cleaned up by a commit: the import manifest may name any version still on
/// disk, and only `mspkpi vacuum` decides what is no longer needed.
fn commit_properties() -> CommitProperties {
    CommitProperties::default()
        .with_create_checkpoint(true)
        .with_cleanup_expired_logs(Some(false))
}

/// How often a commit that lost a race to create the table tries again as a commit to it.
const CREATE_RACES: usize = 2;

/// Commits `files` (already in the table's folder) as the next version of the table at
/// `location`: they replace the files `replace` names of the version before, in one
/// commit. A table that does not exist yet is created with them (`schema`, the files'
/// columns and the partition columns). Returns the version. A commit that races
/// another for the same version is retried by delta-rs after its conflict check, and
/// fails, saying so, when the other removed files it removes.
pub async fn commit(
    location: &Location,
    schema: &arrow::datatypes::Schema,
    partition_columns: &[String],
    files: Vec<NewFile>,
    replace: Replace<'_>,
) -> Result<u64> {
    let adds: Vec<Action> = files
        .into_iter()
        .map(|file| {
            Action::Add(Add {
                path: file.relative,
                partition_values: file.partition_values,
                size: i64::try_from(file.size).unwrap_or(i64::MAX),
                modification_time: file.modified.timestamp_millis(),
                data_change: true,
                stats: file.rows.map(|rows| format!("{{\"numRecords\":{rows}}}")),
                ..Default::default()
            })
        })
        .collect();
    let url = table_url(location)?;
    let (store, _) = object_stores::store_for(location)?;
    let mut table = DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_backend(store, url).build())
        .map_err(|e| anyhow!("cannot open {location} as a Delta table: {e}"))?;
    for attempt in 0..=CREATE_RACES {
        let exists = table
            .verify_deltatable_existence()
            .await
            .map_err(|e| anyhow!("cannot read the Delta log of {location}: {e}"))?;
        if !exists {
            let columns = StructType::try_from_arrow(schema)
                .map_err(|e| anyhow!("{location}: no Delta schema for its columns: {e}"))?;
            let created = CreateBuilder::new()
                .with_log_store(table.log_store())
                .with_columns(columns.fields().cloned())
                .with_partition_columns(partition_columns.iter().cloned())
                .with_actions(adds.clone())
                .with_save_mode(SaveMode::ErrorIfExists)
                .with_commit_properties(commit_properties())
                .await;
            match created {
                Ok(created) => {
                    return created.version().ok_or_else(|| {
                        anyhow!("the Delta table {location} has no version after its creation")
                    });
                }
                // Another writer created it first: commit to it instead.
                Err(_) if attempt < CREATE_RACES => continue,
                Err(e) => bail!("cannot create the Delta table {location}: {e}"),
            }
        }
        table
            .load()
            .await
            .map_err(|e| anyhow!("cannot read the Delta table {location}: {e}"))?;
        let state = table
            .snapshot()
            .map_err(|e| anyhow!("cannot read the Delta table {location}: {e}"))?;
        let now = Utc::now().timestamp_millis();
        let mut actions: Vec<Action> = state
            .log_data()
            .iter()
            .filter(|file| replace.covers(&file.partition_values_map()))
            .map(|file| {
                let mut remove: Remove = file.remove_action(true);
                remove.deletion_timestamp = Some(now);
                Action::Remove(remove)
            })
            .collect();
        actions.extend(adds);
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: (!partition_columns.is_empty()).then(|| partition_columns.to_vec()),
            predicate: replace.predicate(),
        };
        let committed = CommitBuilder::from(commit_properties())
            .with_actions(actions)
            .build(Some(state), table.log_store(), operation)
            .await
            .map_err(|e| anyhow!("cannot commit to the Delta table {location}: {e}"))?;
        return Ok(committed.version());
    }
    bail!("cannot commit to the Delta table {location}: other writers kept creating it")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{LOG_FOLDER, is_delta_folder};
    use super::*;

    /// A table whose log asks readers for deletion vectors, written as Spark would.
    fn table_with_deletion_vectors(dir: &Path) {
        let log = dir.join(LOG_FOLDER);
        std::fs::create_dir_all(&log).unwrap();
        let schema = r#"{\"type\":\"struct\",\"fields\":[{\"name\":\"ticket_id\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}"#;
        let commit = [
            r#"{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}}"#.to_string(),
            format!(
                r#"{{"metaData":{{"id":"d1","format":{{"provider":"parquet","options":{{}}}},"schemaString":"{schema}","partitionColumns":[],"configuration":{{"delta.enableDeletionVectors":"true"}},"createdTime":1}}}}"#
            ),
        ]
        .join("\n");
        std::fs::write(log.join("00000000000000000000.json"), commit).unwrap();
    }

    #[tokio::test]
    async fn a_table_with_deletion_vectors_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        table_with_deletion_vectors(dir.path());
        assert!(is_delta_folder(dir.path()));
        let error = snapshot(&Location::Local(dir.path().to_path_buf()), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("uses reader feature(s) deletionVectors, which mspkpi cannot read"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_commit_replaces_one_partition_or_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Local(dir.path().to_path_buf());
        let schema = arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("period", arrow::datatypes::DataType::Utf8, false),
        ]);
        let file = |name: &str, period: &str| {
            let relative = format!("period={period}/{name}");
            std::fs::create_dir_all(dir.path().join(format!("period={period}"))).unwrap();
            std::fs::write(dir.path().join(&relative), b"not read here").unwrap();
            NewFile {
                relative,
                size: 13,
                modified: Utc::now(),
                partition_values: [("period".to_string(), Some(period.to_string()))].into(),
                rows: Some(1),
            }
        };
        let partitions = ["period".to_string()];
        let commit = |files, replace| commit(&location, &schema, &partitions, files, replace);
        let p = |value| Replace::Partition {
            column: "period",
            value,
        };
        assert_eq!(
            commit(vec![file("a", "2026-09")], p("2026-09"))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            commit(vec![file("b", "2026-10")], p("2026-10"))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            commit(vec![file("c", "2026-10")], p("2026-10"))
                .await
                .unwrap(),
            2
        );
        let names = |snapshot: Snapshot| -> Vec<String> {
            snapshot
                .files
                .iter()
                .map(|f| f.location.filename().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(snapshot(&location, None).await.unwrap()), ["a", "c"]);
        assert_eq!(
            names(snapshot(&location, Some(1)).await.unwrap()),
            ["a", "b"]
        );
        assert_eq!(
            commit(vec![file("d", "2026-11")], Replace::All)
                .await
                .unwrap(),
            3
        );
        let latest = snapshot(&location, None).await.unwrap();
        assert_eq!(latest.partition_columns, ["period"]);
        assert_eq!(names(latest), ["d"]);
    }

    #[tokio::test]
    async fn the_hundredth_commit_writes_a_checkpoint_and_every_version_stays_readable() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Local(dir.path().to_path_buf());
        let schema = arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
            "n",
            arrow::datatypes::DataType::Int64,
            true,
        )]);
        for version in 0..100u64 {
            let relative = format!("part-{version}.parquet");
            std::fs::write(dir.path().join(&relative), b"not read here").unwrap();
            let file = NewFile {
                relative,
                size: 13,
                modified: Utc::now(),
                partition_values: HashMap::new(),
                rows: Some(1),
            };
            let committed = commit(&location, &schema, &[], vec![file], Replace::All).await;
            assert_eq!(committed.unwrap(), version);
        }
        let log = dir.path().join(LOG_FOLDER);
        assert!(
            log.join("00000000000000000099.checkpoint.parquet")
                .is_file(),
            "no checkpoint at version 99"
        );
        assert!(!log.join("00000000000000000098.checkpoint.parquet").exists());
        // No log entry was cleaned up: the first version is still there to be read.
        assert!(log.join("00000000000000000000.json").is_file());
        for (version, name) in [(None, "part-99.parquet"), (Some(3), "part-3.parquet")] {
            let snapshot = snapshot(&location, version).await.unwrap();
            let names: Vec<_> = snapshot
                .files
                .iter()
                .map(|f| f.location.filename().unwrap().to_string())
                .collect();
            assert_eq!(names, [name], "version {version:?}");
        }
    }
}
