//! One download as a state machine: [`Resume`] is where it stands between two requests
//! (the URL, the bytes in the partial file, the size and `ETag` the server announced,
//! the attempts counted), and [`Resume::step`] sends one request and writes what it
//! brings, saying what comes next ([`Step`]).

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt as _;
use kling_types::AssetId;
use kling_types::api::{Asset, AssetStatus};
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, RANGE};

use super::{
    Continuation, DownloadProgress, Downloaded, MAX_FRESH_URLS, MAX_RESUMES, MAX_STALLED_RESUMES,
    PartFile, continuation,
};
use crate::client::Client;
use crate::error::Error;
use crate::redact::redact;

/// What one request of a download came to.
enum Step {
    /// The file is whole.
    Done,
    /// Ask again at once: a fresh URL, or the file from its first byte.
    Again,
    /// The request was cut or refused in a way a retry can fix.
    Cut(Cut),
}

/// Why a request of a download did not bring the whole file.
struct Cut {
    /// What happened, when no error says it (`the connection closed after 10 of 20 bytes`).
    reason: String,
    /// The error that cut it (a broken connection, a timeout).
    source: Option<Error>,
}

impl Cut {
    fn said(reason: String) -> Self {
        Self {
            reason,
            source: None,
        }
    }

    fn by(error: Error) -> Self {
        Self {
            reason: String::new(),
            source: Some(error),
        }
    }

    /// The cut in words, for the log.
    fn describe(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| self.reason.clone(), |error| crate::error::chain(error))
    }
}

/// A download between two requests.
pub(super) struct Resume<'a, P> {
    client: &'a Client,
    http: &'a reqwest::Client,
    asset_id: &'a AssetId,
    part: &'a Path,
    on_progress: P,
    url: String,
    file: PartFile,
    written: u64,
    total: Option<u64>,
    etag: Option<String>,
    /// Requests after the first, however much each brought.
    resumes: u32,
    /// Cuts in a row that brought no byte.
    stalled: u32,
    fresh_urls: u32,
    backoff: backon::ExponentialBackoff,
}

impl<'a, P: FnMut(DownloadProgress)> Resume<'a, P> {
    /// A download of `asset` into the partial file `part` (created empty), or why it
    /// cannot start (an asset not ready, or in error).
    pub(super) async fn start(
        client: &'a Client,
        asset: &'a Asset,
        part: &'a Path,
        on_progress: P,
    ) -> Result<Self, Error> {
        let asset_id = &asset.id;
        let failed = |reason: &str| Error::Download {
            asset_id: asset_id.clone(),
            reason: reason.to_owned(),
            source: None,
        };
        match &asset.status {
            Some(AssetStatus::Pending) => {
                return Err(failed("the asset is not ready yet: wait for its job first"));
            }
            Some(AssetStatus::Error) => return Err(failed("the asset is in error on the server")),
            _ => {}
        }
        let url = match asset.url.clone() {
            Some(url) => url,
            None => client.download_link(asset_id).await?.url,
        };
        let http = client.transfer_http()?;
        let file = PartFile::create(part, client.durable_downloads, client.download_digests)
            .await
            .map_err(|source| write_error(asset_id, part, source))?;
        Ok(Self {
            client,
            http,
            asset_id,
            part,
            on_progress,
            url,
            file,
            written: 0,
            total: None,
            etag: None,
            resumes: 0,
            stalled: 0,
            fresh_urls: 0,
            backoff: client.backoff(),
        })
    }

    /// Steps until the file is whole; its size and SHA-256.
    pub(super) async fn run(mut self) -> Result<Downloaded, Error> {
        loop {
            let before = self.written;
            match self.step().await? {
                Step::Done => break,
                Step::Again => {}
                Step::Cut(cut) => self.after_cut(before, cut).await?,
            }
        }
        let sha256 = self.file.finish().await.map_err(|source| self.io(source))?;
        match self.total {
            Some(total) if self.written != total => Err(self.failed(format!(
                "received {} bytes but the server announced {total}",
                self.written
            ))),
            _ => Ok(Downloaded {
                bytes: self.written,
                sha256,
            }),
        }
    }

    /// One request: from the first byte, or (with `Range` and `If-Range`) from the bytes
    /// written so far.
    async fn step(&mut self) -> Result<Step, Error> {
        let mut request = self.http.get(&self.url);
        if self.written > 0 {
            request = request.header(RANGE, format!("bytes={}-", self.written));
            if let Some(etag) = &self.etag {
                request = request.header(IF_RANGE, etag);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let what = format!("GET {}", redact(&self.url));
                return Ok(Step::Cut(Cut::by(
                    self.client.transport_error(error, &what),
                )));
            }
        };
        match response.status().as_u16() {
            status @ (200 | 206) => match self.accept(status, &response).await? {
                Some(step) => Ok(step),
                None => self.stream(response).await,
            },
            403 | 410 if self.fresh_urls < MAX_FRESH_URLS => {
                self.fresh_urls += 1;
                tracing::info!(asset_id = %self.asset_id, "the signed URL expired: asking for a fresh one");
                self.url = self.client.download_link(self.asset_id).await?.url;
                Ok(Step::Again)
            }
            416 if self.total == Some(self.written) => Ok(Step::Done),
            _ => self.refused(response).await,
        }
    }

    /// Whether a 200 or 206 continues the file: `None` to stream its body, or the step
    /// to take instead (the file from its start again).
    async fn accept(
        &mut self,
        status: u16,
        response: &reqwest::Response,
    ) -> Result<Option<Step>, Error> {
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, content_range) = (header(ETAG), header(CONTENT_RANGE));
        let same_file = self.etag.is_none() || etag.is_none() || etag == self.etag;
        let next = continuation(
            status,
            content_range.as_deref(),
            response.content_length(),
            self.written,
            self.total,
        );
        match next {
            Continuation::FromStart { total } => {
                if self.written > 0 {
                    // The server sent the whole file again: start over.
                    self.restart().await?;
                }
                (self.total, self.etag) = (total, etag);
                Ok(None)
            }
            Continuation::FromWritten { total } if same_file => {
                self.total = total;
                Ok(None)
            }
            Continuation::FromWritten { .. } | Continuation::Mismatch => {
                tracing::warn!(asset_id = %self.asset_id, "the server resumed at another place or another file: starting over");
                self.restart().await?;
                (self.total, self.etag) = (None, None);
                // Counted as a resume: a server that always answers so cannot keep the
                // download going round forever.
                self.resumes += 1;
                if self.resumes > MAX_RESUMES {
                    return Err(self.failed(format!(
                        "the file server kept answering ranges that do not continue the file (gave up after {} attempts)",
                        self.resumes
                    )));
                }
                Ok(Some(Step::Again))
            }
        }
    }

    /// Writes the body into the file as it comes: done when it is whole, a cut otherwise.
    async fn stream(&mut self, response: reqwest::Response) -> Result<Step, Error> {
        let mut body = response.bytes_stream();
        while let Some(piece) = body.next().await {
            match piece {
                Ok(bytes) => {
                    self.file
                        .write(&bytes)
                        .await
                        .map_err(|source| self.io(source))?;
                    let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                    self.written = self.written.saturating_add(length);
                    (self.on_progress)(DownloadProgress {
                        bytes: self.written,
                        total: self.total,
                    });
                }
                Err(error) => {
                    let error = self.client.transport_error(error, "the download");
                    return Ok(Step::Cut(Cut::by(error)));
                }
            }
        }
        Ok(match self.total {
            Some(total) if self.written < total => Step::Cut(Cut::said(format!(
                "the connection closed after {} of {total} bytes",
                self.written
            ))),
            _ => Step::Done,
        })
    }

    /// Any other answer: a cut when a retry can fix it, the download's failure otherwise.
    async fn refused(&self, response: reqwest::Response) -> Result<Step, Error> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        let error = crate::client::Reply {
            status,
            headers,
            body,
            request_id: None,
            redactor: std::sync::Arc::clone(&self.client.redactor),
        }
        .into_error();
        let answered = format!(
            "the file server answered {status}: {}",
            error.reason().unwrap_or("no reason given")
        );
        if error.is_retryable() {
            Ok(Step::Cut(Cut::said(answered)))
        } else {
            Err(self.failed(answered))
        }
    }

    /// After a cut: gives up when the download stalls or resumed too often, otherwise
    /// waits (not at all when the cut request brought bytes) before the next request.
    async fn after_cut(&mut self, before: u64, cut: Cut) -> Result<(), Error> {
        if self.written > self.total.unwrap_or(u64::MAX) {
            return Err(self.failed(format!(
                "received {} bytes, more than the {} announced",
                self.written,
                self.total.unwrap_or_default()
            )));
        }
        self.stalled = if self.written > before {
            0
        } else {
            self.stalled + 1
        };
        self.resumes += 1;
        let retries = self.client.retry.max_retries.max(1);
        if self.stalled > MAX_STALLED_RESUMES.min(retries) || self.resumes > MAX_RESUMES {
            let gave_up = format!("gave up after {} attempts", self.resumes);
            return Err(match cut.source {
                Some(source) => Error::Download {
                    asset_id: self.asset_id.clone(),
                    reason: gave_up,
                    source: Some(Box::new(source)),
                },
                None => self.failed(format!("{} ({gave_up})", cut.reason)),
            });
        }
        let delay = if self.written > before {
            Duration::ZERO
        } else {
            self.backoff.next().unwrap_or(self.client.retry.max_delay)
        };
        let cut = cut.describe();
        tracing::info!(asset_id = %self.asset_id, written = self.written, total = ?self.total, delay_ms = crate::client::millis(delay), cut, "resuming the download");
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// An empty partial file again, for the file from its first byte.
    async fn restart(&mut self) -> Result<(), Error> {
        self.file = PartFile::create(
            self.part,
            self.client.durable_downloads,
            self.client.download_digests,
        )
        .await
        .map_err(|source| self.io(source))?;
        self.written = 0;
        Ok(())
    }

    fn failed(&self, reason: String) -> Error {
        Error::Download {
            asset_id: self.asset_id.clone(),
            reason,
            source: None,
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        write_error(self.asset_id, self.part, source)
    }
}

/// A write into the partial file failed: the error keeps the file and the cause.
fn write_error(asset_id: &AssetId, part: &Path, source: std::io::Error) -> Error {
    Error::Download {
        asset_id: asset_id.clone(),
        reason: "cannot write the file".to_owned(),
        source: Some(Box::new(Error::Io {
            path: part.to_path_buf(),
            source,
        })),
    }
}
