//! `kling assets get|download`.

use std::path::Path;

use kling_client::redact;
use kling_types::{AssetId, JobId};

use super::{Ctx, download_all, download_outputs};
use crate::cli::Assets;

pub(crate) async fn run(ctx: &Ctx, command: &Assets) -> anyhow::Result<()> {
    match command {
        Assets::Get { id } => {
            let asset = ctx.client.asset(&AssetId::new(id.as_str())).await?;
            if ctx.out.json {
                // Asked for in JSON, the signed URL is the point: it is given whole.
                ctx.out.json(&serde_json::to_value(&asset)?)?;
            } else {
                let size = asset
                    .properties
                    .as_ref()
                    .and_then(|properties| properties.size)
                    .map(|size| format!("  {size} bytes"))
                    .unwrap_or_default();
                let kind = asset
                    .kind
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let status = asset
                    .status
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let url = asset
                    .url
                    .as_deref()
                    .map(|url| format!("  {} (signed; --json shows it whole)", redact(url)))
                    .unwrap_or_default();
                ctx.out
                    .result(&format!("{}  {kind}  {status}{size}{url}", asset.id))?;
            }
        }
        Assets::Download {
            id,
            job,
            output,
            no_record,
        } => {
            // The history is read first (no network): the output it remembers is checked
            // before anything is asked of the API.
            let entry = match job {
                Some(job_id) => ctx
                    .history
                    .as_ref()
                    .map(|history| history.find_job(job_id))
                    .transpose()?
                    .flatten(),
                None => None,
            };
            let output = output.as_deref().or_else(|| {
                entry
                    .as_ref()
                    .and_then(|entry| entry.output.as_deref())
                    .map(Path::new)
            });
            super::ensure_writable(output)?;
            if entry.is_some() {
                ctx.ensure_history_writable()?;
            }
            let provenance = entry
                .as_ref()
                .map(crate::records::Provenance::of_entry)
                .unwrap_or_default();
            let record = (!no_record).then_some(&provenance);
            let entry = entry.as_ref().map(|entry| entry.entry.as_str());
            let files = match (id, job) {
                (Some(id), _) => {
                    let asset_ids = [AssetId::new(id.as_str())];
                    download_all(ctx, &ctx.out, id, &asset_ids, output, entry, record).await?
                }
                (None, Some(job_id)) => {
                    let job = ctx.client.job(&JobId::new(job_id.as_str())).await?;
                    if !job.status.is_terminal() {
                        return Err(anyhow::anyhow!(
                            "job {job_id} is still {}: `kling jobs wait {job_id}` waits and downloads",
                            job.status
                        ));
                    }
                    download_outputs(ctx, &ctx.out, &job, job_id, output, entry, record).await?
                }
                (None, None) => return Err(crate::exit::usage("give an asset id or --job JOB_ID")),
            };
            if ctx.out.json {
                let files: Vec<String> = files
                    .iter()
                    .map(|file| file.display().to_string())
                    .collect();
                ctx.out.json(&serde_json::json!({"files": files}))?;
            } else {
                for file in files {
                    ctx.out.result(&file.display().to_string())?;
                }
            }
        }
    }
    Ok(())
}
