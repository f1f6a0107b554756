//! Device readings waiting for the server: one file per batch in `<state dir>/readings/`,
//! written before the batch is sent and removed when the server confirms it. A gateway whose
//! link is down for days keeps reading; what it read goes out, oldest first, when the link is
//! back. Files are named by the time they were taken, so their order is the readings' order.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::protocol::{DeviceReading, ReadingBatch};

/// At most this many batches wait (a week of one batch a minute; less for sites with more than
/// 200 devices read every minute, whose rounds take several batches); beyond it the oldest go, so
/// a server gone for good cannot fill the gateway's disk.
pub const MAX_BATCHES: usize = 10_080;

pub struct ReadingSpool {
    dir: PathBuf,
    max: usize,
}

impl ReadingSpool {
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        Self::with_limit(state_dir, MAX_BATCHES)
    }

    pub fn with_limit(state_dir: &Path, max: usize) -> std::io::Result<Self> {
        let dir = state_dir.join("readings");
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, max: max.max(1) })
    }

    /// The batch's file; `report_id`s are made of digits, letters and `-` only.
    fn path(&self, report_id: &str) -> Option<PathBuf> {
        let safe = !report_id.is_empty() && report_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        safe.then(|| self.dir.join(format!("{report_id}.json")))
    }

    /// Keeps a batch on disk (written whole: temporary file, fsync, rename).
    pub fn push(&self, batch: &ReadingBatch) -> std::io::Result<()> {
        let path = self.path(&batch.report_id).ok_or_else(|| std::io::Error::other("unsafe report id"))?;
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(batch).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        let names = self.names()?;
        for old in names.iter().take(names.len().saturating_sub(self.max)) {
            tracing::warn!(batch = %old, "reading spool full: dropping the oldest batch");
            let _ = std::fs::remove_file(self.dir.join(format!("{old}.json")));
        }
        Ok(())
    }

    /// Report ids waiting, oldest first.
    fn names(&self) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The oldest `n` batches waiting. A file that cannot be read (cut short by a crash
    /// before its rename, which cannot happen, or damaged on disk) is set aside, not retried
    /// for ever.
    pub fn oldest(&self, n: usize) -> Vec<ReadingBatch> {
        let mut out = Vec::new();
        for name in self.names().unwrap_or_default().into_iter().take(n) {
            let path = self.dir.join(format!("{name}.json"));
            match std::fs::read(&path).map(|b| serde_json::from_slice::<ReadingBatch>(&b)) {
                Ok(Ok(batch)) => out.push(batch),
                Ok(Err(e)) => {
                    tracing::error!(batch = %name, error = %e, "unreadable reading batch set aside");
                    let _ = std::fs::rename(&path, path.with_extension("bad"));
                }
                Err(e) => tracing::warn!(batch = %name, error = %e, "cannot read a reading batch"),
            }
        }
        out
    }

    /// Forgets a batch the server confirmed; false when it was not waiting.
    pub fn confirm(&self, report_id: &str) -> bool {
        self.path(report_id).is_some_and(|p| std::fs::remove_file(p).is_ok())
    }

    /// How many batches wait.
    pub fn len(&self) -> usize {
        self.names().map(|n| n.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Readings in one batch at most. A reading is about 1 KiB of JSON and the link takes frames of
/// up to 1 MiB, so a round of a thousand devices in one batch could never be delivered (the
/// server closes the link on it, and the batch goes out again after every reconnect).
pub const MAX_READINGS_PER_BATCH: usize = 200;

/// A round's readings as batches of at most [`MAX_READINGS_PER_BATCH`], each with its own id.
pub fn into_batches(readings: Vec<DeviceReading>, mut random: impl FnMut() -> u64) -> Vec<ReadingBatch> {
    readings
        .chunks(MAX_READINGS_PER_BATCH)
        .map(|chunk| {
            let taken = chunk.iter().map(|r| r.read_at).max().unwrap_or(0);
            ReadingBatch { report_id: batch_id(taken, random()), readings: chunk.to_vec() }
        })
        .collect()
}

/// A report id that sorts by time: the milliseconds, then randomness against collisions.
pub fn batch_id(read_at_ms: i64, random: u64) -> String {
    format!("{read_at_ms:015}-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str) -> ReadingBatch {
        ReadingBatch { report_id: id.into(), readings: Vec::new() }
    }

    #[test]
    fn a_thousand_readings_go_in_batches_that_fit_a_link_frame() {
        let reading = |i: i64| DeviceReading {
            print_point_id: format!("01a24090-5e82-7697-902b-{i:012}"),
            read_at: 1_780_000_000_000 + i,
            answered: true,
            uptime_centis: Some(1),
            counters: Default::default(),
            supplies: Vec::new(),
            status: None,
            alerts: Vec::new(),
        };
        let mut n = 0;
        let batches = into_batches((0..1000).map(reading).collect(), || {
            n += 1;
            n
        });
        assert_eq!(batches.len(), 5);
        assert!(batches.iter().all(|b| b.readings.len() == MAX_READINGS_PER_BATCH));
        let ids: std::collections::BTreeSet<_> = batches.iter().map(|b| b.report_id.clone()).collect();
        assert_eq!(ids.len(), 5, "each batch its own id");
        assert!(into_batches(Vec::new(), || 0).is_empty());
    }

    #[test]
    fn batches_wait_in_order_until_confirmed_and_the_oldest_go_first_when_full() {
        let dir = std::env::temp_dir().join(format!("yy-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = ReadingSpool::with_limit(&dir, 3).ok();
        let spool = spool.as_ref();
        assert!(spool.is_some());
        let Some(spool) = spool else { return };
        for t in [3, 1, 2] {
            assert!(spool.push(&batch(&batch_id(t, 7))).is_ok());
        }
        let ids = |v: Vec<ReadingBatch>| v.into_iter().map(|b| b.report_id).collect::<Vec<_>>();
        assert_eq!(ids(spool.oldest(10)), [batch_id(1, 7), batch_id(2, 7), batch_id(3, 7)]);
        assert!(spool.confirm(&batch_id(1, 7)));
        assert!(!spool.confirm(&batch_id(1, 7)), "a second confirmation finds nothing");
        assert!(spool.push(&batch(&batch_id(4, 7))).is_ok());
        assert!(spool.push(&batch(&batch_id(5, 7))).is_ok());
        assert_eq!(ids(spool.oldest(10)), [batch_id(3, 7), batch_id(4, 7), batch_id(5, 7)], "bounded at 3");
        // A restart finds what waited.
        let again = ReadingSpool::with_limit(&dir, 3).map(|s| s.len()).ok();
        assert_eq!(again, Some(3));
        assert!(spool.push(&batch("../escape")).is_err(), "ids never leave the folder");
        let _ = std::fs::remove_dir_all(dir);
    }
}
