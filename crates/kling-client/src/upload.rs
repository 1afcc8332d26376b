//! Uploading images, which the API needs as asset ids: under 6 MB as a data URL in one
//! request (`POST /v1/assets`), larger in parts (`/v1/uploads`). The type comes from
//! the file's first bytes, not its name.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kling_types::api::{AssetResponse, UploadResponse, UploadStatus};
use kling_types::{AssetId, FileKind};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use crate::client::{Call, Client, Payload, segment};
use crate::error::Error;

/// The image formats the API accepts (those [`sniff_image_type`] knows), as messages
/// name them.
pub const IMAGE_FORMATS: &str = "JPEG, PNG, GIF, WebP, AVIF, TIFF, HEIC or SVG";
/// Images up to this size go in one request; larger ones in parts.
pub const MAX_INLINE_IMAGE_BYTES: u64 = 6 * 1024 * 1024;
/// The size of each part of a multipart upload.
const PART_BYTES: u64 = 8 * 1024 * 1024;
/// How long an upload may take to be imported once its parts are in.
const IMPORT_DEADLINE: Duration = Duration::from_secs(600);

/// The image types the API accepts, by their first bytes.
///
/// ```
/// assert_eq!(kling_client::sniff_image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
/// assert_eq!(kling_client::sniff_image_type(b"%PDF-1.7"), None);
/// ```
pub fn sniff_image_type(head: &[u8]) -> Option<&'static str> {
    let brand = head.get(8..12).filter(|_| head.get(4..8) == Some(b"ftyp"));
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if brand.is_some_and(|brand| brand == b"avif" || brand == b"avis") {
        Some("image/avif")
    } else if brand.is_some_and(|brand| {
        [
            b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1",
        ]
        .iter()
        .any(|known| brand == *known)
    }) {
        Some("image/heic")
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        (text.starts_with("<svg") || (text.starts_with("<?xml") && text.contains("<svg")))
            .then_some("image/svg+xml")
    }
}

/// The type of a file of `kind` (a video, a sound, a 3d model, …), by its first bytes
/// where the format has a signature, else by the extension of `name`: what the upload
/// declares as its content type. `None` for a file that is not of that kind.
///
/// ```
/// use kling_types::FileKind;
/// assert_eq!(kling_client::sniff_file_type(b"\0\0\0\x18ftypisom", FileKind::Video, "a.mp4"), Some("video/mp4"));
/// assert_eq!(kling_client::sniff_file_type(b"ID3\x04", FileKind::Audio, "a.mp3"), Some("audio/mpeg"));
/// assert_eq!(kling_client::sniff_file_type(b"glTF\x02", FileKind::ThreeD, "a.glb"), Some("model/gltf-binary"));
/// assert_eq!(kling_client::sniff_file_type(b"%PDF-1.7", FileKind::Video, "a.pdf"), None);
/// ```
pub fn sniff_file_type(head: &[u8], kind: FileKind, name: &str) -> Option<&'static str> {
    let brand = head.get(8..12).filter(|_| head.get(4..8) == Some(b"ftyp"));
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match kind {
        FileKind::Image => sniff_image_type(head),
        FileKind::Video => match brand {
            Some(b"qt  ") => Some("video/quicktime"),
            Some(brand) if !matches!(brand, b"M4A " | b"avif" | b"avis" | b"heic" | b"mif1") => {
                Some("video/mp4")
            }
            _ => head
                .starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
                .then_some("video/webm"),
        },
        FileKind::Audio => {
            if head.starts_with(b"ID3")
                || (head.first() == Some(&0xFF) && head.get(1).is_some_and(|b| b & 0xE0 == 0xE0))
            {
                Some("audio/mpeg")
            } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
                Some("audio/wav")
            } else if head.starts_with(b"OggS") {
                Some("audio/ogg")
            } else if head.starts_with(b"fLaC") {
                Some("audio/flac")
            } else if brand == Some(b"M4A ") {
                Some("audio/mp4")
            } else {
                None
            }
        }
        FileKind::ThreeD => {
            if head.starts_with(b"glTF") {
                Some("model/gltf-binary")
            } else {
                match extension.as_str() {
                    "gltf" => Some("model/gltf+json"),
                    "obj" => Some("model/obj"),
                    "fbx" => Some("application/octet-stream"),
                    "usdz" if head.starts_with(b"PK") => Some("model/vnd.usdz+zip"),
                    _ => None,
                }
            }
        }
        FileKind::Document => head.starts_with(b"%PDF").then_some("application/pdf"),
        FileKind::ImageHdr => {
            if head.starts_with(b"#?RADIANCE") || head.starts_with(b"#?RGBE") {
                Some("image/vnd.radiance")
            } else if head.starts_with(&[0x76, 0x2F, 0x31, 0x01]) {
                Some("image/x-exr")
            } else {
                None
            }
        }
        FileKind::Json => {
            let text = String::from_utf8_lossy(head);
            text.trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with(['{', '['])
                .then_some("application/json")
        }
        FileKind::Text => std::str::from_utf8(head).is_ok().then_some("text/plain"),
        _ => None,
    }
}

/// Where part `number` (from 1, as the API counts) of a file of `size` bytes starts;
/// `None` for a part the file does not have (0, negative, or past its end).
fn part_start(number: i64, size: u64) -> Option<u64> {
    let index = u64::try_from(number).ok()?.checked_sub(1)?;
    index.checked_mul(PART_BYTES).filter(|start| *start < size)
}

impl Client {
    /// Uploads an image and returns its asset id, to use as `startImage`, `endImage` or
    /// in `referenceImages`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// # let path = std::env::temp_dir().join(format!("kling-doc-cat-{}.png", std::process::id()));
    /// # std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really a png")?;
    /// let cat = client.upload_image(&path).await?;
    /// let request = kling_types::kling_v1_6_pro::Kling16ProRequest::new("the cat wakes up").with_start_image(cat);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn upload_image(&self, path: &Path) -> Result<AssetId, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let unsupported = |reason: String| Error::Upload {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        let mut head = vec![0; 512];
        let read = file.read(&mut head).await.map_err(io)?;
        head.truncate(read);
        let Some(mime_type) = sniff_image_type(&head) else {
            return Err(unsupported(format!(
                "it is not an image the API accepts ({IMAGE_FORMATS})"
            )));
        };
        if size == 0 {
            return Err(unsupported("the file is empty".to_owned()));
        }
        let name = path.file_name().map_or_else(
            || "image".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        if size <= MAX_INLINE_IMAGE_BYTES {
            let bytes = tokio::fs::read(path).await.map_err(io)?;
            let image = format!(
                "data:{mime_type};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            // Repeating this request at worst uploads the image twice, which costs nothing.
            let call = Call::api(Method::POST, "/assets".to_owned())
                .json(json!({"name": name, "image": image}));
            let asset = self
                .send(&call)
                .await?
                .decode::<AssetResponse>(&call.what)?
                .asset;
            tracing::info!(asset_id = %asset.id, bytes = size, "uploaded");
            return Ok(asset.id);
        }
        self.upload_in_parts(path, &mut file, &name, mime_type, size)
            .await
    }

    /// Uploads a file of `kind` (a video, a sound, a 3d model, …) and returns its asset
    /// id: an image as [`Client::upload_image`] does, any other kind in parts
    /// (`/v1/uploads`), its type read from its first bytes (or its extension).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// # let path = std::env::temp_dir().join(format!("kling-doc-clip-{}.mp4", std::process::id()));
    /// # std::fs::write(&path, b"\0\0\0\x18ftypisom not really a video")?;
    /// let clip = client.upload_file(&path, kling_types::FileKind::Video).await?;
    /// assert!(clip.as_str().starts_with("asset_"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn upload_file(&self, path: &Path, kind: FileKind) -> Result<AssetId, Error> {
        if kind == FileKind::Image {
            return self.upload_image(path).await;
        }
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let unsupported = |reason: String| Error::Upload {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        if size == 0 {
            return Err(unsupported("the file is empty".to_owned()));
        }
        let mut head = vec![0; 512];
        let read = file.read(&mut head).await.map_err(io)?;
        head.truncate(read);
        let name = path.file_name().map_or_else(
            || kind.name().to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        let Some(mime_type) = sniff_file_type(&head, kind, &name) else {
            return Err(unsupported(format!(
                "it is not a file of kind `{}` the API accepts",
                kind.name()
            )));
        };
        self.upload_parts(path, &mut file, &name, mime_type, size, kind)
            .await
    }

    async fn upload_in_parts(
        &self,
        path: &Path,
        file: &mut tokio::fs::File,
        name: &str,
        mime_type: &str,
        size: u64,
    ) -> Result<AssetId, Error> {
        self.upload_parts(path, file, name, mime_type, size, FileKind::Image)
            .await
    }

    async fn upload_parts(
        &self,
        path: &Path,
        file: &mut tokio::fs::File,
        name: &str,
        mime_type: &str,
        size: u64,
        kind: FileKind,
    ) -> Result<AssetId, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let failed = |reason: String| Error::Upload {
            path: path.to_path_buf(),
            reason,
        };
        let parts = size.div_ceil(PART_BYTES);
        let call = Call::api(Method::POST, "/uploads".to_owned())
            .json(json!({"fileName": name, "contentType": mime_type, "fileSize": size, "kind": kind.name(), "parts": parts}));
        let upload = self
            .send(&call)
            .await?
            .decode::<UploadResponse>(&call.what)?
            .upload;
        let upload_path = format!("/uploads/{}", segment(&upload.id));
        for part in &upload.parts {
            let start = part_start(part.number, size).ok_or_else(|| {
                failed(format!(
                    "the API asked for part {} of a file of {parts} parts",
                    part.number
                ))
            })?;
            // `part_start` is below `size`: no underflow.
            let length = PART_BYTES.min(size - start);
            let mut bytes = vec![
                0;
                usize::try_from(length)
                    .map_err(|_| failed("part too large for memory".to_owned()))?
            ];
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(io)?;
            file.read_exact(&mut bytes).await.map_err(io)?;
            let mut call = Call::url(Method::PUT, &part.url);
            call.body = Some(Payload::Bytes(bytes.into()));
            self.send(&call).await?;
            tracing::debug!(upload = %upload.id, part = part.number, of = parts, "part uploaded");
        }
        let call = Call::api(Method::POST, format!("{upload_path}/action"))
            .json(json!({"action": "complete"}));
        let mut upload = self
            .send(&call)
            .await?
            .decode::<UploadResponse>(&call.what)?
            .upload;
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        loop {
            match &upload.status {
                UploadStatus::Imported => {
                    let asset_id = upload.entity_id.or(upload.asset_id).ok_or_else(|| {
                        failed("the upload was imported but the API named no asset".to_owned())
                    })?;
                    tracing::info!(%asset_id, bytes = size, parts, "uploaded in parts");
                    return Ok(asset_id);
                }
                UploadStatus::Failed => {
                    return Err(failed(
                        upload
                            .error_message
                            .unwrap_or_else(|| "the API gave no reason".to_owned()),
                    ));
                }
                UploadStatus::Canceled => return Err(failed("the upload was canceled".to_owned())),
                _ if started.elapsed() > IMPORT_DEADLINE => {
                    return Err(failed(format!(
                        "still not imported after {} s (upload {})",
                        IMPORT_DEADLINE.as_secs(),
                        upload.id
                    )));
                }
                _ => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            let call = Call::api(Method::GET, upload_path.clone());
            upload = self
                .send(&call)
                .await?
                .decode::<UploadResponse>(&call.what)?
                .upload;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parts_the_file_has_are_read() {
        let size = 2 * PART_BYTES + 5;
        assert_eq!(part_start(1, size), Some(0));
        assert_eq!(part_start(3, size), Some(2 * PART_BYTES));
        for missing in [0, -1, 4, i64::MAX, i64::MIN] {
            assert_eq!(part_start(missing, size), None, "part {missing}");
        }
    }
}
