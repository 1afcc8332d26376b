//! Append-only record files whose records are atomic: the batch journal (and the JSON
//! Lines job history of earlier versions, read once to import it into the ledger). One record is one line of JSON ending in `\n`, made durable (`fsync`)
//! before the writer is told it is on disk.
//!
//! What can go wrong, and what happens:
//! - **A crash in the middle of a write** leaves a last line without its `\n`. Readers
//!   skip it; the next writer cuts it off before appending, so it never glues onto the
//!   next record (the writer of a torn record was never told it was durable, so nothing
//!   relied on it).
//! - **A full disk** in the middle of a write: the partial bytes are cut off again
//!   (`set_len` back to where the file ended) and the writer gets the error.
//! - **Several processes** appending to one file (two terminals sharing the history):
//!   each group of records is written under an exclusive lock of the file (`flock`), so
//!   the repair above never cuts another process's record.
//!
//! Records are written by a thread of their own with group commit: the records that
//! arrive while one `fsync` runs are written together and made durable by the next, so
//! 64 jobs at a time do not wait for 64 `fsync`s in a row, and the async runtime is
//! never blocked by the disk.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Context as _;

/// A record on its way to the file, and who waits for it to be on disk.
type Pending = (String, Reply);

enum Reply {
    Async(tokio::sync::oneshot::Sender<std::io::Result<()>>),
    /// From [`AppendLog::append_blocking`] (the tests' writer).
    #[cfg(test)]
    Blocking(mpsc::Sender<std::io::Result<()>>),
}

/// An append-only file of JSON lines, written by its own thread.
#[derive(Debug)]
pub(crate) struct AppendLog {
    path: PathBuf,
    records: mpsc::Sender<Pending>,
}

impl AppendLog {
    /// Opens `path` for appending (creating it), and writes `header` as its first line
    /// when the file is new or empty.
    pub(crate) fn open(path: &Path, header: Option<&str>) -> anyhow::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {} for writing", path.display()))?;
        let mut writer = Writer { file };
        if let Some(header) = header {
            writer
                .write_group(&[header], true)
                .with_context(|| format!("cannot write to {}", path.display()))?;
        }
        let (records, queue) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("kling-append-log".to_owned())
            .spawn(move || writer.serve(&queue))
            .context("cannot start a writer thread")?;
        Ok(Self {
            path: path.to_path_buf(),
            records,
        })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record (one line of JSON, without its `\n`); returns once it is on disk.
    pub(crate) async fn append(&self, record: String) -> std::io::Result<()> {
        let (durable, written) = tokio::sync::oneshot::channel();
        self.records
            .send((record, Reply::Async(durable)))
            .map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }

    /// [`Self::append`] for code that is not async (the tests: the batch is async).
    #[cfg(test)]
    pub(crate) fn append_blocking(&self, record: String) -> std::io::Result<()> {
        let (durable, written) = mpsc::channel();
        self.records
            .send((record, Reply::Blocking(durable)))
            .map_err(|_| stopped())?;
        written.recv().map_err(|_| stopped())?
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the writer thread stopped")
}

/// The complete records of a file (lines that end in `\n`), with their line numbers
/// (from 1); a torn last line is left out. A missing file has none.
pub(crate) fn read_records(path: &Path) -> std::io::Result<Vec<(usize, String)>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let complete = match bytes.iter().rposition(|&byte| byte == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    Ok(complete
        .split(|&byte| byte == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| (index + 1, String::from_utf8_lossy(line).into_owned()))
        .collect())
}

struct Writer {
    file: File,
}

impl Writer {
    /// Ends when every [`AppendLog`] sender is gone.
    fn serve(mut self, queue: &mpsc::Receiver<Pending>) {
        while let Ok(first) = queue.recv() {
            let group: Vec<Pending> = std::iter::once(first).chain(queue.try_iter()).collect();
            let texts: Vec<&str> = group.iter().map(|(text, _)| text.as_str()).collect();
            let written = self.write_group(&texts, false);
            for (_, reply) in group {
                let outcome = match &written {
                    Ok(()) => Ok(()),
                    Err(error) => Err(std::io::Error::new(error.kind(), error.to_string())),
                };
                // A writer that stopped waiting (its task was dropped) needs no answer.
                let _ = match reply {
                    Reply::Async(sender) => sender.send(outcome).map_err(drop),
                    #[cfg(test)]
                    Reply::Blocking(sender) => sender.send(outcome).map_err(drop),
                };
            }
        }
    }

    /// Appends `records` under the file's lock: cuts a torn tail first, cuts its own
    /// partial write on failure, and syncs. With `only_if_empty`, writes nothing to a
    /// file that has content (the header of a new file).
    fn write_group(&mut self, records: &[&str], only_if_empty: bool) -> std::io::Result<()> {
        let locked = self.file.lock();
        let outcome = self.write_locked(records, only_if_empty);
        if locked.is_ok() {
            let _ = self.file.unlock();
        }
        outcome
    }

    fn write_locked(&mut self, records: &[&str], only_if_empty: bool) -> std::io::Result<()> {
        let mut end = self.file.metadata()?.len();
        if only_if_empty && end > 0 {
            return Ok(());
        }
        let complete = self.complete_length(end)?;
        if complete < end {
            // A record torn by a crash: cut it off, so that it cannot glue onto ours.
            self.file.set_len(complete)?;
            end = complete;
        }
        let mut text = String::with_capacity(records.iter().map(|record| record.len() + 1).sum());
        for record in records {
            text.push_str(record);
            text.push('\n');
        }
        if let Err(error) = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
        {
            // Whatever part of the group reached the file is not a record: take it back.
            let _ = self.file.set_len(end).and_then(|()| self.file.sync_data());
            return Err(error);
        }
        Ok(())
    }

    /// The length of the file up to its last complete line.
    fn complete_length(&mut self, end: u64) -> std::io::Result<u64> {
        const CHUNK: u64 = 64 * 1024;
        let mut upto = end;
        let mut buffer = Vec::new();
        while upto > 0 {
            let start = upto.saturating_sub(CHUNK);
            buffer.resize(usize::try_from(upto - start).unwrap_or(0), 0);
            self.file.seek(SeekFrom::Start(start))?;
            self.file.read_exact(&mut buffer)?;
            if let Some(at) = buffer.iter().rposition(|&byte| byte == b'\n') {
                return Ok(start + at as u64 + 1);
            }
            upto = start;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scratch::Scratch;

    fn texts(path: &Path) -> Vec<String> {
        read_records(path)
            .unwrap()
            .into_iter()
            .map(|(_, text)| text)
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn records_of_many_tasks_at_once_each_reach_the_file_once() {
        let scratch = Scratch::new("append-log-many");
        let path = scratch.0.join("log.jsonl");
        let log = AppendLog::open(&path, Some("{\"header\":1}")).unwrap();
        let written =
            futures_util::future::join_all((0..200).map(|n| log.append(format!("{{\"n\":{n}}}"))))
                .await;
        assert!(written.iter().all(Result::is_ok));
        let records = texts(&path);
        assert_eq!(records.len(), 201, "the header and one line per record");
        assert_eq!(records[0], "{\"header\":1}");
        let mut numbers: Vec<u32> = records[1..]
            .iter()
            .map(|text| {
                serde_json::from_str::<serde_json::Value>(text).unwrap()["n"]
                    .as_u64()
                    .unwrap() as u32
            })
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_last_record_is_skipped_and_never_glues_onto_the_next() {
        let scratch = Scratch::new("append-log-torn");
        let path = scratch.0.join("log.jsonl");
        // A crash in the middle of the second record.
        std::fs::write(&path, "{\"header\":1}\n{\"n\":1}\n{\"n\":2, \"par").unwrap();
        assert_eq!(
            texts(&path),
            ["{\"header\":1}", "{\"n\":1}"],
            "the torn line is not read"
        );
        let log = AppendLog::open(&path, Some("{\"header\":1}")).unwrap();
        log.append_blocking("{\"n\":3}".to_owned()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"header\":1}\n{\"n\":1}\n{\"n\":3}\n",
            "the header is not written again, the torn record is cut off"
        );
    }

    #[test]
    fn a_file_torn_inside_its_first_record_starts_clean() {
        let scratch = Scratch::new("append-log-first");
        let path = scratch.0.join("log.jsonl");
        std::fs::write(&path, "{\"head").unwrap();
        assert!(texts(&path).is_empty());
        let log = AppendLog::open(&path, None).unwrap();
        log.append_blocking("{\"n\":1}".to_owned()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\":1}\n");
    }

    #[test]
    fn two_writers_of_one_file_keep_every_record_whole() {
        let scratch = Scratch::new("append-log-two");
        let path = scratch.0.join("log.jsonl");
        let first = AppendLog::open(&path, None).unwrap();
        let second = AppendLog::open(&path, None).unwrap();
        std::thread::scope(|scope| {
            for (name, log) in [("a", &first), ("b", &second)] {
                scope.spawn(move || {
                    for n in 0..100 {
                        log.append_blocking(format!(
                            "{{\"{name}\":{n},\"pad\":\"{}\"}}",
                            "x".repeat(500)
                        ))
                        .unwrap();
                    }
                });
            }
        });
        let records = texts(&path);
        assert_eq!(records.len(), 200);
        assert!(
            records
                .iter()
                .all(|text| serde_json::from_str::<serde_json::Value>(text).is_ok()),
            "no record is torn or glued"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "current_thread")]
    async fn a_record_that_cannot_be_written_is_an_error_for_its_writer() {
        // Every write to /dev/full fails with "No space left on device".
        let log = AppendLog::open(Path::new("/dev/full"), None).unwrap();
        let error = log.append("{}".to_owned()).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
    }
}
