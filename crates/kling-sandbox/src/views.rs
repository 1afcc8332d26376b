//! The JSON the sandbox answers with, shaped like the real API's (every field the
//! official SDK's types require is present; see `scenario-api.md`).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::state::{Asset, Content, Job, JobNow, Outcome, State, Upload, iso8601, status_changes};

pub(crate) const AUTHOR_ID: &str = "sandbox-user";
pub(crate) const OWNER_ID: &str = "sandbox-project";

/// The `jobType` of every job the sandbox runs: generations are `custom`.
pub(crate) const JOB_TYPE: &str = "custom";

/// The status a job shows: a newer server's status when a fault asks for one, on the
/// job (from its generate: in place of `in-progress`) or on this answer (`odd`, from
/// a read: in place of any status but a terminal one).
pub(crate) fn shown_status<'a>(job: &'a Job, status: &'a str, odd: Option<&'a str>) -> &'a str {
    let terminal = matches!(status, "success" | "failure" | "canceled");
    match (odd, job.odd_status.as_deref(), status) {
        (Some(odd), _, _) if !terminal => odd,
        (_, Some(odd), "in-progress") => odd,
        _ => status,
    }
}

/// A job as `GET /v1/jobs/{jobId}` shows it now.
pub(crate) fn job(state: &State, job: &Job) -> Value {
    job_as(state, job, &state.job_now(job), None)
}

/// A job as it is at `now` (from [`State::job_now`]): status, progress, history and
/// `updatedAt` all come from the same step of its life. `odd` is a status to show in
/// this answer only (an `unknown-status` fault on a read) while the job is not done.
pub(crate) fn job_as(state: &State, job: &Job, now: &JobNow, odd: Option<&str>) -> Value {
    let history: Vec<Value> = status_changes(now.step)
        .map(|index| {
            let status = shown_status(job, job.status_at(index), None);
            json!({"status": status, "date": iso8601(state.step_moment(job, index))})
        })
        .collect();
    let finished = now.is_terminal();
    let mut metadata = json!({"input": job.input, "modelId": job.model_id, "assetIds": []});
    match &job.outcome {
        Outcome::Success if finished => metadata["assetIds"] = json!([job.output_asset]),
        Outcome::Failure { error, hint } if finished => {
            metadata["error"] = json!(error);
            if let Some(hint) = hint {
                metadata["hint"] = json!(hint);
            }
        }
        _ => {}
    }
    json!({
        "jobId": job.id,
        "jobType": JOB_TYPE,
        "status": shown_status(job, now.status, odd),
        "progress": now.progress,
        "metadata": metadata,
        "statusHistory": history,
        "createdAt": iso8601(job.created_at),
        "updatedAt": iso8601(now.updated_at),
        "authorId": AUTHOR_ID,
        "ownerId": OWNER_ID,
        // `cuCostDetails` holds add-ons only (quality gate, …), absent when there are
        // none: the SDK's types say so; the generation itself is `cuCost`.
        "billing": {"cuCost": job.cost, "cuDiscount": 0},
    })
}

/// An asset, with a signed URL valid from now (or already expired), and for a ready
/// video its poster (`(asset id, signed URL)`) as `thumbnail` and `firstFrame`.
pub(crate) fn asset(
    asset: &Asset,
    status: &str,
    updated_at: SystemTime,
    url: &str,
    poster: Option<(&str, &str)>,
) -> Value {
    let mut properties = json!({"size": asset.size()});
    if let Some(width) = asset.width {
        properties["width"] = json!(width);
    }
    if let Some(height) = asset.height {
        properties["height"] = json!(height);
    }
    if let (Some(duration), Content::Video(_)) = (asset.duration_secs, &asset.content) {
        properties["duration"] = json!(duration);
        properties["codecName"] = json!("h264");
    }
    let mut value = json!({
        "id": asset.id,
        "kind": asset.kind,
        "mimeType": asset.mime_type,
        "status": status,
        "url": url,
        "properties": properties,
        "metadata": asset.metadata,
        "createdAt": iso8601(asset.created_at),
        "updatedAt": iso8601(updated_at),
        "authorId": AUTHOR_ID,
        "ownerId": OWNER_ID,
        "privacy": "private",
        "collectionIds": [],
        "tags": [],
        "editCapabilities": [],
        "source": asset.source,
    });
    if let Some((poster_id, poster_url)) = poster {
        let frame = json!({"assetId": poster_id, "url": poster_url});
        value["thumbnail"] = frame.clone();
        value["firstFrame"] = frame;
    }
    value
}

pub(crate) fn upload(upload: &Upload, part_urls: &[(u32, String, String)]) -> Value {
    let parts: Vec<Value> = part_urls
        .iter()
        .map(|(number, url, expires)| json!({"number": number, "url": url, "expires": expires}))
        .collect();
    let mut value = json!({
        "id": upload.id,
        "fileName": upload.file_name,
        "contentType": upload.content_type,
        "fileSize": upload.file_size,
        "kind": upload.kind,
        "parts": parts,
        "status": upload.status,
        "createdAt": iso8601(upload.created_at),
        "updatedAt": iso8601(upload.updated_at),
        "source": "multipart",
        "authorId": AUTHOR_ID,
        "ownerId": OWNER_ID,
    });
    if let Some(asset_id) = &upload.asset_id {
        value["entityId"] = json!(asset_id);
        value["assetId"] = json!(asset_id);
    }
    if let Some(message) = &upload.error_message {
        value["errorMessage"] = json!(message);
    }
    value
}
