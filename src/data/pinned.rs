//! A run's view of its data directory, fixed when the run first looks at it.
//!
//! Files under a pinned root (the data directory a session registered) are listed once,
//! recursively, at the first listing of anything below it: every later listing of the
//! run, of the root or of any folder below it, is derived from that one listing, so
//! every query reads the same files even when an import replaces the folder meanwhile.
//! A folder whose files the catalog resolved itself (a Delta table's version) lists as
//! exactly those files. Each read of such a
//! file is checked against the identity it was listed with (its ETag: for a local file
//! the inode, modification time and size; for S3 the object's ETag): a file replaced or
//! removed since fails the read with [`ChangedDuringRun`], never a decode of another
//! file's bytes.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, OBJECT_STORE_COALESCE_DEFAULT,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, coalesce_ranges,
};

/// The local file system's name in [`Pins`].
pub const LOCAL_STORE: &str = "file://";

/// A file of the data directory that is not the file the run listed: replaced or
/// removed since (an import committed while the run read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedDuringRun {
    /// The object's path in its store (for a local file, its absolute path without the
    /// leading `/`).
    pub location: String,
}

impl fmt::Display for ChangedDuringRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} changed during the run (an import replaced the data?): rerun",
            self.display_location()
        )
    }
}

impl ChangedDuringRun {
    /// The file as the user names it: an absolute path or an `s3://` URL.
    pub fn display_location(&self) -> String {
        if self.location.starts_with("s3://") {
            self.location.clone()
        } else {
            format!("/{}", self.location)
        }
    }

    /// The first [`ChangedDuringRun`] among an error's causes.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ChangedDuringRun> {
        let mut cause = Some(error);
        while let Some(current) = cause {
            if let Some(changed) = current.downcast_ref::<ChangedDuringRun>() {
                return Some(changed);
            }
            cause = current.source();
        }
        None
    }
}

impl std::error::Error for ChangedDuringRun {}

/// The roots a session pins and what it has seen below them. Shared by the session's
/// stores and its catalog (as a session config extension).
#[derive(Debug, Default)]
pub struct Pins {
    state: Mutex<PinState>,
}

#[derive(Debug, Default)]
struct PinState {
    /// Prefixes (object paths) whose objects are pinned, per store (its URL prefix).
    roots: Vec<(String, Path)>,
    /// Each pinned object's identity when first seen.
    identities: HashMap<(String, Path), Option<String>>,
    /// Each root's objects: its one recursive listing, with the fixed folders below it
    /// substituted. Every listing below the root is derived from it.
    snapshots: HashMap<(String, Path), Arc<Vec<ObjectMeta>>>,
    /// Folders whose objects are fixed rather than listed (a Delta table's files at its
    /// resolved version), per store.
    fixed: Vec<(String, Path, Vec<ObjectMeta>)>,
}

impl Pins {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, PinState> {
        // The state is a cache of what was seen: a panic elsewhere leaves it valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pins every object below `prefix` in the store named `store` (e.g. `file://`,
    /// `s3://bucket`) from the next listing on.
    pub fn pin(&self, store: &str, prefix: Path) {
        let mut state = self.lock();
        let root = (store.to_string(), prefix);
        if !state.roots.contains(&root) {
            state.roots.push(root);
        }
    }

    /// The pinned root `path` is at or below, in the store named `store`.
    fn root_of(state: &PinState, store: &str, path: Option<&Path>) -> Option<Path> {
        let empty = Path::default();
        let path = path.unwrap_or(&empty);
        state
            .roots
            .iter()
            .find(|(s, root)| s == store && path.prefix_matches(root))
            .map(|(_, root)| root.clone())
    }

    fn pinned(state: &PinState, store: &str, path: Option<&Path>) -> bool {
        Self::root_of(state, store, path).is_some()
    }

    /// Fixes the objects below `folder` to `objects`, whatever a listing would find
    /// there: a Delta table's files at the version the run reads. The folder is pinned
    /// from here on if no root holds it.
    pub fn fix(&self, store: &str, folder: Path, objects: Vec<ObjectMeta>) {
        let mut state = self.lock();
        if !Self::pinned(&state, store, Some(&folder)) {
            state.roots.push((store.to_string(), folder.clone()));
        }
        Self::remember(&mut state, store, &objects);
        state
            .fixed
            .retain(|(s, prefix, _)| !(s == store && *prefix == folder));
        state
            .fixed
            .push((store.to_string(), folder.clone(), objects));
        // A snapshot taken before is taken again, with the folder fixed.
        state
            .snapshots
            .retain(|(s, root), _| !(s == store && folder.prefix_matches(root)));
    }

    /// A root's listed objects with the fixed folders below it substituted.
    fn substitute(
        state: &PinState,
        store: &str,
        root: &Path,
        listed: Vec<ObjectMeta>,
    ) -> Vec<ObjectMeta> {
        let fixed: Vec<&(String, Path, Vec<ObjectMeta>)> = state
            .fixed
            .iter()
            .filter(|(s, folder, _)| s == store && folder.prefix_matches(root))
            .collect();
        let mut objects: Vec<ObjectMeta> = listed
            .into_iter()
            .filter(|object| {
                !fixed
                    .iter()
                    .any(|(_, folder, _)| object.location.prefix_matches(folder))
            })
            .collect();
        for (_, _, files) in fixed {
            objects.extend(files.iter().cloned());
        }
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        objects
    }

    fn remember(state: &mut PinState, store: &str, objects: &[ObjectMeta]) {
        for object in objects {
            state
                .identities
                .entry((store.to_string(), object.location.clone()))
                .or_insert_with(|| object.e_tag.clone());
        }
    }

    /// Forgets what was seen at and below `path`: this session wrote there.
    fn forget(&self, store: &str, path: &Path) {
        let mut state = self.lock();
        state
            .identities
            .retain(|(s, p), _| !(s == store && p.prefix_matches(path)));
        state
            .snapshots
            .retain(|(s, root), _| !(s == store && path.prefix_matches(root)));
    }
}

/// An object store whose objects below the [`Pins`] roots keep the listing and
/// identity a run first saw.
#[derive(Debug)]
pub struct PinnedStore {
    inner: Arc<dyn ObjectStore>,
    /// The store's URL prefix (`file://`, `s3://bucket`), the key of its pins.
    name: String,
    pins: Arc<Pins>,
}

impl PinnedStore {
    pub fn new(inner: Arc<dyn ObjectStore>, name: &str, pins: Arc<Pins>) -> Self {
        Self {
            inner,
            name: name.to_string(),
            pins,
        }
    }

    /// The identity `location` was first seen with, when it is pinned; the outer
    /// `None` when it is not.
    fn identity(&self, location: &Path) -> Option<Option<String>> {
        let mut state = self.pins.lock();
        if !Pins::pinned(&state, &self.name, Some(location)) {
            return None;
        }
        let key = (self.name.clone(), location.clone());
        // Not listed yet (read by its path): pinned from its first read on.
        Some(state.identities.entry(key).or_insert(None).clone())
    }

    fn changed(&self, location: &Path) -> object_store::Error {
        let location = if self.name == LOCAL_STORE {
            location.to_string()
        } else {
            format!("{}/{location}", self.name)
        };
        object_store::Error::Generic {
            store: "mspkpi",
            source: Box::new(ChangedDuringRun { location }),
        }
    }

    /// A pinned object's read failed or found another object: say so.
    fn checked<T>(
        &self,
        location: &Path,
        result: object_store::Result<T>,
    ) -> object_store::Result<T> {
        match result {
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => Err(self.changed(location)),
            other => other,
        }
    }

    /// The objects of the pinned `root`: listed once, at the first listing below it.
    fn snapshot(
        &self,
        root: Path,
    ) -> impl std::future::Future<Output = object_store::Result<Arc<Vec<ObjectMeta>>>> + Send + 'static
    {
        let pins = self.pins.clone();
        let name = self.name.clone();
        let inner = self.inner.clone();
        async move {
            let key = (name.clone(), root.clone());
            if let Some(seen) = pins.lock().snapshots.get(&key) {
                return Ok(seen.clone());
            }
            let listed: Vec<ObjectMeta> = inner.list(Some(&root)).try_collect().await?;
            let mut state = pins.lock();
            let objects = Arc::new(Pins::substitute(&state, &name, &root, listed));
            let objects = state.snapshots.entry(key).or_insert(objects).clone();
            Pins::remember(&mut state, &name, &objects);
            Ok(objects)
        }
    }

    /// Records the identity of a pinned object read before it was listed.
    fn first_seen(&self, location: &Path, e_tag: Option<String>) {
        let mut state = self.pins.lock();
        if let Some(slot) = state
            .identities
            .get_mut(&(self.name.clone(), location.clone()))
            && slot.is_none()
        {
            *slot = e_tag;
        }
    }
}

impl fmt::Display for PinnedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pinned)", self.inner)
    }
}

#[async_trait]
impl ObjectStore for PinnedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await;
        self.pins.forget(&self.name, location);
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.pins.forget(&self.name, location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        mut options: GetOptions,
    ) -> object_store::Result<GetResult> {
        match self.identity(location) {
            None => self.inner.get_opts(location, options).await,
            Some(identity) => {
                if options.if_match.is_none() {
                    options.if_match = identity.clone();
                }
                let result =
                    self.checked(location, self.inner.get_opts(location, options).await)?;
                if identity.is_none() {
                    self.first_seen(location, result.meta.e_tag.clone());
                }
                Ok(result)
            }
        }
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let Some(identity) = self.identity(location) else {
            return self.inner.get_ranges(location, ranges).await;
        };
        if let Some(e_tag) = identity.as_ref().filter(|_| self.name != LOCAL_STORE) {
            // A remote store: each coalesced range is one conditional GET, as many
            // requests as the store's own get_ranges makes, and none more.
            return coalesce_ranges(
                ranges,
                |range| {
                    let options = GetOptions {
                        range: Some(range.into()),
                        if_match: Some(e_tag.clone()),
                        ..Default::default()
                    };
                    async move {
                        let got = self.inner.get_opts(location, options).await;
                        self.checked(location, got)?.bytes().await
                    }
                },
                OBJECT_STORE_COALESCE_DEFAULT,
            )
            .await;
        }
        let read = self.inner.get_ranges(location, ranges).await;
        // The ranges were read by path, without a precondition: the object still being
        // the one first seen afterwards means they came from it. A read that failed
        // (a range beyond a shorter file) is the change's doing when the object changed.
        let now = match self.inner.head(location).await {
            Err(object_store::Error::NotFound { .. }) => return Err(self.changed(location)),
            Err(error) => return read.and(Err(error)),
            Ok(now) => now,
        };
        match identity {
            Some(identity) if now.e_tag.as_ref() != Some(&identity) => Err(self.changed(location)),
            Some(_) => read,
            None => {
                self.first_seen(location, now.e_tag);
                read
            }
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let pins = self.pins.clone();
        let name = self.name.clone();
        let locations = locations
            .inspect_ok(move |location| pins.forget(&name, location))
            .boxed();
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let Some(root) = Pins::root_of(&self.pins.lock(), &self.name, prefix) else {
            return self.inner.list(prefix);
        };
        let prefix = prefix.cloned().unwrap_or_default();
        let snapshot = self.snapshot(root);
        stream::once(async move {
            let objects = snapshot.await?;
            let below: Vec<ObjectMeta> = objects
                .iter()
                .filter(|object| object.location.prefix_matches(&prefix))
                .cloned()
                .collect();
            Ok::<_, object_store::Error>(stream::iter(below.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let Some(root) = Pins::root_of(&self.pins.lock(), &self.name, prefix) else {
            return self.inner.list_with_delimiter(prefix).await;
        };
        let prefix = prefix.cloned().unwrap_or_default();
        let objects = self.snapshot(root).await?;
        let mut common_prefixes: Vec<Path> = Vec::new();
        let mut direct = Vec::new();
        for object in objects.iter() {
            let Some(mut rest) = object.location.prefix_match(&prefix) else {
                continue;
            };
            let Some(first) = rest.next() else {
                continue;
            };
            if rest.next().is_none() {
                direct.push(object.clone());
            } else {
                common_prefixes.push(prefix.clone().join(first));
            }
        }
        // The snapshot is in path order, so one folder's objects are adjacent.
        common_prefixes.dedup();
        Ok(ListResult {
            common_prefixes,
            objects: direct,
        })
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let result = self.inner.copy_opts(from, to, options).await;
        self.pins.forget(&self.name, to);
        result
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let result = self.inner.rename_opts(from, to, options).await;
        self.pins.forget(&self.name, from);
        self.pins.forget(&self.name, to);
        result
    }
}

/// `head` through [`ObjectStoreExt`], for the tests.
#[cfg(test)]
async fn head(store: &PinnedStore, path: &Path) -> object_store::Result<ObjectMeta> {
    store.head(path).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::local::LocalFileSystem;

    fn store(pins: &Arc<Pins>) -> PinnedStore {
        PinnedStore::new(Arc::new(LocalFileSystem::new()), "file://", pins.clone())
    }

    fn path(file: &std::path::Path) -> Path {
        Path::from_absolute_path(file).unwrap()
    }

    #[tokio::test]
    async fn a_pinned_folder_lists_and_reads_as_first_seen() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("tickets");
        std::fs::create_dir_all(&table).unwrap();
        std::fs::write(table.join("a.parquet"), b"first").unwrap();
        let pins = Pins::new();
        pins.pin("file://", path(dir.path()));
        let store = store(&pins);
        let listed: Vec<ObjectMeta> = store.list(Some(&path(&table))).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);

        // An import replaces the folder: a new file beside, the old one rewritten.
        std::fs::write(table.join("b.parquet"), b"new").unwrap();
        std::fs::remove_file(table.join("a.parquet")).unwrap();
        std::fs::write(table.join("a.parquet"), b"another").unwrap();

        let again: Vec<ObjectMeta> = store.list(Some(&path(&table))).try_collect().await.unwrap();
        assert_eq!(again, listed, "the run keeps the files it first listed");
        let file = path(&table.join("a.parquet"));
        for error in [
            store.get(&file).await.map(|_| ()).unwrap_err(),
            store
                .get_ranges(&file, &[0..2, 3..4])
                .await
                .map(|_| ())
                .unwrap_err(),
            store.get_range(&file, 0..2).await.map(|_| ()).unwrap_err(),
        ] {
            let changed = ChangedDuringRun::find(&error).expect("a ChangedDuringRun");
            assert!(
                changed.to_string().ends_with(
                    "a.parquet changed during the run (an import replaced the data?): rerun"
                ),
                "{changed}"
            );
        }
        std::fs::remove_file(table.join("a.parquet")).unwrap();
        let gone = store.get(&file).await.map(|_| ()).unwrap_err();
        assert!(ChangedDuringRun::find(&gone).is_some(), "{gone}");
    }

    #[tokio::test]
    async fn every_folder_below_a_root_lists_from_the_roots_first_listing() {
        let dir = tempfile::tempdir().unwrap();
        let month = dir.path().join("tickets").join("month=2026-10");
        std::fs::create_dir_all(&month).unwrap();
        std::fs::write(month.join("a.parquet"), b"a").unwrap();
        std::fs::write(dir.path().join("clients.parquet"), b"c").unwrap();
        let pins = Pins::new();
        pins.pin("file://", path(dir.path()));
        let store = store(&pins);
        let tickets = path(&dir.path().join("tickets"));
        let first = store.list_with_delimiter(Some(&tickets)).await.unwrap();
        assert_eq!(first.common_prefixes, vec![path(&month)]);
        assert!(first.objects.is_empty());

        // An import adds a partition and a file to the listed one.
        std::fs::write(month.join("b.parquet"), b"b").unwrap();
        let november = dir.path().join("tickets").join("month=2026-11");
        std::fs::create_dir_all(&november).unwrap();
        std::fs::write(november.join("c.parquet"), b"c").unwrap();

        let names = |objects: Vec<ObjectMeta>| -> Vec<String> {
            objects
                .into_iter()
                .map(|o| o.location.filename().unwrap().to_string())
                .collect()
        };
        let deeper = store
            .list_with_delimiter(Some(&path(&month)))
            .await
            .unwrap();
        assert_eq!(
            names(deeper.objects),
            ["a.parquet"],
            "a folder first listed after the change"
        );
        let all: Vec<ObjectMeta> = store.list(Some(&tickets)).try_collect().await.unwrap();
        assert_eq!(names(all), ["a.parquet"]);
        let top = store
            .list_with_delimiter(Some(&path(dir.path())))
            .await
            .unwrap();
        assert_eq!(top.common_prefixes, vec![tickets.clone()]);
        assert_eq!(names(top.objects), ["clients.parquet"]);
    }

    #[tokio::test]
    async fn a_fixed_folder_lists_as_exactly_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("tickets");
        std::fs::create_dir_all(table.join("_delta_log")).unwrap();
        for name in [
            "old.parquet",
            "new.parquet",
            "_delta_log/00000000000000000001.json",
        ] {
            std::fs::write(table.join(name), b"x").unwrap();
        }
        let pins = Pins::new();
        pins.pin("file://", path(dir.path()));
        let store = store(&pins);
        let new = path(&table.join("new.parquet"));
        let meta = store.inner.head(&new).await.unwrap();
        pins.fix("file://", path(&table), vec![meta.clone()]);
        let listed: Vec<ObjectMeta> = store.list(Some(&path(&table))).try_collect().await.unwrap();
        assert_eq!(listed, vec![meta]);
        let delimited = store
            .list_with_delimiter(Some(&path(&table)))
            .await
            .unwrap();
        assert!(
            delimited.common_prefixes.is_empty(),
            "{:?}",
            delimited.common_prefixes
        );
        assert_eq!(delimited.objects.len(), 1);
    }

    #[tokio::test]
    async fn files_outside_the_pinned_roots_read_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.parquet");
        std::fs::write(&file, b"first").unwrap();
        let pins = Pins::new();
        pins.pin("file://", path(&dir.path().join("data")));
        let store = store(&pins);
        assert_eq!(
            store
                .get(&path(&file))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            "first"
        );
        std::fs::write(&file, b"second!").unwrap();
        assert_eq!(
            store
                .get(&path(&file))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            "second!"
        );
        assert_eq!(head(&store, &path(&file)).await.unwrap().size, 7);
    }

    #[tokio::test]
    async fn an_unlisted_pinned_file_is_pinned_from_its_first_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clients.parquet");
        std::fs::write(&file, b"first").unwrap();
        let pins = Pins::new();
        pins.pin("file://", path(dir.path()));
        let store = store(&pins);
        assert_eq!(
            store.get_ranges(&path(&file), &[0..2, 2..5]).await.unwrap(),
            vec![Bytes::from("fi"), Bytes::from("rst")]
        );
        std::fs::remove_file(&file).unwrap();
        std::fs::write(&file, b"another").unwrap();
        let error = store.get_range(&path(&file), 0..5).await.unwrap_err();
        assert!(ChangedDuringRun::find(&error).is_some(), "{error}");
    }

    #[tokio::test]
    async fn this_sessions_own_writes_are_not_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&dir.path().join("out.parquet"));
        let pins = Pins::new();
        pins.pin("file://", path(dir.path()));
        let store = store(&pins);
        store
            .put(&file, PutPayload::from_static(b"one"))
            .await
            .unwrap();
        assert_eq!(
            store.get(&file).await.unwrap().bytes().await.unwrap(),
            "one"
        );
        store
            .put(&file, PutPayload::from_static(b"two!"))
            .await
            .unwrap();
        assert_eq!(
            store.get(&file).await.unwrap().bytes().await.unwrap(),
            "two!"
        );
    }
}
