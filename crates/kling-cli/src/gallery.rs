//! `index.html`: a page to look at a folder of outputs, built from their records
//! (`NAME.kling.json`, see [`crate::records`]). One card per record: the video with its
//! poster, the prompt and parameters, the status (a failure with the server's reason and
//! hint), the cost and the job id; a summary on top (done, failed, creative units).
//!
//! The page works offline from the file system: every path is relative to the folder,
//! there is no script, no font and nothing else from the network, and one stylesheet in
//! the page lays the cards out at phone and desktop widths. Every string that comes
//! from a request, a server or a file name is escaped ([`escape`], [`href`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::records::{self, Record};

/// The page's file name.
pub(crate) const INDEX: &str = "index.html";

/// What a gallery shows on top.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) done: usize,
    pub(crate) failed: usize,
    /// Records that could not be read (listed on the page, by file name).
    pub(crate) unreadable: usize,
    pub(crate) charged_cu: f64,
    pub(crate) quoted_cu: f64,
}

/// Builds `index.html` from the records in `dir` and writes it atomically; returns what
/// its summary says. Two passes over the records (the summary, then the cards, streamed
/// to the file): a folder of 10,000 records is never held in memory whole.
pub(crate) fn write(dir: &Path) -> anyhow::Result<Summary> {
    let paths = records::paths_in_folder(dir)?;
    let title = dir
        .canonicalize()
        .ok()
        .and_then(|dir| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| dir.display().to_string());
    let read = |path: &std::path::PathBuf| {
        (
            records::stem_of(path),
            records::read(path).map_err(|error| format!("{error:#}")),
        )
    };
    let mut summary = Summary::default();
    for path in &paths {
        summary.count(&read(path).1);
    }
    let page = dir.join(INDEX);
    records::write_atomically_with(&page, |file| {
        file.write_all(head(&title, &summary).as_bytes())?;
        let mut text = String::new();
        for path in &paths {
            let (name, record) = read(path);
            text.clear();
            card(&mut text, &name, &record);
            file.write_all(text.as_bytes())?;
        }
        file.write_all(TAIL.as_bytes())
    })
    .with_context(|| format!("cannot write {}", page.display()))?;
    Ok(summary)
}

impl Summary {
    fn count(&mut self, record: &Result<Record, String>) {
        match record {
            Ok(record) => {
                if is_done(record) {
                    self.done += 1;
                } else {
                    self.failed += 1;
                }
                self.charged_cu += record.cost.charged_cu.unwrap_or(0.0);
                self.quoted_cu += record.cost.quoted_cu.unwrap_or(0.0);
            }
            Err(_) => self.unreadable += 1,
        }
    }
}

fn is_done(record: &Record) -> bool {
    record.status == "success" && record.file.is_some()
}

/// The page of `cards` (each a record's name and the record, or why it is unreadable),
/// in memory: what [`write`] streams to the file.
#[cfg(test)]
pub(crate) fn page(title: &str, cards: &[(String, Result<Record, String>)]) -> (String, Summary) {
    let mut summary = Summary::default();
    for (_, record) in cards {
        summary.count(record);
    }
    let mut html = head(title, &summary);
    for (name, record) in cards {
        card(&mut html, name, record);
    }
    html.push_str(TAIL);
    (html, summary)
}

/// The page up to its first card.
fn head(title: &str, summary: &Summary) -> String {
    let unreadable = if summary.unreadable > 0 {
        format!(
            " <span class=\"bad\">{} unreadable</span>",
            summary.unreadable
        )
    } else {
        String::new()
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · kling</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>{title}</h1>\n<p class=\"summary\">\
         <span class=\"done\">{done} done</span> \
         <span class=\"failed\">{failed} failed</span> \
         <span class=\"cu\">{charged} CU charged ({quoted} quoted)</span>{unreadable}</p>\n\
         </header>\n<main class=\"cards\">\n",
        title = escape(title),
        done = summary.done,
        failed = summary.failed,
        charged = summary.charged_cu,
        quoted = summary.quoted_cu,
    )
}

/// The page after its last card.
const TAIL: &str = concat!(
    "</main>\n<footer>Made by kling ",
    env!("CARGO_PKG_VERSION"),
    " from the records (*.kling.json) in this folder.</footer>\n</body>\n</html>\n"
);

/// One card: a record, or why it could not be read.
fn card(out: &mut String, name: &str, record: &Result<Record, String>) {
    match record {
        Ok(record) => record_card(out, name, record),
        Err(reason) => {
            let _ = writeln!(
                out,
                "<article class=\"card bad\"><div class=\"text\"><h2>{}</h2>\
                 <p class=\"status\">unreadable record</p><p class=\"error\">{}</p></div></article>",
                escape(name),
                escape(reason)
            );
        }
    }
}

fn record_card(out: &mut String, name: &str, record: &Record) {
    let ok = is_done(record);
    let _ = writeln!(
        out,
        "<article class=\"card {}\" id=\"{}\">",
        if ok { "ok" } else { "failed" },
        escape(name)
    );
    match &record.file {
        Some(file) => {
            let poster = record
                .poster
                .as_deref()
                .map(|poster| format!(" poster=\"{}\"", escape(&href(poster))))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<video controls preload=\"metadata\"{poster} src=\"{}\"></video>",
                escape(&href(&file.name))
            );
        }
        None => out.push_str("<div class=\"nofile\">no video</div>\n"),
    }
    let _ = write!(
        out,
        "<div class=\"text\">\n<h2>{}</h2>\n<p class=\"status\">{}</p>\n",
        escape(name),
        escape(&record.status)
    );
    if let Some(error) = &record.error {
        let _ = writeln!(out, "<p class=\"error\">{}</p>", escape(error));
    }
    if let Some(hint) = &record.hint {
        let _ = writeln!(out, "<p class=\"hint\">{}</p>", escape(hint));
    }
    if let Some(prompt) = record.prompt() {
        let _ = writeln!(out, "<p class=\"prompt\">{}</p>", escape(prompt));
    }
    if let Value::Object(request) = &record.request {
        let params: Vec<(&String, &Value)> =
            request.iter().filter(|(key, _)| *key != "prompt").collect();
        if !params.is_empty() {
            out.push_str("<dl class=\"params\">");
            for (key, value) in params {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(key), escape(&value));
            }
            out.push_str("</dl>\n");
        }
    }
    let cost = match (record.cost.charged_cu, record.cost.quoted_cu) {
        (Some(charged), _) => format!("{charged} CU"),
        (None, Some(quoted)) => format!("{quoted} CU quoted"),
        (None, None) => "cost unknown".to_owned(),
    };
    let job = record.job_id.as_deref().unwrap_or("no job");
    let _ = write!(
        out,
        "<p class=\"meta\"><span class=\"cost\">{}</span> · <code>{}</code> · {}</p>\n</div>\n</article>\n",
        escape(&cost),
        escape(job),
        escape(&record.model.id)
    );
}

/// The page's only stylesheet: a grid of cards, one column on a phone.
const STYLE: &str = "
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #f5f5f7; --card: #fff; --muted: #6e6e73; --bad: #c62828; --ok: #2e7d32; }
@media (prefers-color-scheme: dark) { :root { --fg: #f5f5f7; --bg: #111; --card: #1e1e20; --muted: #a1a1a6; --bad: #ef5350; --ok: #66bb6a; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header h1 { margin: 0 0 .25rem; font-size: 1.4rem; overflow-wrap: anywhere; }
.summary span { display: inline-block; margin-right: .75rem; font-weight: 600; }
.summary .done { color: var(--ok); } .summary .failed, .summary .bad { color: var(--bad); }
.cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 320px), 1fr)); margin-top: 1rem; }
.card { background: var(--card); border-radius: 10px; overflow: hidden; box-shadow: 0 1px 3px rgba(0,0,0,.15); display: flex; flex-direction: column; }
.card.failed, .card.bad { border-top: 4px solid var(--bad); }
video, .nofile { width: 100%; aspect-ratio: 16 / 9; background: #000; display: block; object-fit: contain; }
.nofile { display: flex; align-items: center; justify-content: center; color: #bbb; }
.text { padding: .6rem .8rem .8rem; }
.text h2 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
.status { margin: .1rem 0; color: var(--muted); font-size: .85rem; }
.card.failed .status, .error { color: var(--bad); }
.error, .hint { margin: .3rem 0; } .hint { color: var(--muted); font-style: italic; }
.prompt { margin: .4rem 0; overflow-wrap: anywhere; }
.params { display: grid; grid-template-columns: auto 1fr; gap: 0 .6rem; margin: .4rem 0; font-size: .85rem; }
.params dt { color: var(--muted); } .params dd { margin: 0; overflow-wrap: anywhere; }
.meta { margin: .4rem 0 0; font-size: .8rem; color: var(--muted); overflow-wrap: anywhere; }
footer { margin-top: 1.5rem; font-size: .8rem; color: var(--muted); }
";

/// `text` safe inside HTML text and inside a double- or single-quoted attribute: `&`,
/// `<`, `>`, `"` and `'` become entities (see the tests for examples).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A file name of the folder as a relative URL: every byte outside RFC 3986's
/// unreserved set percent-encoded (so `#`, `?`, `:` or a space in a name cannot turn it
/// into a fragment, a query, a scheme or two words). Escape it for HTML as well.
pub(crate) fn href(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Cost, FileFacts, Provenance};

    fn record(prompt: &str, file: Option<&str>) -> Record {
        let mut record = Record::of_job(
            &Provenance {
                model: Some("model_kling-v1-6-pro".to_owned()),
                request: Some(
                    serde_json::json!({"prompt": prompt, "duration": 5, "aspectRatio": "16:9"}),
                ),
                quoted_cu: Some(40.0),
            },
            None,
        );
        record.status = "success".to_owned();
        record.job_id = Some("job_<1>".to_owned());
        record.file = file.map(|name| FileFacts {
            name: name.to_owned(),
            size: 1,
            sha256: String::new(),
        });
        record.cost = Cost {
            quoted_cu: Some(40.0),
            charged_cu: Some(40.0),
        };
        record
    }

    #[test]
    fn escaping_covers_text_and_both_quotes() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(href("my fox#1?.mp4"), "my%20fox%231%3F.mp4");
        assert_eq!(href("renard-été.mp4"), "renard-%C3%A9t%C3%A9.mp4");
    }

    #[test]
    fn no_string_from_a_request_or_a_server_reaches_the_page_unescaped() {
        let hostile = "<script>alert(1)</script>\" onload=\"x";
        let mut failed = record(hostile, None);
        failed.status = "failure".to_owned();
        failed.error = Some("<img src=x onerror=alert(2)>".to_owned());
        failed.hint = Some("try 'again' & <b>again</b>".to_owned());
        let cards = vec![
            (
                "fox\"><i>".to_owned(),
                Ok(record(hostile, Some("a\"b.mp4"))),
            ),
            ("hare".to_owned(), Ok(failed)),
            ("torn".to_owned(), Err("<bad> record".to_owned())),
        ];
        let (html, summary) = page("<folder>", &cards);
        for raw in [
            "<script>",
            "<img",
            "<b>",
            "<bad>",
            "<i>",
            "<folder>",
            "\" onload",
        ] {
            assert!(!html.contains(raw), "{raw} is on the page unescaped");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x"));
        assert!(html.contains("src=\"a%22b.mp4\""));
        assert_eq!(
            summary,
            Summary {
                done: 1,
                failed: 1,
                unreadable: 1,
                charged_cu: 80.0,
                quoted_cu: 80.0
            }
        );
        assert!(html.contains("1 done"), "{html}");
        assert!(html.contains("80 CU charged (80 quoted)"));
    }

    #[test]
    fn the_page_loads_nothing_from_the_network() {
        let (html, _) = page(
            "batch",
            &[("fox".to_owned(), Ok(record("a fox", Some("fox.mp4"))))],
        );
        assert!(!html.contains("<script"), "no script");
        assert!(
            !html.contains("http:") && !html.contains("https:"),
            "no URL: {html}"
        );
        assert!(
            !html.contains("@import") && !html.contains("url("),
            "no remote style"
        );
        assert!(html.contains("<video controls preload=\"metadata\" src=\"fox.mp4\">"));
        assert!(html.contains("name=\"viewport\""));
    }
}
