//! Object stores: S3 (and S3-compatible stores) configured from the standard AWS
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...), created on first use
//! of a bucket by every session of this process, local or a cluster's.
//!
//! No message names a credential's value: errors carry the URL and the store's own
//! description of the failure, which holds no secret.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use url::Url;

use crate::data::location::Location;
use crate::data::pinned::{PinnedStore, Pins};

/// The variables any one of which gives the S3 client its credentials (besides an
/// EC2 instance role, found through the metadata service).
const CREDENTIAL_SOURCES: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

fn env_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn env_is_true(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The S3 store of a bucket, from the environment.
pub fn s3(url: &Url) -> Result<Arc<dyn ObjectStore>> {
    let bucket = url
        .host_str()
        .with_context(|| format!("{url} names no bucket"))?;
    let anonymous = env_is_true("AWS_SKIP_SIGNATURE");
    if !anonymous
        && !CREDENTIAL_SOURCES.iter().any(|v| env_is_set(v))
        && env_is_true("AWS_EC2_METADATA_DISABLED")
    {
        bail!(
            "{url}: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_SKIP_SIGNATURE=true for a public bucket)"
        );
    }
    // Short timeouts and few retries: a wrong endpoint, or a machine without an
    // instance role whose metadata service never answers, fails in seconds rather
    // than after the client's default minutes of retries.
    let options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(120));
    let retry = RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(8),
        ..Default::default()
    };
    let mut builder = AmazonS3Builder::new()
        .with_client_options(options)
        .with_retry(retry);
    // As `AmazonS3Builder::from_env` does, after the options above so that the
    // environment (AWS_ALLOW_HTTP, proxies) overrides them.
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix("AWS_")
            && let Ok(config) =
                format!("aws_{}", name.to_ascii_lowercase()).parse::<AmazonS3ConfigKey>()
        {
            builder = builder.with_config(config, value);
        }
    }
    let store = builder
        .with_bucket_name(bucket)
        .build()
        .with_context(|| format!("cannot set up the S3 client for {url}"))?;
    Ok(Arc::new(store))
}

/// The store holding a location, and the location's key in it.
pub fn store_for(location: &Location) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path)> {
    match location {
        Location::Object(url) => Ok((s3(url)?, location.object_path().unwrap_or_default())),
        Location::Local(path) => {
            let path = object_store::path::Path::from_filesystem_path(path)
                .with_context(|| format!("{}: not a usable path", path.display()))?;
            Ok((Arc::new(object_store::local::LocalFileSystem::new()), path))
        }
    }
}

/// DataFusion's registry, which also creates the store of an `s3://` bucket the first
/// time a plan reads from it. With [`Pins`], every store it gives keeps a run's view of
/// the pinned folders (see [`crate::data::pinned`]).
#[derive(Debug, Default)]
pub struct EnvironmentStores {
    registered: DefaultObjectStoreRegistry,
    pins: Option<Arc<Pins>>,
}

impl EnvironmentStores {
    fn pinned(pins: Arc<Pins>) -> Self {
        let registered = DefaultObjectStoreRegistry::new();
        let local: Arc<dyn ObjectStore> = Arc::new(PinnedStore::new(
            Arc::new(object_store::local::LocalFileSystem::new()),
            LOCAL_STORE,
            pins.clone(),
        ));
        if let Ok(url) = Url::parse(LOCAL_STORE) {
            registered.register_store(&url, local);
        }
        Self {
            registered,
            pins: Some(pins),
        }
    }
}

pub use crate::data::pinned::LOCAL_STORE;

/// The name of an S3 bucket's store, as [`Pins`] knows it.
pub fn bucket_store(url: &Url) -> String {
    format!("s3://{}", url.host_str().unwrap_or_default())
}

impl ObjectStoreRegistry for EnvironmentStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.registered.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.registered.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        match self.registered.get_store(url) {
            Ok(store) => Ok(store),
            Err(_) if url.scheme() == "s3" => {
                let name = bucket_store(url);
                let mut store = s3(url).map_err(|e| DataFusionError::External(e.into()))?;
                if let Some(pins) = &self.pins {
                    store = Arc::new(PinnedStore::new(store, &name, pins.clone()));
                }
                let bucket = Url::parse(&name).map_err(|e| DataFusionError::External(e.into()))?;
                self.registered.register_store(&bucket, store.clone());
                Ok(store)
            }
            Err(error) => Err(error),
        }
    }
}

/// The store holding a folder or prefix, and every object below it, by path.
pub async fn list(
    folder: &Location,
) -> Result<(Arc<dyn ObjectStore>, Vec<object_store::ObjectMeta>)> {
    use futures::TryStreamExt;
    let (store, prefix) = store_for(folder)?;
    let mut objects: Vec<object_store::ObjectMeta> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| explain(e, "cannot list", folder))?;
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    Ok((store, objects))
}

/// The registry of a runtime that reads whatever it is given (a cluster's executors).
pub fn registry() -> Arc<dyn ObjectStoreRegistry> {
    Arc::new(EnvironmentStores::default())
}

/// The registry of a session, whose stores keep its view of the folders `pins` pins.
pub fn pinned_registry(pins: Arc<Pins>) -> Arc<dyn ObjectStoreRegistry> {
    Arc::new(EnvironmentStores::pinned(pins))
}

/// An object store's error, said plainly where the cause is a common one (no
/// credentials, no such bucket, access denied), with the location it concerns.
pub fn explain(error: object_store::Error, what: &str, location: &Location) -> anyhow::Error {
    let text = error.to_string();
    let bucket = match location {
        Location::Object(url) => url.host_str().unwrap_or_default().to_string(),
        Location::Local(_) => String::new(),
    };
    // S3's error codes (NoSuchBucket, InvalidAccessKeyId) have no kind in
    // object_store; permissions and authentication do.
    let plain = if text.contains("NoSuchBucket") {
        Some(format!("the bucket '{bucket}' does not exist"))
    } else if text.contains("169.254.169.254") && !CREDENTIAL_SOURCES.iter().any(|v| env_is_set(v))
    {
        Some(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the instance metadata service offered none)"
                .to_string(),
        )
    } else if text.contains("InvalidAccessKeyId")
        || text.contains("SignatureDoesNotMatch")
        || matches!(error, object_store::Error::Unauthenticated { .. })
    {
        // S3's error codes, which arrive in a 403's body, name the cause before the
        // kind does: the credentials, not the permissions.
        Some(
            "the AWS credentials were refused (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                .to_string(),
        )
    } else if matches!(error, object_store::Error::PermissionDenied { .. })
        || text.contains("AccessDenied")
        || text.contains("403 Forbidden")
    {
        Some(format!(
            "access to the bucket '{bucket}' was denied: check the credentials and their permissions"
        ))
    } else {
        None
    };
    match plain {
        Some(plain) => anyhow::anyhow!("{what} {location}: {plain}"),
        None => anyhow::Error::new(error).context(format!("{what} {location}")),
    }
}
