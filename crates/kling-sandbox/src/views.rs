//! The JSON the sandbox answers with, shaped like the real API's (every field the
//! official SDK's types require is present; see `scenario-api.md`).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::state::{Asset, Content, Job, LIFE, Outcome, State, Upload, iso8601, later};

pub(crate) const AUTHOR_ID: &str = "sandbox-user";
pub(crate) const OWNER_ID: &str = "sandbox-project";

/// A job as `GET /v1/jobs/{jobId}` shows it now.
pub(crate) fn job(state: &State, job: &Job) -> Value {
    let duration = state.config.job_duration;
    let age = state.now().saturating_sub(job.created);
    let now = job.progress(age, duration);
    // A newer server's status, shown in place of `in-progress` when a fault asks.
    let shown = |status: &str| match (&job.odd_status, status) {
        (Some(odd), "in-progress") => odd.clone(),
        _ => status.to_owned(),
    };
    let at = |fraction: f64| {
        iso8601(later(
            job.created_at,
            state.real(duration.mul_f64(fraction)),
        ))
    };
    let mut history: Vec<Value> = LIFE
        .iter()
        .filter(|(_, start)| {
            duration.is_zero() || age.as_secs_f64() >= start * duration.as_secs_f64()
        })
        .map(|(status, start)| json!({"status": shown(status), "date": at(*start)}))
        .collect();
    let finished = matches!(now.status, "success" | "failure" | "canceled");
    if finished {
        history.push(json!({"status": now.status, "date": at(1.0)}));
    }
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
    let updated = if finished {
        at(1.0)
    } else {
        iso8601(SystemTime::now())
    };
    json!({
        "jobId": job.id,
        "jobType": "custom",
        "status": shown(now.status),
        "progress": now.progress,
        "metadata": metadata,
        "statusHistory": history,
        "createdAt": iso8601(job.created_at),
        "updatedAt": updated,
        "authorId": AUTHOR_ID,
        "ownerId": OWNER_ID,
        // `cuCostDetails` holds add-ons only (quality gate, …), absent when there are
        // none: the SDK's types say so; the generation itself is `cuCost`.
        "billing": {"cuCost": job.cost, "cuDiscount": 0},
    })
}

/// An asset, with a signed URL valid from now (or already expired).
pub(crate) fn asset(asset: &Asset, status: &str, url: &str) -> Value {
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
    json!({
        "id": asset.id,
        "kind": asset.kind,
        "mimeType": asset.mime_type,
        "status": status,
        "url": url,
        "properties": properties,
        "metadata": asset.metadata,
        "createdAt": iso8601(asset.created_at),
        "updatedAt": iso8601(asset.created_at),
        "authorId": AUTHOR_ID,
        "ownerId": OWNER_ID,
        "privacy": "private",
        "collectionIds": [],
        "tags": [],
        "editCapabilities": [],
        "source": asset.source,
    })
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
