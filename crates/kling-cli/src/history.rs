//! The ledger (the local job history): every submit is written here before its answer is
//! awaited, and updated as the job goes on, so that no paid job is lost to a crash or a
//! closed terminal. A SQLite database in the platform's data folder (`KLING_DATA_DIR`
//! overrides it), `history.sqlite3`.
//!
//! Two tables, written together: `events`, every event as it came (append-only: the
//! audit trail), and `entries`, one row per submit with what is known of it now (model,
//! parameters, output, job, status, files, quoted and charged creative units), which the
//! queries read (`kling jobs history`, `kling spend`, `--last`). One writer thread per
//! process commits the events waiting for it in one transaction (group commit: a batch
//! whose lines end together syncs once), and answers each writer once it is durable.
//!
//! - Durable: WAL with `synchronous = FULL`, so a committed event survives a crash or a
//!   power cut, and a crash mid-write loses at most the event being written.
//! - Concurrent: any number of `kling` processes write at once; a writer waits for
//!   another (busy timeout) rather than failing, and readers never wait.
//! - Migrations by `PRAGMA user_version`, each in a transaction that re-checks the
//!   version (two processes opening an old database migrate it once).
//! - The JSON Lines history of earlier versions (`history.jsonl`, format 1 and 2) is
//!   imported on first use, in the same transaction that marks it imported (by the
//!   SHA-256 of its content); the file is then renamed `history.jsonl.imported` (`.2`,
//!   … should an older kling write another) and kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::append_log::read_records;

/// The database's file name in the data folder.
const DATABASE: &str = "history.sqlite3";
/// The JSON Lines history of kling 0.1 (imported, then renamed with [`IMPORTED`]).
const LEGACY: &str = "history.jsonl";
const IMPORTED: &str = ".imported";
/// The newest format of the JSON Lines history this kling imports.
const LEGACY_FORMAT: u32 = 2;
/// How long a writer waits for another process's write before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// The most events committed in one transaction.
const MAX_GROUP: usize = 512;

/// The schema, one migration per `user_version` step (index 0 takes 0 to 1).
const MIGRATIONS: &[&str] = &["
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        entry TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        entry TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        model TEXT NOT NULL,
        params TEXT NOT NULL,
        output TEXT,
        job_id TEXT,
        status TEXT,
        files TEXT NOT NULL DEFAULT '[]',
        quoted_cu REAL,
        charged_cu REAL
    );
    CREATE INDEX entries_by_entry ON entries (entry);
    CREATE INDEX entries_by_job ON entries (job_id);
    CREATE INDEX entries_by_time ON entries (submitted_at);
    -- The JSON Lines histories imported, by the SHA-256 of their content.
    CREATE TABLE imports (name TEXT PRIMARY KEY, at TEXT NOT NULL);
"];

/// One line of the JSON Lines history of earlier versions.
#[derive(Debug, Deserialize)]
struct LegacyEvent {
    /// The format version (absent in version 1).
    #[serde(default = "version_1")]
    v: u32,
    entry: String,
    at: String,
    #[serde(flatten)]
    kind: EventKind,
}

fn version_1() -> u32 {
    1
}

/// What happened to an entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub(crate) enum EventKind {
    /// About to send: the model, the parameters and where the output should go.
    #[serde(rename_all = "camelCase")]
    Submitting {
        model: String,
        params: Value,
        output: Option<String>,
    },
    /// The API answered with a job (or the job was found again).
    #[serde(rename_all = "camelCase")]
    Submitted { job_id: String },
    /// The job ended.
    Finished { status: String },
    /// Its outputs were downloaded.
    Downloaded { files: Vec<String> },
    /// What the job costs in creative units: quoted when it was started, charged
    /// (`billing.cuCost`) once it ended.
    #[serde(rename_all = "camelCase")]
    Cost {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_cu: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charged_cu: Option<f64>,
    },
}

impl EventKind {
    fn name(&self) -> &'static str {
        match self {
            Self::Submitting { .. } => "submitting",
            Self::Submitted { .. } => "submitted",
            Self::Finished { .. } => "finished",
            Self::Downloaded { .. } => "downloaded",
            Self::Cost { .. } => "cost",
        }
    }
}

/// Everything known about one submit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub(crate) entry: String,
    pub(crate) submitted_at: String,
    pub(crate) model: String,
    pub(crate) params: Value,
    pub(crate) output: Option<String>,
    pub(crate) job_id: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quoted_cu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) charged_cu: Option<f64>,
}

/// Which entries a query wants (all of them by default), newest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    /// Submitted at or after this time.
    pub(crate) since: Option<SystemTime>,
    /// In this status (`success`, `failure`, …; `submitted` for a job not seen to end,
    /// `unknown` for a submit whose answer was lost).
    pub(crate) status: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) limit: Option<usize>,
}

/// What one model cost on one day (UTC).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpendRow {
    /// `YYYY-MM-DD`.
    pub(crate) day: String,
    pub(crate) model: String,
    pub(crate) jobs: u64,
    pub(crate) quoted_cu: f64,
    pub(crate) charged_cu: f64,
}

/// The ledger.
#[derive(Clone, Debug)]
pub(crate) struct History {
    path: PathBuf,
    /// Opened on first use (most commands never touch the ledger).
    ledger: Arc<OnceLock<Ledger>>,
}

/// The open ledger: a connection to read, and a writer thread with a connection of its
/// own that commits the events waiting for it together (one transaction and one sync
/// for all the lines of a batch that ended at once), answering each once it is durable.
#[derive(Debug)]
struct Ledger {
    reader: Mutex<Connection>,
    writer: mpsc::Sender<Pending>,
}

/// An event on its way to the writer thread, and who waits for it.
#[derive(Debug)]
struct Pending {
    entry: String,
    at: String,
    kind: EventKind,
    durable: Reply,
}

/// What the writer thread answers an event: committed, or the database's error (one
/// for the whole group of events it was written with, hence shared).
type Written = Result<(), Arc<rusqlite::Error>>;

#[derive(Debug)]
enum Reply {
    Async(tokio::sync::oneshot::Sender<Written>),
    Blocking(mpsc::Sender<Written>),
}

impl History {
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(DATABASE),
            ledger: Arc::new(OnceLock::new()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A new entry id: unique on this machine.
    pub(crate) fn new_entry() -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{}-{}-{}",
            now.as_secs(),
            now.subsec_nanos(),
            std::process::id()
        )
    }

    /// Checks, before anything paid is sent, that events can be written: the folder is
    /// made and the database opened (created and migrated when missing). A failure is a
    /// usage error (exit 2) naming the path and what to do.
    pub(crate) fn ensure_writable(&self) -> anyhow::Result<()> {
        let what_to_do = "set KLING_DATA_DIR to a folder you can write to";
        if let Some(file) = self.path.ancestors().skip(1).find(|part| part.is_file()) {
            return Err(crate::exit::usage(format!(
                "cannot write the job history {}: {} is a file, not a folder: {what_to_do}",
                self.path.display(),
                file.display()
            )));
        }
        self.ledger().map_err(|error| {
            crate::exit::usage(format!(
                "cannot write the job history {}: {}: {what_to_do}",
                self.path.display(),
                crate::exit::message(&error)
            ))
        })?;
        Ok(())
    }

    /// Records an event; it is durable when this returns.
    pub(crate) fn record(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        let (durable, written) = mpsc::channel();
        self.send(entry, kind, Reply::Blocking(durable))?;
        self.written(written.recv().ok())
    }

    /// [`Self::record`] without blocking the async runtime while the disk works.
    pub(crate) async fn record_async(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        let (durable, written) = tokio::sync::oneshot::channel();
        self.send(entry, kind, Reply::Async(durable))?;
        self.written(written.await.ok())
    }

    fn send(&self, entry: &str, kind: EventKind, durable: Reply) -> anyhow::Result<()> {
        let pending = Pending {
            entry: entry.to_owned(),
            at: kling_types::__private::time::format_iso8601(SystemTime::now()),
            kind,
            durable,
        };
        self.ledger()?
            .writer
            .send(pending)
            .map_err(|_| anyhow::anyhow!("the job history's writer stopped"))
    }

    /// What the writer thread answered (`None`: it stopped without answering).
    fn written(&self, answer: Option<Written>) -> anyhow::Result<()> {
        match answer {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(anyhow::Error::new(error).context(format!(
                "cannot write the job history {}",
                self.path.display()
            ))),
            None => Err(anyhow::anyhow!("the job history's writer stopped")),
        }
    }

    /// The ledger, opened, migrated and the JSON Lines history imported on first use.
    fn ledger(&self) -> anyhow::Result<&Ledger> {
        if let Some(ledger) = self.ledger.get() {
            return Ok(ledger);
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the history folder {}", dir.display()))?;
        }
        let shown = self.path.display();
        let mut reader =
            open(&self.path).with_context(|| format!("cannot open the job history {shown}"))?;
        import_legacy(&mut reader, &self.path.with_file_name(LEGACY))?;
        let writer =
            open(&self.path).with_context(|| format!("cannot open the job history {shown}"))?;
        let (sender, pending) = mpsc::channel();
        std::thread::Builder::new()
            .name("kling-ledger".to_owned())
            .spawn(move || write_groups(writer, &pending))
            .context("cannot start the job history's writer")?;
        Ok(self.ledger.get_or_init(|| Ledger {
            reader: Mutex::new(reader),
            writer: sender,
        }))
    }

    /// The connection that reads.
    fn reader(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Connection>> {
        Ok(self
            .ledger()?
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// Every entry, oldest first.
    pub(crate) fn entries(&self) -> anyhow::Result<Vec<Entry>> {
        let mut entries = self.query(&Query::default())?;
        entries.reverse();
        Ok(entries)
    }

    /// The entries a query asks for, newest first.
    pub(crate) fn query(&self, query: &Query) -> anyhow::Result<Vec<Entry>> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        let connection = self.reader()?;
        select(&connection, query)
            .with_context(|| format!("cannot read the job history {}", self.path.display()))
    }

    /// Creative units per day (UTC) and model, newest day first: quoted and charged.
    pub(crate) fn spend(&self, since: Option<SystemTime>) -> anyhow::Result<Vec<SpendRow>> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        let connection = self.reader()?;
        spend(&connection, since)
            .with_context(|| format!("cannot read the job history {}", self.path.display()))
    }

    /// Whether there is anything to read: the database, or a history to import.
    fn exists(&self) -> bool {
        self.path.exists() || self.path.with_file_name(LEGACY).exists()
    }

    /// The entry of a job.
    pub(crate) fn find_job(&self, job_id: &str) -> anyhow::Result<Option<Entry>> {
        if !self.exists() {
            return Ok(None);
        }
        let connection = self.reader()?;
        let found = connection
            .query_row(
                &format!("{SELECT_ENTRY} WHERE job_id = ?1 ORDER BY id DESC LIMIT 1"),
                [job_id],
                entry_of_row,
            )
            .optional()
            .with_context(|| format!("cannot read the job history {}", self.path.display()))?;
        Ok(found)
    }
}

/// `PRAGMA cache_size` of each connection: negative, so in KiB (not in pages).
const CACHE_KIB: i64 = -512;

/// Opens (creating) the database and brings its schema to the newest version.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let mut connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers do not block the writer nor the writer them; FULL: every commit is
    // synced, so a committed event survives a power cut.
    enable_wal(&connection)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    // A page cache of 512 KiB (SQLite's default is 2 MiB per connection): the ledger's
    // work is appending rows and updating one by its key, which needs the upper levels
    // of two B-trees, not the whole file; a batch of 10,000 lines keeps its memory.
    connection.pragma_update(None, "cache_size", CACHE_KIB)?;
    migrate(&mut connection)?;
    Ok(connection)
}

/// Puts the database in WAL mode (kept in the file: done once). Switching needs the
/// database alone, and SQLite answers `SQLITE_BUSY` at once, without its busy handler,
/// while another process has it open (two `kling` started together on a new ledger): so
/// the switch is tried again, with growing pauses, for up to the busy timeout.
fn enable_wal(connection: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let mode: String = connection.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Applies the migrations the database has not had, each in a write transaction that
/// reads the version again (another process may have migrated it meanwhile).
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 =
            transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|version| MIGRATIONS.get(version))
        else {
            // Up to date, or written by a newer kling (whose migrations only add).
            return transaction.commit();
        };
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", version + 1)?;
        transaction.commit()?;
    }
}

/// The writer thread: takes the events waiting (up to [`MAX_GROUP`]), writes them in one
/// transaction, and tells each one's writer once it is committed (or why not). Ends when
/// every sender is gone.
fn write_groups(mut connection: Connection, pending: &mpsc::Receiver<Pending>) {
    while let Ok(first) = pending.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let outcome = apply(&mut connection, &group).map_err(Arc::new);
        for event in group {
            // A writer that stopped waiting (its task was dropped) needs no answer.
            let _ = match event.durable {
                Reply::Async(durable) => durable.send(outcome.clone()).map_err(drop),
                Reply::Blocking(durable) => durable.send(outcome.clone()).map_err(drop),
            };
        }
    }
}

/// Writes events: each appended to `events` and folded into its entry, all in one
/// transaction.
fn apply(connection: &mut Connection, group: &[Pending]) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for event in group {
        fold(&transaction, &event.entry, &event.at, &event.kind)?;
    }
    transaction.commit()
}

/// One event of [`apply`], inside its transaction.
fn fold(connection: &Connection, entry: &str, at: &str, kind: &EventKind) -> rusqlite::Result<()> {
    let data = serde_json::to_string(kind).unwrap_or_default();
    connection.execute(
        "INSERT INTO events (entry, at, kind, data) VALUES (?1, ?2, ?3, ?4)",
        params![entry, at, kind.name(), data],
    )?;
    // An entry submitted again (a batch line's retry) is a new row: the latest row of
    // an entry is the one later events change.
    let latest = "id = (SELECT max(id) FROM entries WHERE entry = ?1)";
    match kind {
        EventKind::Submitting {
            model,
            params,
            output,
        } => connection.execute(
            "INSERT INTO entries (entry, submitted_at, model, params, output) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![entry, at, model, params.to_string(), output],
        )?,
        EventKind::Submitted { job_id } => connection.execute(
            &format!("UPDATE entries SET job_id = ?2 WHERE {latest}"),
            params![entry, job_id],
        )?,
        EventKind::Finished { status } => connection.execute(
            &format!("UPDATE entries SET status = ?2 WHERE {latest}"),
            params![entry, status],
        )?,
        EventKind::Downloaded { files } => connection.execute(
            &format!("UPDATE entries SET files = ?2 WHERE {latest}"),
            params![entry, serde_json::to_string(files).unwrap_or_default()],
        )?,
        EventKind::Cost {
            quoted_cu,
            charged_cu,
        } => connection.execute(
            &format!(
                "UPDATE entries SET quoted_cu = coalesce(?2, quoted_cu), charged_cu = coalesce(?3, charged_cu) WHERE {latest}"
            ),
            params![entry, quoted_cu, charged_cu],
        )?,
    };
    Ok(())
}

/// Imports the JSON Lines history of earlier versions once: its events and the mark that
/// it was imported go in one transaction, then the file is renamed (a crash before the
/// rename only leaves the rename for next time).
fn import_legacy(connection: &mut Connection, legacy: &Path) -> anyhow::Result<()> {
    if !legacy.exists() {
        return Ok(());
    }
    let shown = legacy.display();
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("cannot import the history {shown}"))?;
    // Known by its content: the same file again (a crash before the rename) is not
    // imported twice, and a new one (an older kling ran since) is imported too.
    let bytes =
        std::fs::read(legacy).with_context(|| format!("cannot read the history {shown}"))?;
    let digest = crate::records::sha256_hex(&bytes);
    let imported: bool = transaction
        .query_row(
            "SELECT count(*) FROM imports WHERE name = ?1",
            [&digest],
            |row| row.get::<_, i64>(0),
        )
        .map(|count| count > 0)
        .with_context(|| format!("cannot import the history {shown}"))?;
    if !imported {
        let records =
            read_records(legacy).with_context(|| format!("cannot read the history {shown}"))?;
        for event in records
            .iter()
            .filter_map(|(_, line)| serde_json::from_str::<LegacyEvent>(line).ok())
            .filter(|event| event.v <= LEGACY_FORMAT)
        {
            fold(&transaction, &event.entry, &event.at, &event.kind)
                .with_context(|| format!("cannot import the history {shown}"))?;
        }
        transaction
            .execute(
                "INSERT INTO imports (name, at) VALUES (?1, ?2)",
                params![
                    digest,
                    kling_types::__private::time::format_iso8601(SystemTime::now())
                ],
            )
            .with_context(|| format!("cannot import the history {shown}"))?;
    }
    transaction
        .commit()
        .with_context(|| format!("cannot import the history {shown}"))?;
    // An earlier import's file is never replaced: `.imported`, `.imported.2`, ….
    let kept = (1..)
        .map(|n| {
            let mut kept = legacy.as_os_str().to_owned();
            kept.push(IMPORTED);
            if n > 1 {
                kept.push(format!(".{n}"));
            }
            PathBuf::from(kept)
        })
        .find(|kept| !kept.exists())
        .unwrap_or_else(|| legacy.with_extension("jsonl.imported"));
    // Another process may have renamed it first: then it is gone, which is what we want.
    match std::fs::rename(legacy, &kept) {
        Err(error) if legacy.exists() => Err(error).with_context(|| {
            format!("imported {shown}, but cannot rename it (rename it yourself)")
        }),
        _ => Ok(()),
    }
}

const SELECT_ENTRY: &str = "SELECT entry, submitted_at, model, params, output, job_id, status, files, quoted_cu, charged_cu FROM entries";

fn entry_of_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let params: String = row.get(3)?;
    let files: String = row.get(7)?;
    Ok(Entry {
        entry: row.get(0)?,
        submitted_at: row.get(1)?,
        model: row.get(2)?,
        params: serde_json::from_str(&params).unwrap_or(Value::Null),
        output: row.get(4)?,
        job_id: row.get(5)?,
        status: row.get(6)?,
        files: serde_json::from_str(&files).unwrap_or_default(),
        quoted_cu: row.get(8)?,
        charged_cu: row.get(9)?,
    })
}

/// `--since` as the ISO 8601 text the ledger stores (which sorts as time does).
fn since_text(since: Option<SystemTime>) -> String {
    since.map_or_else(String::new, kling_types::__private::time::format_iso8601)
}

fn select(connection: &Connection, query: &Query) -> rusqlite::Result<Vec<Entry>> {
    // `submitted`: a job not seen to end; `unknown`: no job (the answer was lost).
    let sql = format!(
        "{SELECT_ENTRY} WHERE submitted_at >= ?1 \
         AND (?2 IS NULL OR coalesce(status, CASE WHEN job_id IS NULL THEN 'unknown' ELSE 'submitted' END) = ?2) \
         AND (?3 IS NULL OR model = ?3) ORDER BY id DESC LIMIT ?4"
    );
    let limit = query
        .limit
        .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    let mut statement = connection.prepare(&sql)?;
    let rows = statement.query_map(
        params![since_text(query.since), query.status, query.model, limit],
        entry_of_row,
    )?;
    rows.collect()
}

fn spend(connection: &Connection, since: Option<SystemTime>) -> rusqlite::Result<Vec<SpendRow>> {
    let mut statement = connection.prepare(
        "SELECT substr(submitted_at, 1, 10) AS day, model, count(job_id), \
         coalesce(sum(quoted_cu), 0), coalesce(sum(charged_cu), 0) \
         FROM entries WHERE submitted_at >= ?1 GROUP BY day, model ORDER BY day DESC, model",
    )?;
    let rows = statement.query_map([since_text(since)], |row| {
        Ok(SpendRow {
            day: row.get(0)?,
            model: row.get(1)?,
            jobs: row.get::<_, i64>(2)?.try_into().unwrap_or(0),
            quoted_cu: row.get(3)?,
            charged_cu: row.get(4)?,
        })
    })?;
    rows.collect()
}

/// A duration such as `7d`, `12h`, `30m` or `90s` back from now.
pub(crate) fn parse_since(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        "w" => 7 * 86_400,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| seconds > 0)
        .and_then(|number| number.checked_mul(seconds))
        .and_then(|back| SystemTime::now().checked_sub(Duration::from_secs(back)))
        .ok_or_else(|| "expected a time back from now, like 7d, 12h, 30m or 2w".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitting(prompt: &str) -> EventKind {
        EventKind::Submitting {
            model: "model_kling-v1-6-pro".to_owned(),
            params: serde_json::json!({"prompt": prompt}),
            output: None,
        }
    }

    #[test]
    fn processes_that_open_a_new_ledger_at_the_same_moment_all_get_it() {
        for round in 0..5 {
            let dir = crate::scratch::Scratch::new(&format!("ledger-race-{round}"));
            let path = dir.0.join("history.sqlite3");
            // Connections of their own, as separate processes have.
            let opened: Vec<rusqlite::Result<Connection>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6).map(|_| scope.spawn(|| open(&path))).collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().unwrap())
                    .collect()
            });
            // And while another process is in the middle of writing.
            let mut writer = open(&path).unwrap();
            let transaction = writer
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            let late = std::thread::spawn({
                let path = path.clone();
                move || open(&path)
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            transaction.commit().unwrap();
            late.join().unwrap().unwrap();
            for connection in opened {
                let connection = connection.unwrap();
                let mode: String = connection
                    .pragma_query_value(None, "journal_mode", |row| row.get(0))
                    .unwrap();
                assert_eq!(mode.to_ascii_lowercase(), "wal");
            }
        }
    }

    #[test]
    fn events_fold_into_entries_and_a_resubmit_is_a_new_row() {
        let dir = crate::scratch::Scratch::new("ledger-fold");
        let history = History::in_dir(&dir.0);
        history.record("e1", submitting("a fox")).unwrap();
        history
            .record(
                "e1",
                EventKind::Submitted {
                    job_id: "job_1".to_owned(),
                },
            )
            .unwrap();
        history
            .record(
                "e1",
                EventKind::Cost {
                    quoted_cu: Some(40.0),
                    charged_cu: None,
                },
            )
            .unwrap();
        history
            .record(
                "e1",
                EventKind::Finished {
                    status: "failure".to_owned(),
                },
            )
            .unwrap();
        history.record("e1", submitting("a fox")).unwrap();
        history
            .record(
                "e1",
                EventKind::Submitted {
                    job_id: "job_2".to_owned(),
                },
            )
            .unwrap();
        history
            .record(
                "e1",
                EventKind::Cost {
                    quoted_cu: None,
                    charged_cu: Some(40.0),
                },
            )
            .unwrap();

        let entries = history.entries().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].job_id.as_deref(), Some("job_1"));
        assert_eq!(entries[0].status.as_deref(), Some("failure"));
        assert_eq!(entries[0].quoted_cu, Some(40.0));
        assert_eq!(entries[1].job_id.as_deref(), Some("job_2"));
        assert_eq!(entries[1].charged_cu, Some(40.0));
        assert_eq!(history.find_job("job_2").unwrap().unwrap().entry, "e1");

        let failures = history
            .query(&Query {
                status: Some("failure".to_owned()),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(failures.len(), 1);
        let running = history
            .query(&Query {
                status: Some("submitted".to_owned()),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(running[0].job_id.as_deref(), Some("job_2"));
        let other_model = history
            .query(&Query {
                model: Some("model_other".to_owned()),
                ..Query::default()
            })
            .unwrap();
        assert!(other_model.is_empty());
        let spend = history.spend(None).unwrap();
        assert_eq!(spend.len(), 1);
        assert_eq!(
            (spend[0].jobs, spend[0].quoted_cu, spend[0].charged_cu),
            (2, 40.0, 40.0)
        );
    }

    #[test]
    fn the_json_lines_history_is_imported_once_and_kept() {
        let dir = crate::scratch::Scratch::new("ledger-import");
        let legacy = dir.0.join(LEGACY);
        std::fs::write(
            &legacy,
            concat!(
                r#"{"entry":"old","at":"2026-01-01T00:00:00.000Z","event":"submitting","model":"model_kling-v1-6-pro","params":{"prompt":"v1"},"output":"a.mp4"}"#, "\n",
                r#"{"entry":"old","at":"2026-01-01T00:00:01.000Z","event":"submitted","jobId":"job_old"}"#, "\n",
                r#"{"v":2,"entry":"old","at":"2026-01-01T00:01:00.000Z","event":"cost","chargedCu":40}"#, "\n",
                r#"{"v":9,"entry":"old","at":"2026-01-01T00:01:00.000Z","event":"finished","status":"from the future"}"#, "\n",
                r#"{"entry":"torn"#,
            ),
        )
        .unwrap();
        let history = History::in_dir(&dir.0);
        let entries = history.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].job_id.as_deref(), Some("job_old"));
        assert_eq!(entries[0].charged_cu, Some(40.0));
        assert_eq!(
            entries[0].status, None,
            "records of a newer format are skipped"
        );
        assert!(!legacy.exists());
        assert!(dir.0.join("history.jsonl.imported").exists());

        // A crash between the import and the rename: the file is back, not imported twice.
        std::fs::rename(dir.0.join("history.jsonl.imported"), &legacy).unwrap();
        let again = History::in_dir(&dir.0);
        assert_eq!(again.entries().unwrap().len(), 1);
        assert!(!legacy.exists());

        // An older kling wrote a new one since: imported too, the first one kept.
        std::fs::write(
            &legacy,
            concat!(r#"{"entry":"newer","at":"2026-02-01T00:00:00.000Z","event":"submitting","model":"model_kling-v1-6-pro","params":{"prompt":"v1 again"},"output":null}"#, "\n"),
        )
        .unwrap();
        let after = History::in_dir(&dir.0);
        assert_eq!(after.entries().unwrap().len(), 2);
        assert!(dir.0.join("history.jsonl.imported").exists());
        assert!(dir.0.join("history.jsonl.imported.2").exists());
    }

    #[test]
    fn writers_on_several_connections_lose_nothing() {
        let dir = crate::scratch::Scratch::new("ledger-threads");
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let dir = dir.0.clone();
                std::thread::spawn(move || {
                    let history = History::in_dir(&dir);
                    for n in 0..25 {
                        let entry = format!("w{writer}-{n}");
                        history.record(&entry, submitting(&entry)).unwrap();
                        history
                            .record(
                                &entry,
                                EventKind::Submitted {
                                    job_id: entry.clone(),
                                },
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let entries = History::in_dir(&dir.0).entries().unwrap();
        assert_eq!(entries.len(), 100);
        assert!(
            entries
                .iter()
                .all(|entry| entry.job_id.as_deref() == Some(entry.entry.as_str()))
        );
    }

    #[test]
    fn since_reads_days_hours_minutes_and_weeks() {
        let now = SystemTime::now();
        let week = parse_since("7d").unwrap();
        let back = now.duration_since(week).unwrap().as_secs();
        assert!((7 * 86_400 - 5..=7 * 86_400).contains(&back), "{back}");
        assert!(
            parse_since("2w").is_ok() && parse_since("12h").is_ok() && parse_since("30m").is_ok()
        );
        for bad in ["", "7", "d", "7 days", "-1d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
