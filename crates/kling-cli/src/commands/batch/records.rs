//! What `kling batch` keeps of its lines as records (see [`crate::records`]): the
//! provenance of a line's outputs, the record of a line whose job failed, and a folder
//! of records read as a batch file (each record one line, its request as it was sent).

use std::path::Path;

use serde_json::Value;

use super::input::{BadLine, Line};
use crate::history::EventKind;
use crate::records::{self, Provenance, Record};

/// What a line sent (`params`: its own, each local file's asset id in its place), for
/// the records of its outputs.
pub(super) fn provenance_of_line(line: &Line, params: Value, quoted_cu: Option<f64>) -> Provenance {
    Provenance {
        model: Some(line.model.to_owned()),
        request: Some(params),
        quoted_cu,
    }
}

/// A line's job failed (or was canceled): the ledger is told how it ended, and the line
/// gets its record (unless `--no-record`). Neither stops the run: a warning says what
/// could not be written.
pub(super) async fn line_failed(
    run: &super::Run<'_>,
    task: &mut super::Task,
    error: Option<&kling_client::Error>,
) {
    let status = match error {
        Some(kling_client::Error::JobCanceled { .. }) => "canceled",
        _ => "failure",
    };
    let ended = EventKind::Finished {
        status: status.to_owned(),
    };
    if let Err(error) = run.ctx.record_async(&task.entry(), ended).await {
        run.ctx.out.warn(&format!("{error:#}"));
    }
    let Some(error) = error.filter(|_| !run.args.no_record) else {
        return;
    };
    let params = run.uploads.params_of(&task.line);
    let record = failure_record(&task.line, params, task.known(), error);
    let path = run
        .args
        .out
        .join(format!("{}{}", task.name, records::SUFFIX));
    let written = tokio::task::spawn_blocking(move || records::write(&path, &record))
        .await
        .map_err(anyhow::Error::from)
        .and_then(|written| written);
    if let Err(error) = written {
        run.ctx.out.warn(&format!("{error:#}"));
    }
}

/// The record of a line whose job failed: no file, the server's reason and hint (a rerun
/// with `--retry-failed` that succeeds replaces it).
fn failure_record(
    line: &Line,
    params: Value,
    known: &super::journal::Known,
    error: &kling_client::Error,
) -> Record {
    let provenance = provenance_of_line(line, params, known.quoted_cu);
    let mut record = Record::of_job(&provenance, None);
    record.job_id = known.job_id.clone();
    record.cost.charged_cu = known.charged_cu;
    match error {
        kling_client::Error::JobFailed { reason, hint, .. } => {
            record.status = "failure".to_owned();
            record.error = Some(reason.clone());
            record.hint = hint.clone();
        }
        kling_client::Error::JobCanceled { .. } => {
            record.status = "canceled".to_owned();
            record.error = Some("the job was canceled".to_owned());
        }
        other => {
            record.status = "failure".to_owned();
            record.error = Some(other.to_string());
        }
    }
    record
}

/// A folder of records as the text of a batch file: line N is the request of the Nth
/// record (by file name) with its model and its name; a record that cannot be read or
/// rerun is an empty line here and a bad line by that number.
pub(super) fn folder_as_batch(dir: &Path) -> anyhow::Result<(String, Vec<BadLine>)> {
    let mut text = String::new();
    let mut bad = Vec::new();
    let found = records::in_folder(dir)?;
    if found.is_empty() {
        anyhow::bail!(
            "{} holds no records ({}): give a JSON Lines file, or a folder that `kling batch` or `kling generate` wrote",
            dir.display(),
            records::SUFFIX
        );
    }
    for (index, (path, record)) in found.into_iter().enumerate() {
        match record.and_then(|record| as_line(&path, &record)) {
            Ok(line) => text.push_str(&line),
            Err(error) => bad.push(BadLine {
                number: index + 1,
                reason: format!("{error:#}"),
            }),
        }
        text.push('\n');
    }
    Ok((text, bad))
}

/// One record as a batch line: `{"model": …, "name": …, …request}`.
fn as_line(path: &Path, record: &Record) -> anyhow::Result<String> {
    let Value::Object(request) = &record.request else {
        anyhow::bail!(
            "{} keeps no request (its job was not started from this machine): it cannot be rerun",
            path.display()
        );
    };
    let mut line = serde_json::Map::new();
    line.insert("model".to_owned(), Value::from(record.model.id.as_str()));
    line.insert("name".to_owned(), Value::from(records::stem_of(path)));
    line.extend(request.clone());
    Ok(Value::Object(line).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_records_reads_as_one_line_each_in_file_order() {
        let dir = crate::scratch::Scratch::new("batch-records");
        let mut record = Record::of_job(
            &Provenance {
                model: Some("model_kling-v1-6-pro".to_owned()),
                request: Some(serde_json::json!({"prompt": "a fox", "duration": 5})),
                quoted_cu: None,
            },
            None,
        );
        records::write(&dir.0.join("b-fox.kling.json"), &record).unwrap();
        record.request = Value::Null;
        records::write(&dir.0.join("a-lost.kling.json"), &record).unwrap();
        std::fs::write(dir.0.join("c-torn.kling.json"), "{\"version\": 1, ").unwrap();
        std::fs::write(dir.0.join("notes.txt"), "not a record").unwrap();

        let (text, bad) = folder_as_batch(&dir.0).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            r#"{"model":"model_kling-v1-6-pro","name":"b-fox","prompt":"a fox","duration":5}"#
        );
        let numbers: Vec<usize> = bad.iter().map(|bad| bad.number).collect();
        assert_eq!(numbers, [1, 3]);
        assert!(
            bad[0].reason.contains("keeps no request"),
            "{}",
            bad[0].reason
        );
        assert!(
            bad[1].reason.contains("is not a kling record"),
            "{}",
            bad[1].reason
        );
    }

    #[test]
    fn a_folder_without_records_is_refused_with_what_to_give() {
        let dir = crate::scratch::Scratch::new("batch-no-records");
        let error = folder_as_batch(&dir.0).unwrap_err();
        assert!(error.to_string().contains("holds no records"));
    }
}
