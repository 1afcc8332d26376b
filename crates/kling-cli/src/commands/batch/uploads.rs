//! The local files of a batch ([`super::input::LocalFile`]): each distinct content is
//! uploaded once, by the first line that needs it (the others that hold the same bytes
//! wait for that upload and share its asset id), and the journal keeps its asset id
//! (`uploaded`, by the SHA-256 of the bytes), so that a rerun neither uploads it again
//! nor sends anything but the same request.
//!
//! A line's uploads happen when the line is about to be submitted (within the window
//! and the budget), never before the user agreed to spend. An asset an earlier run
//! uploaded is asked for once per run before it is sent again: one deleted since (or of
//! another account, or of an earlier `--sandbox`) is uploaded anew. The file is read again just
//! before and just after its upload: bytes that no longer match what the line was keyed
//! by end the line with a message instead of sending another picture under its key.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::input::{self, Line, LocalFile};
use super::journal::Journal;
use super::lock;
use crate::commands::Ctx;

/// What a request carries in place of a file not uploaded yet, when it is only priced.
const STAND_IN: &str = "asset_to_upload";

/// The asset id of each content, once uploaded (by this run or an earlier one).
#[derive(Debug, Default)]
pub(super) struct Uploads {
    /// What earlier runs uploaded, by the SHA-256 (hex) of the bytes: not yet known to
    /// be there still.
    earlier: BTreeMap<String, String>,
    /// The asset each content has in this run, by the SHA-256 (hex) of the bytes: an
    /// earlier run's once found, or this run's upload. A cell is filled once, by the
    /// first line that gets one (a failure leaves it empty for the next line to try).
    assets: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<String>>>>,
}

impl Uploads {
    /// What earlier runs uploaded ([`Journal::uploaded`]).
    pub(super) fn new(uploaded: &BTreeMap<String, String>) -> Self {
        Self {
            earlier: uploaded.clone(),
            assets: Mutex::default(),
        }
    }

    /// The asset id of `file`'s content, if it has one: this run's, else an earlier run's.
    pub(super) fn known(&self, file: &LocalFile) -> Option<String> {
        let digest = file.sha256_hex();
        lock(&self.assets)
            .get(&digest)
            .and_then(|cell| cell.get().cloned())
            .or_else(|| self.earlier.get(&digest).cloned())
    }

    /// `line`'s parameters with each file's asset id: what is sent once [`Self::upload`]
    /// gave every file one. A file without one yet has a stand-in (what is priced before
    /// anything is uploaded: the price does not depend on the picture).
    pub(super) fn params_of(&self, line: &Line) -> Value {
        line.params_with(|file| self.known(file).unwrap_or_else(|| STAND_IN.to_owned()))
    }

    /// Uploads each file of `line` whose content has no asset yet (once per content,
    /// whatever the number of lines that hold it), and records it in the journal.
    pub(super) async fn upload(
        &self,
        ctx: &Ctx,
        journal: &Journal,
        line: &Line,
    ) -> anyhow::Result<()> {
        for file in &line.files {
            let cell = lock(&self.assets)
                .entry(file.sha256_hex())
                .or_default()
                .clone();
            cell.get_or_try_init(|| async {
                let earlier = self.earlier.get(&file.sha256_hex());
                match earlier {
                    Some(asset_id) if still_there(ctx, asset_id).await? => Ok(asset_id.clone()),
                    _ => upload_one(ctx, journal, file).await,
                }
            })
            .await?;
        }
        Ok(())
    }

    /// The distinct contents of `lines`' files that have no asset yet, each with the
    /// numbers of the lines that name it: what a run would upload first.
    pub(super) fn to_upload<'l>(&self, lines: &[&'l Line]) -> Vec<(&'l LocalFile, Vec<usize>)> {
        let mut pending: Vec<(&LocalFile, Vec<usize>)> = Vec::new();
        for line in lines {
            for file in line.files.iter().filter(|file| self.known(file).is_none()) {
                match pending
                    .iter_mut()
                    .find(|(other, _)| other.sha256 == file.sha256)
                {
                    Some((_, numbers)) => numbers.push(line.number),
                    None => pending.push((file, vec![line.number])),
                }
            }
        }
        pending
    }
}

/// Whether the asset an earlier run uploaded is still there (a 404 says it is not; any
/// other failure is the caller's to retry).
async fn still_there(ctx: &Ctx, asset_id: &str) -> anyhow::Result<bool> {
    match ctx
        .client
        .asset(&kling_types::AssetId::new(asset_id.to_owned()))
        .await
    {
        Ok(_) => Ok(true),
        Err(kling_client::Error::Api { status: 404, .. }) => {
            tracing::info!(asset_id, "an earlier upload is gone: uploading again");
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// Uploads one file, checked to hold what its line was keyed by, before and after.
async fn upload_one(ctx: &Ctx, journal: &Journal, file: &LocalFile) -> anyhow::Result<String> {
    still_holds(file).await?;
    tracing::info!(file = %file.path.display(), "uploading");
    let asset_id = ctx.client.upload_file(&file.path, file.kind).await?;
    still_holds(file).await?;
    journal
        .record_upload(&file.sha256_hex(), &file.path, asset_id.as_str())
        .await?;
    Ok(asset_id.as_str().to_owned())
}

/// The file still holds the bytes its line was read with.
async fn still_holds(file: &LocalFile) -> anyhow::Result<()> {
    let path = file.path.clone();
    let digest = tokio::task::spawn_blocking(move || input::file_sha256(&path))
        .await?
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.path.display()))?;
    if digest != file.sha256 {
        return Err(crate::exit::usage(format!(
            "{} changed since kling read the batch file: nothing was sent for this line; run the same command again to send what the file holds now",
            file.path.display()
        )));
    }
    Ok(())
}
