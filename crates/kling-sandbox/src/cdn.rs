//! The asset files themselves, behind signed, expiring URLs, as a CDN serves them:
//! `Range` requests (206 with `Content-Range`), `Content-Length`, an `ETag`, and 403
//! once the link has expired. Files are streamed in chunks, never held whole.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use crate::faults::Fault;
use crate::state::{Content, State};

const CHUNK: usize = 64 * 1024;

/// When a link handed out now expires (Unix seconds): `url_ttl` from now, or a minute
/// ago when a fault says it has already expired.
fn expiry(state: &State, expired: bool) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let expires = if expired {
        now.saturating_sub(Duration::from_secs(60))
    } else {
        now.saturating_add(state.real(state.config.url_ttl))
    };
    expires.as_secs()
}

/// A signed URL for an asset's file, valid until `expires` (Unix seconds).
pub(crate) fn signed_url(state: &State, asset_id: &str, file_name: &str, expired: bool) -> String {
    let expires = expiry(state, expired);
    let signature = sign(state, asset_id, expires);
    format!(
        "{}/cdn/assets/{asset_id}/{file_name}?Expires={expires}&Key-Pair-Id=SANDBOX&Signature={signature:016x}",
        state.origin
    )
}

/// The URL of part `number` of an upload, signed and expiring like the files (the real
/// ones are presigned storage URLs), and its expiry as the API writes it.
pub(crate) fn signed_part_url(
    state: &State,
    upload_id: &str,
    number: u32,
    expired: bool,
) -> (String, String) {
    let expires = expiry(state, expired);
    let signature = sign(state, &format!("{upload_id}/{number}"), expires);
    let url = format!(
        "{}/upload-parts/{upload_id}/{number}?Expires={expires}&Signature={signature:016x}",
        state.origin
    );
    let moment = UNIX_EPOCH + Duration::from_secs(expires.min(LATEST_EXPIRY));
    (url, crate::state::iso8601(moment))
}

/// Far enough: the year 2500, past any expiry a sandbox hands out.
const LATEST_EXPIRY: u64 = 16_725_225_600;

/// Why a signed link (`resource` is an asset id, or `upload/part`) is refused: `None`
/// when its signature holds and it has not expired.
pub(crate) fn refusal(
    state: &State,
    resource: &str,
    uri: &Uri,
    expired_by_fault: bool,
) -> Option<Response> {
    let Ok(signature) = serde_urlencoded::from_str::<Signature>(uri.query().unwrap_or_default())
    else {
        return Some(denied("Invalid query"));
    };
    let (Some(expires), Some(given)) = (signature.expires, signature.signature) else {
        return Some(denied("Missing Key"));
    };
    if given != format!("{:016x}", sign(state, resource, expires)) {
        return Some(denied("Invalid signature"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // An `expired-url` fault on the request itself: refused as if it had expired.
    if now >= expires || expired_by_fault {
        return Some(denied("Request has expired"));
    }
    None
}

fn sign(state: &State, resource: &str, expires: u64) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (state.signing_key, resource, expires).hash(&mut hasher);
    hasher.finish()
}

#[derive(Deserialize)]
struct Signature {
    #[serde(rename = "Expires")]
    expires: Option<u64>,
    #[serde(rename = "Signature")]
    signature: Option<String>,
}

fn denied(message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/xml")],
        body,
    )
        .into_response()
}

/// `GET /cdn/assets/{assetId}/{fileName}?Expires=…&Signature=…`
pub(crate) async fn download(
    AxumState(state): AxumState<Arc<State>>,
    Path((asset_id, _file_name)): Path<(String, String)>,
    uri: Uri,
    fault: Option<axum::Extension<Fault>>,
    headers: HeaderMap,
) -> Response {
    let expired_by_fault = fault.is_some_and(|axum::Extension(fault)| fault == Fault::ExpiredUrl);
    if let Some(refused) = refusal(&state, &asset_id, &uri, expired_by_fault) {
        return refused;
    }
    let (content, mime_type) = {
        let inner = state.lock();
        let Some(asset) = inner.assets.get(&asset_id) else {
            return (StatusCode::NOT_FOUND, "Not Found").into_response();
        };
        let content = match &asset.content {
            Content::Uploaded(bytes) => Ok(Source::Bytes(Arc::clone(bytes))),
            Content::Video(mp4) => Ok(Source::Video(Arc::clone(mp4))),
            Content::Poster(poster) => Err(*poster),
        };
        (content, asset.mime_type.clone())
    };
    // A poster is rendered here, out of the lock, and dropped once sent.
    let content = content.unwrap_or_else(|poster| Source::Bytes(Arc::new(poster.render())));
    let length = content.len();
    let etag = format!("\"{asset_id}-{length}\"");
    let range = match headers
        .get(header::RANGE)
        .map(|value| parse_range(value.as_bytes(), length))
    {
        None | Some(Ok(Ranged::Whole)) => None,
        Some(Ok(Ranged::Part { start, end })) => Some((start, end)),
        Some(Err(Unsatisfiable)) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{length}"))],
            )
                .into_response();
        }
    };
    // A conditional range that no longer matches gets the whole file, as RFC 9110 says.
    let range = range.filter(|_| {
        headers
            .get(header::IF_RANGE)
            .is_none_or(|if_range| if_range.as_bytes() == etag.as_bytes())
    });
    let (status, start, end) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
        None => (StatusCode::OK, 0, length),
    };
    let mut response = Response::new(Body::from_stream(content.stream(start, end)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{}/{length}", end - 1))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    response
}

/// What a `Range` header asks of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// The whole file (200).
    Whole,
    /// The bytes `[start, end)` (206), `start < end <= length`.
    Part { start: u64, end: u64 },
}

/// A `Range` none of whose ranges overlap the file (416).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no range overlaps the file")]
pub(crate) struct Unsatisfiable;

/// Reads a `Range` header for a file of `length` bytes, as RFC 9110 §14.2 says:
/// `bytes=a-b`, `bytes=a-`, `bytes=-n` ask for a part; a header in another unit (which
/// a server MUST ignore), one that does not parse, one asking for several ranges
/// (multipart answers are not served) or for more than two that overlap (MAY ignore)
/// gets the whole file; only ranges none of which overlap the file are a 416.
///
/// The parsing is `http-range-header`'s (the one tower-http relies on): it tells a
/// malformed header from an unsatisfiable one, which is the line between 200 and 416.
pub(crate) fn parse_range(value: &[u8], length: u64) -> Result<Ranged, Unsatisfiable> {
    let Ok(value) = std::str::from_utf8(value) else {
        return Ok(Ranged::Whole);
    };
    let Ok(ranges) = http_range_header::parse_range_header(value) else {
        return Ok(Ranged::Whole);
    };
    match ranges.validate(length).as_deref() {
        Ok([range]) => Ok(Ranged::Part {
            start: *range.start(),
            // `end` is at most `length - 1`, so this cannot overflow.
            end: range.end().saturating_add(1),
        }),
        Ok(_) => Ok(Ranged::Whole),
        Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => Err(Unsatisfiable),
        Err(_) => Ok(Ranged::Whole),
    }
}

enum Source {
    Bytes(Arc<Vec<u8>>),
    Video(Arc<crate::mp4::Mp4>),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Self::Bytes(bytes) => bytes.len() as u64,
            Self::Video(mp4) => mp4.len(),
        }
    }

    /// The bytes `[start, end)` in chunks, rendered as they are sent.
    fn stream(
        self,
        start: u64,
        end: u64,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
        futures_util::stream::unfold((self, start), move |(source, offset)| async move {
            if offset >= end {
                return None;
            }
            let want = usize::try_from(end - offset).unwrap_or(CHUNK).min(CHUNK);
            let chunk = match &source {
                Source::Bytes(bytes) => {
                    let from = usize::try_from(offset)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    Bytes::copy_from_slice(&bytes[from..(from + want).min(bytes.len())])
                }
                Source::Video(mp4) => {
                    let mut buffer = vec![0; want];
                    let read = mp4.read_at(offset, &mut buffer);
                    buffer.truncate(read);
                    Bytes::from(buffer)
                }
            };
            if chunk.is_empty() {
                return None;
            }
            let next = offset + chunk.len() as u64;
            Some((Ok(chunk), (source, next)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Ranged, Unsatisfiable, parse_range};

    #[test]
    fn ranges_follow_rfc_9110() {
        let part = |start, end| Ok(Ranged::Part { start, end });
        let cases = [
            ("bytes=0-99", part(0, 100)),
            ("bytes=900-", part(900, 1000)),
            ("bytes=-100", part(900, 1000)),
            ("bytes=-5000", part(0, 1000)),
            ("bytes=990-2000", part(990, 1000)),
            ("BYTES=0-0", part(0, 1)),
            ("bytes=1000-", Err(Unsatisfiable)),
            ("bytes=-0", Err(Unsatisfiable)),
            // Another unit is ignored (MUST), and so is what does not parse (MAY).
            ("items=0-1", Ok(Ranged::Whole)),
            ("bytes=5-1", Ok(Ranged::Whole)),
            ("bytes=abc", Ok(Ranged::Whole)),
            ("", Ok(Ranged::Whole)),
            // Several ranges would need a multipart answer: the whole file instead.
            ("bytes=0-1,5-9", Ok(Ranged::Whole)),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_range(header.as_bytes(), 1000), expected, "{header}");
        }
        assert_eq!(parse_range(b"bytes=0-\xff", 1000), Ok(Ranged::Whole));
        assert_eq!(parse_range(b"bytes=0-", 0), Err(Unsatisfiable));
    }
}
