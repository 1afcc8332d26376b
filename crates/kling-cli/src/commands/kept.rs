//! What needs no API, only what this machine kept: `kling spend` (the ledger's creative
//! units per day and model) and `kling gallery DIR` (a page for a folder of records).

use std::path::Path;
use std::time::SystemTime;

use crate::history::History;
use crate::output::Output;

/// `kling spend [--since AGE]`: quoted and charged creative units per day (UTC) and
/// model, newest first, with a total.
pub(crate) fn spend(
    out: &Output,
    history: &History,
    since: Option<SystemTime>,
) -> anyhow::Result<()> {
    let rows = history.spend(since)?;
    let (quoted, charged, jobs) =
        rows.iter()
            .fold((0.0, 0.0, 0), |(quoted, charged, jobs), row| {
                (
                    quoted + row.quoted_cu,
                    charged + row.charged_cu,
                    jobs + row.jobs,
                )
            });
    if out.json {
        out.json(&serde_json::json!({"days": rows, "jobs": jobs, "quotedCu": quoted, "chargedCu": charged}))?;
        return Ok(());
    }
    if rows.is_empty() {
        out.note(&format!(
            "nothing spent{} (the ledger is {})",
            if since.is_some() { " in that time" } else { "" },
            history.path().display()
        ));
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|row| row.model.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.result(&format!(
        "{:<10}  {:<width$}  {:>5}  {:>10}  {:>10}",
        "day", "model", "jobs", "quoted CU", "charged CU"
    ))?;
    for row in &rows {
        out.result(&format!(
            "{:<10}  {:<width$}  {:>5}  {:>10}  {:>10}",
            row.day, row.model, row.jobs, row.quoted_cu, row.charged_cu
        ))?;
    }
    out.result(&format!(
        "{:<10}  {:<width$}  {jobs:>5}  {quoted:>10}  {charged:>10}",
        "total", ""
    ))?;
    Ok(())
}

/// `kling gallery DIR`: writes `DIR/index.html` and says what it shows.
pub(crate) fn gallery(out: &Output, dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(crate::exit::usage(format!(
            "{} is not a folder: give the folder that holds the NAME.kling.json records",
            dir.display()
        )));
    }
    let summary = crate::gallery::write(dir)?;
    let page = dir.join(crate::gallery::INDEX);
    if summary.done + summary.failed + summary.unreadable == 0 {
        out.warn(&format!(
            "{} holds no records (NAME.kling.json): the page is empty",
            dir.display()
        ));
    }
    if out.json {
        out.json(&serde_json::json!({
            "page": page.display().to_string(),
            "done": summary.done,
            "failed": summary.failed,
            "unreadable": summary.unreadable,
            "chargedCu": summary.charged_cu,
            "quotedCu": summary.quoted_cu,
        }))?;
    } else {
        out.note(&format!(
            "{} done, {} failed, {} CU charged",
            summary.done, summary.failed, summary.charged_cu
        ));
        out.result(&page.display().to_string())?;
    }
    Ok(())
}
