//! Where data lives and output goes: a local path, or an object-store URL
//! (`s3://bucket/prefix`).

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

/// A local path or an object in (or prefix of) an object store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    Local(PathBuf),
    Object(Url),
}

impl Location {
    /// `s3://bucket/prefix` is an object store; anything else a local path. Object
    /// stores other than S3 are refused by name.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("file") => Url::parse(text)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .map(Location::Local)
                .ok_or_else(|| format!("'{text}' is not a file URL")),
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("s3") => {
                let url = Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(format!("'{text}' names no bucket (s3://BUCKET/PREFIX)"));
                }
                Ok(Location::Object(url))
            }
            Some((scheme, _)) => Err(format!(
                "'{text}': the object store '{scheme}://' is not supported (s3:// is)"
            )),
            None => Ok(Location::Local(PathBuf::from(text))),
        }
    }

    /// A name inside this folder or prefix.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(path) => Location::Local(path.join(name)),
            Location::Object(url) => {
                let mut url = url.clone();
                let path = format!("{}/{name}", url.path().trim_end_matches('/'));
                url.set_path(&path);
                Location::Object(url)
            }
        }
    }

    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Object(_) => None,
        }
    }

    /// The key below the bucket (`prefix/file.parquet`), for an object.
    pub fn object_path(&self) -> Option<object_store::path::Path> {
        match self {
            Location::Local(_) => None,
            Location::Object(url) => {
                Some(object_store::path::Path::from(url.path().trim_matches('/')))
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Object(url) => write!(f, "{url}"),
        }
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location::Local(path.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Local(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(
            Location::parse("data/x").unwrap(),
            Location::Local("data/x".into())
        );
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local("/tmp/x".into())
        );
        let s3 = Location::parse("s3://bucket/some/prefix/").unwrap();
        assert_eq!(s3.to_string(), "s3://bucket/some/prefix/");
        assert_eq!(
            s3.join("tickets").to_string(),
            "s3://bucket/some/prefix/tickets"
        );
        assert_eq!(
            s3.join("tickets").object_path().unwrap().as_ref(),
            "some/prefix/tickets"
        );
        assert!(
            Location::parse("gs://bucket/x")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Location::parse("s3:///x").is_err());
    }
}
