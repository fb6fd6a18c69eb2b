//! The send journal: which armed exit tags were about to be sent, kept without an
//! fsync so it costs nothing on the tick path.
//!
//! An open trade carries an *armed* exit (an order row in state `ARMED`, committed
//! with the trade: its tag, side and quantity), so the tick that exits can send at
//! once instead of first committing the intent (an fsync, most of the tick → order
//! latency). What the database cannot say after a crash is whether an armed tag went
//! out. This file says it: just before an armed tag is sent, one line naming it is
//! appended with a plain `write(2)`. The kernel keeps that line through a crash of
//! the process; only an OS crash or a power loss can drop it. So at start:
//!
//! - the journal is **trusted** when it was written during this boot (same kernel
//!   boot id in its header) or the previous run stopped cleanly (a `clean` line,
//!   written with an fsync at shutdown). Then an armed tag it does not name was
//!   never sent and stays the trade's armed exit; a tag it names is treated like a
//!   PENDING order (looked up at the broker by its tag before anything else goes out);
//! - otherwise (boot id changed without a clean stop, the file is missing or
//!   unreadable) every armed tag is treated like a PENDING order. Safe, and slower
//!   for the exits of trades that were open.
//!
//! A fresh journal is started after recovery has read the old one.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::EngineError;

const HEADER: &str = "kitebreak-sending v1 boot=";
const CLEAN: &str = "clean";
const SENT: &str = "sent ";

/// Where the journal of `database` lives: beside it, named after it.
pub(crate) fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".sending");
    PathBuf::from(name)
}

/// The kernel's boot id, or `None` where the system has none to read.
pub fn current_boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// What the previous run's journal says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Previous {
    /// Whether its lines are complete (see the module docs).
    pub trusted: bool,
    /// The armed tags it names as sent.
    pub sent: HashSet<String>,
}

impl Previous {
    /// Whether the armed `tag` may have been sent: looked up before anything else.
    pub fn maybe_sent(&self, tag: &str) -> bool {
        !self.trusted || self.sent.contains(tag)
    }
}

/// Reads the previous run's journal at `path` (this boot's id is `boot_id`).
pub(crate) fn read(path: &Path, boot_id: Option<&str>) -> Previous {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Previous::default();
    };
    let mut lines = text.lines();
    let Some(written_in) = lines.next().and_then(|l| l.strip_prefix(HEADER)) else {
        return Previous::default();
    };
    let mut sent = HashSet::new();
    let mut clean = false;
    for line in lines {
        if line == CLEAN {
            clean = true;
        } else if let Some(tag) = line.strip_prefix(SENT) {
            sent.insert(tag.to_owned());
            clean = false;
        }
    }
    let same_boot = boot_id.is_some_and(|id| !id.is_empty() && id == written_in);
    Previous {
        trusted: same_boot || clean,
        sent,
    }
}

/// This run's journal, appended to before each armed send.
#[derive(Debug)]
pub(crate) struct SendJournal {
    file: Mutex<File>,
}

impl SendJournal {
    /// Starts a fresh journal at `path` (replacing the previous run's, which
    /// recovery has read), durable before the first send.
    pub fn create(path: &Path, boot_id: Option<&str>) -> Result<SendJournal, EngineError> {
        let failed = |source| EngineError::Journal {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(failed)?;
        writeln!(file, "{HEADER}{}", boot_id.unwrap_or(""))
            .and_then(|()| file.sync_all())
            .map_err(failed)?;
        // Appends go to the end even if the file is written from several shards.
        let file = OpenOptions::new().append(true).open(path).map_err(failed)?;
        Ok(SendJournal {
            file: Mutex::new(file),
        })
    }

    /// Notes that `tag` is about to be sent (one `write(2)`, no fsync). An error
    /// means the caller must make the intent durable the slow way before sending.
    pub fn note_sending(&self, tag: &str) -> std::io::Result<()> {
        let line = format!("{SENT}{tag}\n");
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("send journal lock poisoned"))?;
        file.write_all(line.as_bytes())
    }

    /// Marks a clean stop, durably: the next start trusts the journal even after a
    /// reboot. Called once nothing more can be sent.
    pub fn mark_clean(&self) -> std::io::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("send journal lock poisoned"))?;
        file.write_all(format!("{CLEAN}\n").as_bytes())?;
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_at(dir: &tempfile::TempDir) -> PathBuf {
        path_for(&dir.path().join("kitebreak.db"))
    }

    #[test]
    fn lives_beside_the_database() {
        assert_eq!(
            path_for(Path::new("/data/kitebreak.db")),
            PathBuf::from("/data/kitebreak.db.sending")
        );
    }

    #[test]
    fn a_journal_of_this_boot_is_trusted_and_names_what_was_sent() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_at(&dir);
        let journal = SendJournal::create(&path, Some("boot-a")).expect("create");
        journal.note_sending("KB00000A").expect("note");
        drop(journal); // a crash: no clean mark
        let previous = read(&path, Some("boot-a"));
        assert!(previous.trusted);
        assert!(previous.maybe_sent("KB00000A"));
        assert!(!previous.maybe_sent("KB00000B"));
    }

    #[test]
    fn after_a_reboot_without_a_clean_stop_every_tag_may_have_been_sent() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_at(&dir);
        let journal = SendJournal::create(&path, Some("boot-a")).expect("create");
        journal.note_sending("KB00000A").expect("note");
        let previous = read(&path, Some("boot-b"));
        assert!(!previous.trusted);
        assert!(previous.maybe_sent("KB00000B"));
    }

    #[test]
    fn a_clean_stop_is_trusted_after_a_reboot_until_the_next_send() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_at(&dir);
        let journal = SendJournal::create(&path, Some("boot-a")).expect("create");
        journal.note_sending("KB00000A").expect("note");
        journal.mark_clean().expect("clean");
        let previous = read(&path, Some("boot-b"));
        assert!(previous.trusted);
        assert!(previous.maybe_sent("KB00000A"));
        assert!(!previous.maybe_sent("KB00000B"));
        // A line after the clean mark (never happens in one run) voids it.
        journal.note_sending("KB00000C").expect("note");
        assert!(!read(&path, Some("boot-b")).trusted);
    }

    #[test]
    fn a_missing_or_foreign_file_or_an_unknown_boot_is_not_trusted() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_at(&dir);
        assert!(!read(&path, Some("boot-a")).trusted);
        std::fs::write(&path, "something else\n").expect("write");
        assert!(!read(&path, Some("boot-a")).trusted);
        SendJournal::create(&path, None).expect("create");
        assert!(!read(&path, None).trusted);
        assert!(!read(&path, Some("")).trusted);
    }

    #[test]
    fn a_fresh_journal_forgets_the_previous_run() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_at(&dir);
        let journal = SendJournal::create(&path, Some("boot-a")).expect("create");
        journal.note_sending("KB00000A").expect("note");
        SendJournal::create(&path, Some("boot-a")).expect("again");
        assert!(!read(&path, Some("boot-a")).maybe_sent("KB00000A"));
    }
}
