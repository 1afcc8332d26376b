//! Assets and downloads. A download streams into a temporary file beside the target,
//! resumes with `Range` (checked with `If-Range` and the `ETag`) after a cut, asks for
//! a fresh URL when the signed one expired, and renames into place only when the file
//! is whole. Memory stays flat whatever the size; nothing is left at the target path
//! when it fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::Digest as _;

use kling_types::api::{Asset, AssetResponse, DownloadLink};
use kling_types::{AssetId, ModelRequest};
use reqwest::Method;

mod resume;

use crate::client::{Call, Client, segment};
use crate::error::Error;
use crate::jobs::WaitOptions;

/// How far a download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadProgress {
    /// Bytes in the file so far.
    pub bytes: u64,
    /// The file's size, once the server said.
    pub total: Option<u64>,
}

/// A finished download: the file's size and SHA-256, taken from the bytes as they were
/// written (the file is not read again), unless the client was built
/// [`with_download_digests(false)`](Client::with_download_digests).
///
/// ```
/// let downloaded = kling_client::Downloaded::of(b"abc");
/// assert_eq!(downloaded.bytes, 3);
/// assert_eq!(
///     downloaded.sha256_hex().as_deref(),
///     Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// Bytes in the file.
    pub bytes: u64,
    /// The SHA-256 of its bytes (`None` from a client that takes no digests).
    pub sha256: Option<[u8; 32]>,
}

impl Downloaded {
    /// What a download of exactly `bytes` comes to (for tests and for comparing).
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            sha256: Some(sha2::Sha256::digest(bytes).into()),
        }
    }

    /// The SHA-256 in lowercase hex, as `sha256sum` prints it (when it was taken).
    pub fn sha256_hex(&self) -> Option<String> {
        use std::fmt::Write as _;
        let digest = self.sha256?;
        Some(
            digest
                .iter()
                .fold(String::with_capacity(64), |mut hex, byte| {
                    let _ = write!(hex, "{byte:02x}");
                    hex
                }),
        )
    }
}

/// Cuts in a row without a single new byte before a download gives up.
const MAX_STALLED_RESUMES: u32 = 5;
/// Resumes in all, however much each brought.
const MAX_RESUMES: u32 = 100;
/// Fresh URLs asked for in one download.
const MAX_FRESH_URLS: u32 = 3;

impl Client {
    /// An asset as it is now, with a fresh signed URL.
    pub async fn asset(&self, asset_id: &AssetId) -> Result<Asset, Error> {
        let call = Call::api(
            Method::GET,
            format!("/assets/{}", segment(asset_id.as_str())),
        );
        Ok(self
            .send(&call)
            .await?
            .decode::<AssetResponse>(&call.what)?
            .asset)
    }

    /// A fresh signed link to an asset's file (`POST /assets/{id}/download`).
    pub async fn download_link(&self, asset_id: &AssetId) -> Result<DownloadLink, Error> {
        let call = Call::api(
            Method::POST,
            format!("/assets/{}/download", segment(asset_id.as_str())),
        )
        .json(serde_json::json!({}));
        self.send(&call).await?.decode(&call.what)
    }

    /// Downloads an asset's file to `target` (creating its folder); returns its size and
    /// SHA-256. Until the file is whole it is `.NAME.part` beside the target.
    ///
    /// Each piece is written into the file as it arrives, on the calling task's thread
    /// and from the buffer it was read into (a write into the page cache takes
    /// microseconds); should a write ever take over 10 ms (a slow or throttled disk),
    /// the rest go through tokio's blocking pool, so the runtime never waits on the disk.
    /// Throughput is best when the connection and this task share a thread: on a
    /// current-thread runtime (1.4× the throughput of a future driven by a
    /// multi-threaded runtime's `block_on`, measured for 1 GiB here), or in a task
    /// spawned on a multi-threaded one (1.2×).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// # let dir = std::env::temp_dir().join(format!("kling-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let request = kling_types::kling_v1_6_pro::Kling16ProRequest::new("a lighthouse");
    /// let job = client.submit(&request).await?;
    /// let job = client.wait(job.job_id(), kling_client::WaitOptions::default()).await?;
    /// let asset_id = &job.metadata.unwrap().asset_ids[0];
    /// let downloaded = client.download(asset_id, &dir.join("lighthouse.mp4")).await?;
    /// assert!(downloaded.bytes > 0);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn download(&self, asset_id: &AssetId, target: &Path) -> Result<Downloaded, Error> {
        self.download_with(asset_id, target, |_| {}).await
    }

    /// [`Self::download`], calling `on_progress` after each piece.
    pub async fn download_with(
        &self,
        asset_id: &AssetId,
        target: &Path,
        on_progress: impl FnMut(DownloadProgress),
    ) -> Result<Downloaded, Error> {
        let asset = self.asset(asset_id).await?;
        self.download_asset_with(&asset, target, on_progress).await
    }

    /// [`Self::download_with`] for an asset already looked up (its status and URL are
    /// used as they are; an expired URL is renewed): one request fewer per file.
    pub async fn download_asset_with(
        &self,
        asset: &Asset,
        target: &Path,
        mut on_progress: impl FnMut(DownloadProgress),
    ) -> Result<Downloaded, Error> {
        let asset_id = &asset.id;
        let part = partial_path(target).ok_or_else(|| Error::Download {
            asset_id: asset_id.clone(),
            reason: format!("{} is not a file path", target.display()),
            source: None,
        })?;
        let io = |source| Error::Io {
            path: target.to_path_buf(),
            source,
        };
        if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // Removes the partial file however the download ends, also when its future is
        // dropped (Ctrl-C): a half file must never stay behind.
        let mut partial = PartialFile(Some(part.clone()));
        let downloaded = self.download_into(asset, &part, &mut on_progress).await?;
        tokio::fs::rename(&part, target).await.map_err(io)?;
        partial.0 = None;
        tracing::info!(%asset_id, bytes = downloaded.bytes, target = %target.display(), "downloaded");
        Ok(downloaded)
    }

    async fn download_into(
        &self,
        asset: &Asset,
        part: &Path,
        on_progress: &mut impl FnMut(DownloadProgress),
    ) -> Result<Downloaded, Error> {
        resume::Resume::start(self, asset, part, on_progress)
            .await?
            .run()
            .await
    }

    /// Submits, waits and downloads every output into `dir` (created if missing), named
    /// after the job (`job_….mp4`); returns the files.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// # let dir = std::env::temp_dir().join(format!("kling-doc-generate-{}", std::process::id()));
    /// use kling_types::kling_v1_6_pro::Kling16ProRequest;
    /// let files = client.generate(&Kling16ProRequest::new("a red fox running through snow"), &dir).await?;
    /// assert_eq!(files[0].extension().unwrap(), "mp4");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn generate<R: ModelRequest>(
        &self,
        request: &R,
        dir: &Path,
    ) -> Result<Vec<PathBuf>, Error> {
        let submitted = self.submit(request).await?;
        let job = self
            .wait(submitted.job_id(), WaitOptions::default())
            .await?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let asset_ids = job
            .metadata
            .map(|metadata| metadata.asset_ids)
            .unwrap_or_default();
        let mut files = Vec::new();
        for (index, asset_id) in asset_ids.iter().enumerate() {
            let asset = self.asset(asset_id).await?;
            let path = output_path(
                Some(&dir.join("")),
                job.job_id.as_str(),
                index,
                asset_ids.len(),
                asset.mime_type.as_deref(),
            );
            self.download_asset_with(&asset, &path, |_| {}).await?;
            files.push(path);
        }
        Ok(files)
    }
}

/// Where output `index` of a job's `count` outputs goes, decided here for every caller
/// ([`Client::generate`], the `kling` command): into `output` when it is a folder (one
/// that exists, or a path written with a trailing `/`), as `output` itself (numbered
/// `fox-1.mp4`, `fox-2.mp4` when there are several), or in the current folder when
/// `None`; named after `stem` (a job id, a batch line's name) and the extension of the
/// asset's MIME type (`bin` when it has no plain one). Nothing a server sends (an id, a
/// type) can climb out of the folder.
///
/// ```
/// use std::path::{Path, PathBuf};
/// use kling_client::output_path;
///
/// assert_eq!(output_path(None, "job_1", 0, 1, Some("video/mp4")), PathBuf::from("job_1.mp4"));
/// assert_eq!(output_path(Some(Path::new("clips/")), "job_1", 1, 2, Some("video/mp4")), PathBuf::from("clips/job_1-2.mp4"));
/// assert_eq!(output_path(Some(Path::new("fox.mp4")), "job_1", 0, 2, None), PathBuf::from("fox-1.mp4"));
/// assert_eq!(output_path(None, "../up", 0, 1, Some("video/../x")), PathBuf::from("_up.bin"));
/// ```
pub fn output_path(
    output: Option<&Path>,
    stem: &str,
    index: usize,
    count: usize,
    mime_type: Option<&str>,
) -> PathBuf {
    let extension = mime_type.and_then(extension_of).unwrap_or("bin");
    let numbered = |stem: &str| {
        if count > 1 {
            format!("{stem}-{}", index + 1)
        } else {
            stem.to_owned()
        }
    };
    let stem = file_stem(stem);
    match output {
        None => PathBuf::from(format!("{}.{extension}", numbered(&stem))),
        Some(path) if is_output_folder(path) => {
            path.join(format!("{}.{extension}", numbered(&stem)))
        }
        Some(path) if count > 1 => {
            let file_stem = path
                .file_stem()
                .map_or_else(|| stem.clone(), |name| name.to_string_lossy().into_owned());
            let extension = path.extension().map_or_else(
                || extension.to_owned(),
                |ext| ext.to_string_lossy().into_owned(),
            );
            path.with_file_name(format!("{}.{extension}", numbered(&file_stem)))
        }
        Some(path) => path.to_path_buf(),
    }
}

/// Whether [`output_path`] saves into `path` as a folder: one that exists, or one
/// written with a trailing separator.
///
/// ```
/// assert!(kling_client::is_output_folder(std::path::Path::new("clips/")));
/// assert!(!kling_client::is_output_folder(std::path::Path::new("no-such-fox.mp4")));
/// ```
pub fn is_output_folder(path: &Path) -> bool {
    path.is_dir()
        || path.to_string_lossy().ends_with(std::path::MAIN_SEPARATOR)
        || path.to_string_lossy().ends_with('/')
}

/// Bytes written between two background flushes to disk.
const SYNC_EVERY: u64 = 64 << 20;
/// A write into the file that takes longer than this means a slow or throttled disk:
/// the rest of the download's writes go to tokio's blocking pool.
const SLOW_WRITE: Duration = Duration::from_millis(10);
/// Bytes gathered before each write on the blocking pool.
const OFFLOADED_WRITE: usize = 1 << 20;

/// The `.part` file being written.
///
/// Each piece received is written at once, on the task's own thread, from the buffer
/// the HTTP client read it into: a write into the page cache takes microseconds, and
/// this is about 1.5× faster than copying the piece and handing it to another thread
/// (no copy, no wake-up; measured in BENCHMARKS.md). Should one write take longer than
/// [`SLOW_WRITE`] (a slow disk, the kernel throttling dirty pages), the runtime must
/// not wait on the disk: later pieces are gathered and written on the blocking pool.
///
/// The SHA-256 of the file is taken as each piece is written, from the same buffer: a
/// second read of the whole file after the download (what the records did before) cost
/// about as much again as the download itself for a GiB here.
///
/// When durable, the file is flushed to disk in the background as it grows, so that
/// the `fsync` that makes the final rename safe has little left to do (it overlaps the
/// download instead of following it: about 0.45 s saved per GiB here).
struct PartFile {
    file: Arc<std::fs::File>,
    /// The SHA-256 of the bytes written so far (when the client takes digests).
    digest: Option<sha2::Sha256>,
    /// Once a write was slow: pieces waiting for the blocking pool.
    offloaded: Option<Vec<u8>>,
    unsynced: u64,
    syncing: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Whether the file must reach the disk before it is renamed into place.
    durable: bool,
    /// [`SLOW_WRITE`] and [`SYNC_EVERY`] (smaller in tests).
    slow_write: Duration,
    sync_every: u64,
    /// Flushes to disk started while the file grew.
    background_syncs: u32,
}

impl PartFile {
    async fn create(path: &Path, durable: bool, digest: bool) -> std::io::Result<Self> {
        let file = tokio::fs::File::create(path).await?.into_std().await;
        Ok(Self {
            file: Arc::new(file),
            digest: digest.then(sha2::Sha256::new),
            offloaded: None,
            unsynced: 0,
            syncing: None,
            durable,
            slow_write: SLOW_WRITE,
            sync_every: SYNC_EVERY,
            background_syncs: 0,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(digest) = &mut self.digest {
            digest.update(bytes);
        }
        match &mut self.offloaded {
            None => {
                let started = Instant::now();
                (&*self.file).write_all(bytes)?;
                if started.elapsed() > self.slow_write {
                    tracing::debug!(
                        took_ms = crate::client::millis(started.elapsed()),
                        "a slow write: writing the rest of the download on the blocking pool"
                    );
                    self.offloaded = Some(Vec::with_capacity(OFFLOADED_WRITE));
                }
            }
            Some(pending) => {
                pending.extend_from_slice(bytes);
                if pending.len() >= OFFLOADED_WRITE {
                    self.flush().await?;
                }
            }
        }
        self.unsynced = self
            .unsynced
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        let idle = self
            .syncing
            .as_ref()
            .is_none_or(tokio::task::JoinHandle::is_finished);
        if self.durable && self.unsynced >= self.sync_every && idle {
            if let Some(done) = self.syncing.take() {
                done.await.map_err(std::io::Error::other)??;
            }
            self.flush().await?;
            let file = Arc::clone(&self.file);
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
            self.unsynced = 0;
            self.background_syncs += 1;
        }
        Ok(())
    }

    /// Writes the pieces gathered for the blocking pool, if any.
    async fn flush(&mut self) -> std::io::Result<()> {
        let Some(pending) = self
            .offloaded
            .as_mut()
            .filter(|pending| !pending.is_empty())
        else {
            return Ok(());
        };
        let (file, bytes) = (Arc::clone(&self.file), std::mem::take(pending));
        let mut bytes =
            tokio::task::spawn_blocking(move || (&*file).write_all(&bytes).map(|()| bytes))
                .await
                .map_err(std::io::Error::other)??;
        // The buffer goes back for the next pieces.
        bytes.clear();
        *pending = bytes;
        Ok(())
    }

    /// Everything written and, when durable, on disk; the SHA-256 of it all, if taken.
    async fn finish(&mut self) -> std::io::Result<Option<[u8; 32]>> {
        self.flush().await?;
        if let Some(done) = self.syncing.take() {
            done.await.map_err(std::io::Error::other)??;
        }
        if self.durable {
            let file = Arc::clone(&self.file);
            tokio::task::spawn_blocking(move || file.sync_all())
                .await
                .map_err(std::io::Error::other)??;
        }
        Ok(self.digest.take().map(|digest| digest.finalize().into()))
    }
}

/// A partial download, removed when dropped unless it became the finished file.
struct PartialFile(Option<PathBuf>);

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The extension for a MIME type (`video/mp4` → `mp4`), when it is a plain one: short,
/// ASCII letters and digits only.
fn extension_of(mime_type: &str) -> Option<&str> {
    let (_, subtype) = mime_type.split_once('/')?;
    let subtype = subtype.split(';').next()?.trim();
    (!subtype.is_empty()
        && subtype.len() <= 10
        && subtype.bytes().all(|byte| byte.is_ascii_alphanumeric()))
    .then_some(subtype)
}

/// A name as a file name: path separators, NUL and control characters become `_`, and
/// leading dots go (so `../x` cannot leave the folder, nor hide the file); at most 200
/// characters; `job` when nothing is left.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .take(200)
        .map(|char| {
            if matches!(char, '/' | '\\') || char.is_control() {
                '_'
            } else {
                char
            }
        })
        .collect();
    match stem.trim_start_matches('.') {
        "" => "job".to_owned(),
        stem => stem.to_owned(),
    }
}

/// `.NAME.part` beside the target.
fn partial_path(target: &Path) -> Option<PathBuf> {
    let name = target.file_name()?.to_string_lossy();
    Some(target.with_file_name(format!(".{name}.part")))
}

/// A `Content-Range` of a 206 answer: bytes `first` to `last` (inclusive) of a file of
/// `size` bytes (`None` for `*`, unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ContentRange {
    first: u64,
    last: u64,
    size: Option<u64>,
}

impl ContentRange {
    /// The number of bytes in the range (`None` for the one range too long to count,
    /// `0-18446744073709551615`).
    fn len(&self) -> Option<u64> {
        // `first <= last` by construction.
        (self.last - self.first).checked_add(1)
    }
}

/// `bytes FIRST-LAST/SIZE` (RFC 9110 §14.4; `SIZE` may be `*`). `None` for anything
/// else, and for a range that contradicts itself (`LAST` before `FIRST`, or past the
/// size). The unsatisfied form `bytes */SIZE` belongs to a 416, not to a body: `None`.
fn parse_content_range(value: &str) -> Option<ContentRange> {
    let (unit, rest) = value.trim().split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, size) = rest.trim_start().split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let number = |text: &str| {
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        text.parse::<u64>().ok()
    };
    let (first, last) = (number(first)?, number(last)?);
    let size = match size {
        "*" => None,
        size => Some(number(size)?),
    };
    (first <= last && size.is_none_or(|size| last < size)).then_some(ContentRange {
        first,
        last,
        size,
    })
}

/// How the body of a 200 or 206 answer continues the file being downloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Continuation {
    /// The whole file from its start (a 200); its size when said.
    FromStart { total: Option<u64> },
    /// The rest of the file from the bytes written so far (a 206); its size when known.
    FromWritten { total: Option<u64> },
    /// Another place, another size, or headers that contradict each other: start over.
    Mismatch,
}

/// What an answer's headers say, checked against the `written` bytes and the size
/// `known` so far: a 206 must carry a valid `Content-Range` starting at `written`, whose
/// length agrees with `Content-Length` (hyper has already parsed that one strictly) and
/// whose size agrees with the one known.
fn continuation(
    status: u16,
    content_range: Option<&str>,
    content_length: Option<u64>,
    written: u64,
    known: Option<u64>,
) -> Continuation {
    if status != 206 {
        return Continuation::FromStart {
            total: content_length,
        };
    }
    let Some(range) = content_range.and_then(parse_content_range) else {
        return Continuation::Mismatch;
    };
    let total = range.size.or(known);
    let consistent = range.first == written
        && content_length.is_none_or(|length| Some(length) == range.len())
        && (range.size.is_none() || known.is_none() || range.size == known)
        && total.is_none_or(|total| range.last < total);
    if consistent {
        Continuation::FromWritten { total }
    } else {
        Continuation::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn range(first: u64, last: u64, size: Option<u64>) -> Option<ContentRange> {
        Some(ContentRange { first, last, size })
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(
            parse_content_range("bytes 100-199/300"),
            range(100, 199, Some(300))
        );
        assert_eq!(
            parse_content_range("bytes 100-199/*"),
            range(100, 199, None)
        );
        assert_eq!(parse_content_range("Bytes  0-0/1"), range(0, 0, Some(1)));
        assert_eq!(
            parse_content_range("bytes 0-18446744073709551614/18446744073709551615")
                .and_then(|range| range.len()),
            Some(u64::MAX)
        );
        assert_eq!(
            parse_content_range("bytes 0-18446744073709551615/*").map(|range| range.len()),
            Some(None)
        );
        for refused in [
            "items 1-2/3",
            "bytes 200-100/300",
            "bytes 100-300/300",
            "bytes */300",
            "bytes -5-10/20",
            "bytes +1-2/3",
            "bytes 1-2/-3",
            "bytes 0-99999999999999999999/*",
            "bytes 1 - 2/3",
            "bytes 1-2",
            "",
        ] {
            assert_eq!(parse_content_range(refused), None, "{refused}");
        }
    }

    #[test]
    fn only_a_range_that_continues_the_file_is_appended() {
        let from_written = |total| Continuation::FromWritten { total };
        assert_eq!(
            continuation(200, None, Some(300), 100, Some(300)),
            Continuation::FromStart { total: Some(300) }
        );
        assert_eq!(
            continuation(206, Some("bytes 100-299/300"), Some(200), 100, Some(300)),
            from_written(Some(300))
        );
        assert_eq!(
            continuation(206, Some("bytes 100-299/*"), None, 100, Some(300)),
            from_written(Some(300))
        );
        assert_eq!(
            continuation(206, Some("bytes 100-299/*"), None, 100, None),
            from_written(None)
        );
        for (range, length, known) in [
            // Another place.
            (Some("bytes 0-299/300"), Some(300), Some(300)),
            // A length that is not the range's.
            (Some("bytes 100-299/300"), Some(150), Some(300)),
            // Another size: another file.
            (Some("bytes 100-399/400"), Some(300), Some(300)),
            // Past the size known.
            (Some("bytes 100-399/*"), Some(300), Some(300)),
            // No range, or junk.
            (None, Some(200), Some(300)),
            (Some("bytes 100-99/300"), None, Some(300)),
        ] {
            assert_eq!(
                continuation(206, range, length, 100, known),
                Continuation::Mismatch,
                "{range:?} {length:?} {known:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        #[test]
        fn fuzz_content_range_survives_any_text(text in any::<String>()) {
            if let Some(parsed) = parse_content_range(&text) {
                prop_assert!(parsed.first <= parsed.last);
                prop_assert!(parsed.size.is_none_or(|size| parsed.last < size));
                let size = parsed.size.map_or_else(|| "*".to_owned(), |size| size.to_string());
                let canonical = format!("bytes {}-{}/{size}", parsed.first, parsed.last);
                prop_assert_eq!(parse_content_range(&canonical), Some(parsed));
            }
        }

        #[test]
        fn fuzz_content_range_reads_what_it_is_given(
            text in "(bytes|BYTES|items) {0,2}[0-9]{0,21}-[0-9]{0,21}/([0-9]{0,21}|\\*)"
        ) {
            let parsed = parse_content_range(&text);
            let fields = text.split_once(' ').map(|(_, rest)| rest.trim_start()).and_then(|rest| {
                let (range, size) = rest.split_once('/')?;
                let (first, last) = range.split_once('-')?;
                Some((first.parse::<u64>().ok()?, last.parse::<u64>().ok()?, size))
            });
            let expected = fields.and_then(|(first, last, size)| {
                let size = if size == "*" { None } else { Some(size.parse::<u64>().ok()?) };
                let valid = text.starts_with(['b', 'B']) && first <= last && size.is_none_or(|size| last < size);
                valid.then_some(ContentRange { first, last, size })
            });
            prop_assert_eq!(parsed, expected, "{}", text);
        }

        #[test]
        fn fuzz_content_range_and_length_agree_before_a_byte_is_appended(
            status in prop_oneof![Just(200u16), Just(206u16)],
            first in prop_oneof![any::<u64>(), 0u64..1000],
            span in prop_oneof![any::<u64>(), 0u64..1000],
            size in proptest::option::of(prop_oneof![any::<u64>(), 0u64..3000]),
            junk in proptest::option::of(any::<String>()),
            content_length in proptest::option::of(prop_oneof![any::<u64>(), 0u64..1000]),
            written in prop_oneof![any::<u64>(), 0u64..1000],
            known in proptest::option::of(prop_oneof![any::<u64>(), 0u64..3000]),
        ) {
            let size_text = size.map_or_else(|| "*".to_owned(), |size| size.to_string());
            let text = junk.unwrap_or_else(|| format!("bytes {first}-{}/{size_text}", first.saturating_add(span)));
            match continuation(status, Some(&text), content_length, written, known) {
                Continuation::FromStart { total } => {
                    prop_assert_eq!(status, 200);
                    prop_assert_eq!(total, content_length);
                }
                Continuation::FromWritten { total } => {
                    let range = parse_content_range(&text).expect("a 206 is followed only with a valid range");
                    prop_assert_eq!(range.first, written);
                    prop_assert!(content_length.is_none_or(|length| Some(length) == range.len()));
                    prop_assert!(total.is_none_or(|total| written < total && range.last < total));
                }
                Continuation::Mismatch => prop_assert_eq!(status, 206),
            }
        }
    }

    /// Writes pieces of many sizes (3 MiB in all) through a [`PartFile`] tuned by
    /// `tune`, checks the file holds them in order and that the digest it gives is the
    /// SHA-256 of the file; returns the finished `PartFile`.
    async fn write_pieces(name: &str, durable: bool, tune: impl FnOnce(&mut PartFile)) -> PartFile {
        let path = std::env::temp_dir().join(format!("kling-part-{}-{name}", std::process::id()));
        let mut file = PartFile::create(&path, durable, true).await.unwrap();
        tune(&mut file);
        let mut expected = Vec::new();
        for (index, size) in [1, 70_000, 300_000, 5, 2 << 20, 17, 700_000]
            .into_iter()
            .enumerate()
        {
            let piece: Vec<u8> = (0..size).map(|at| (at * 31 + index) as u8).collect();
            file.write(&piece).await.unwrap();
            expected.extend_from_slice(&piece);
        }
        let digest = file.finish().await.unwrap();
        let written = std::fs::read(&path).unwrap();
        assert!(written == expected, "the file differs from the pieces");
        assert_eq!(
            digest,
            Downloaded::of(&written).sha256,
            "the digest is not the file's"
        );
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_part_file_without_a_digest_writes_the_same_bytes_and_gives_none() {
        let path =
            std::env::temp_dir().join(format!("kling-part-{}-no-digest", std::process::id()));
        let mut file = PartFile::create(&path, false, false).await.unwrap();
        file.write(b"some bytes").await.unwrap();
        assert_eq!(file.finish().await.unwrap(), None);
        assert_eq!(std::fs::read(&path).unwrap(), b"some bytes");
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn pieces_are_written_in_place_while_writes_are_fast() {
        let file = write_pieces("in-place", false, |file| file.slow_write = Duration::MAX).await;
        assert!(file.offloaded.is_none());
        assert_eq!(file.background_syncs, 0, "--no-fsync flushes nothing");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn after_a_slow_write_the_rest_go_through_the_blocking_pool_in_order() {
        // Every write counts as slow: the first is made in place, the rest gathered
        // and written on the blocking pool, with flushes to disk in between.
        let file = write_pieces("offloaded", true, |file| {
            file.slow_write = Duration::ZERO;
            file.sync_every = 100_000;
        })
        .await;
        assert!(file.offloaded.is_some());
        assert!(
            file.background_syncs >= 1,
            "no flush to disk while the file grew"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn durable_files_are_flushed_to_disk_as_they_grow() {
        let file = write_pieces("durable", true, |file| {
            file.slow_write = Duration::MAX;
            file.sync_every = 500_000;
        })
        .await;
        assert!(
            file.background_syncs >= 1,
            "no flush to disk while the file grew"
        );
    }

    #[test]
    fn server_given_names_stay_inside_the_folder() {
        assert_eq!(file_stem("job_abc-123"), "job_abc-123");
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("fox v2.final"), "fox v2.final");
        assert_eq!(file_stem(".."), "job");
        assert_eq!(file_stem(""), "job");
        assert_eq!(extension_of("video/mp4"), Some("mp4"));
        assert_eq!(extension_of("video/mp4; codecs=avc1"), Some("mp4"));
        for odd in [
            "video/../../x",
            "video/",
            "mp4",
            "image/svg+xml",
            "video/a\\b",
        ] {
            assert_eq!(extension_of(odd), None, "{odd}");
        }
    }

    #[test]
    fn partial_files_sit_beside_the_target() {
        assert_eq!(
            partial_path(Path::new("out/fox.mp4")),
            Some(PathBuf::from("out/.fox.mp4.part"))
        );
        assert_eq!(partial_path(Path::new("/")), None);
    }
}
