//! One server's disk: the transaction log as bytes, snapshots, the two epoch files, and the
//! difference between "written" (in the page cache) and "durable" (fsynced).
//!
//! Requests run one at a time in issue order, like a single-threaded `SyncRequestProcessor`
//! and its file channel; each completes after a sampled latency. Faults are armed per disk and
//! consumed as they strike.

use crate::prng::Prng;
use crate::scenario::{DiskFaultKind, DiskSpec};
use crate::time::SimTime;
use std::collections::VecDeque;
use zab_core::ids::{Epoch, Zxid};
use zab_core::peer::{DiskError, PersistOp, PersistToken, Recovered};

/// Where one appended record lives in the log bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RecordSpan {
    zxid: Zxid,
    start: usize,
    end: usize,
}

/// How the machine went down.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The process died; the kernel (and, per scenario, its page cache) lives on.
    ProcessCrash,
    /// The machine lost power: everything not fsynced is gone.
    PowerOff,
}

/// Faults waiting to strike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Armed {
    lying_fsyncs: u32,
    torn_write: bool,
    eio: u32,
    full: u32,
}

/// What a completed request did, for the trace and the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub token: PersistToken,
    pub result: Result<(), DiskError>,
    pub note: &'static str,
}

/// The disk model.
pub struct Disk {
    log: Vec<u8>,
    durable_len: usize,
    records: Vec<RecordSpan>,
    /// Bytes after the last whole record that a restart left behind (torn write); the next
    /// append starts a fresh log file, so they are dropped then, as ZooKeeper's reader skips
    /// a torn tail of an older file.
    dirty_tail: bool,
    snapshots: Vec<(Zxid, Vec<u8>)>,
    accepted_epoch: Option<Epoch>,
    current_epoch: Option<Epoch>,
    queue: VecDeque<(PersistToken, PersistOp)>,
    busy_until: SimTime,
    armed: Armed,
    spec: DiskSpec,
    prng: Prng,
}

impl Disk {
    pub fn new(spec: DiskSpec, prng: Prng) -> Disk {
        Disk {
            log: Vec::new(),
            durable_len: 0,
            records: Vec::new(),
            dirty_tail: false,
            snapshots: Vec::new(),
            accepted_epoch: None,
            current_epoch: None,
            queue: VecDeque::new(),
            busy_until: SimTime::ZERO,
            armed: Armed::default(),
            spec,
            prng,
        }
    }

    /// Queue a request; returns when it completes (after everything queued before it).
    pub fn submit(&mut self, now: SimTime, token: PersistToken, op: PersistOp) -> SimTime {
        let latency = match &op {
            PersistOp::AppendLog { .. } => self.spec.append.sample(&mut self.prng),
            PersistOp::Snapshot { bytes, .. } => {
                // Writing at ~200 MB/s, then an fsync.
                let write = crate::time::Span(bytes.len() as u64 / 200);
                let sync = self.spec.fsync.sample(&mut self.prng);
                crate::time::Span(write.0 + sync.0)
            }
            _ => self.spec.fsync.sample(&mut self.prng),
        };
        let start = now.max(self.busy_until);
        let done = start.plus(latency);
        self.busy_until = done;
        self.queue.push_back((token, op));
        done
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Complete the oldest queued request and apply its effect.
    pub fn complete(&mut self) -> Option<Completion> {
        let (token, op) = self.queue.pop_front()?;
        let (result, note) = self.apply(op);
        Some(Completion {
            token,
            result,
            note,
        })
    }

    fn write_fault(&mut self, adds_bytes: bool) -> Option<DiskError> {
        if self.armed.eio > 0 {
            self.armed.eio -= 1;
            return Some(DiskError::Io);
        }
        if adds_bytes && self.armed.full > 0 {
            self.armed.full -= 1;
            return Some(DiskError::Full);
        }
        None
    }

    fn apply(&mut self, op: PersistOp) -> (Result<(), DiskError>, &'static str) {
        match op {
            PersistOp::AppendLog { zxid, record } => {
                if let Some(e) = self.write_fault(true) {
                    return (Err(e), "append failed");
                }
                self.drop_dirty_tail();
                debug_assert!(
                    self.records.last().is_none_or(|r| r.zxid < zxid),
                    "log zxids strictly increase: {zxid} after {:?}",
                    self.records.last()
                );
                let start = self.log.len();
                self.log.extend_from_slice(&record);
                self.records.push(RecordSpan {
                    zxid,
                    start,
                    end: self.log.len(),
                });
                (Ok(()), "appended (not durable)")
            }
            PersistOp::Fsync { .. } => {
                if let Some(e) = self.write_fault(false) {
                    return (Err(e), "fsync failed");
                }
                if self.armed.lying_fsyncs > 0 {
                    self.armed.lying_fsyncs -= 1;
                    return (Ok(()), "fsync lied");
                }
                self.durable_len = self.log.len();
                (Ok(()), "fsynced")
            }
            PersistOp::WriteAcceptedEpoch(e) => {
                if let Some(err) = self.write_fault(true) {
                    return (Err(err), "epoch write failed");
                }
                self.accepted_epoch = Some(e);
                (Ok(()), "acceptedEpoch durable")
            }
            PersistOp::WriteCurrentEpoch(e) => {
                if let Some(err) = self.write_fault(true) {
                    return (Err(err), "epoch write failed");
                }
                self.current_epoch = Some(e);
                (Ok(()), "currentEpoch durable")
            }
            PersistOp::Snapshot { zxid, bytes } => {
                if let Some(err) = self.write_fault(true) {
                    return (Err(err), "snapshot failed");
                }
                self.snapshots.push((zxid, bytes));
                (Ok(()), "snapshot durable")
            }
            PersistOp::TruncateLog { to } => {
                self.drop_dirty_tail();
                let keep = self.records.iter().take_while(|r| r.zxid <= to).count();
                let cut = if keep == 0 {
                    0
                } else {
                    self.records[keep - 1].end
                };
                self.records.truncate(keep);
                self.log.truncate(cut);
                self.durable_len = self.durable_len.min(cut);
                self.snapshots.retain(|(z, _)| *z <= to);
                (Ok(()), "truncated")
            }
        }
    }

    fn drop_dirty_tail(&mut self) {
        if self.dirty_tail {
            let clean = self.records.last().map_or(0, |r| r.end);
            self.log.truncate(clean);
            self.durable_len = self.durable_len.min(clean);
            self.dirty_tail = false;
        }
    }

    /// The machine or process stopped: queued requests vanish; what survives depends on how.
    /// Returns a note for the report when a fault struck.
    pub fn stop(&mut self, how: Stop) -> Option<String> {
        self.queue.clear();
        self.busy_until = SimTime::ZERO;
        if how == Stop::ProcessCrash && self.spec.page_cache_survives_crash {
            self.durable_len = self.log.len();
        }
        let mut note = None;
        let first_unsynced = self
            .records
            .iter()
            .find(|r| r.end > self.durable_len)
            .copied();
        let mut keep = self.durable_len;
        if self.armed.torn_write {
            if let Some(r) = first_unsynced {
                let half = (r.end - r.start) / 2;
                keep = r.start.max(self.durable_len) + half.max(1);
                keep = keep.min(r.end - 1).max(self.durable_len);
                self.armed.torn_write = false;
                note = Some(format!(
                    "torn write: {} of {} bytes of {} reached the disk",
                    keep - r.start,
                    r.end - r.start,
                    r.zxid
                ));
            }
        }
        self.log.truncate(keep);
        self.durable_len = keep;
        self.records.retain(|r| r.end <= keep);
        self.dirty_tail = self.records.last().map_or(0, |r| r.end) < keep;
        note
    }

    /// What a restarting server reads back.
    pub fn recovered(&self) -> Recovered {
        debug_assert_eq!(self.log.len(), self.durable_len, "restart after stop only");
        Recovered {
            log: self.log[..self.durable_len].to_vec(),
            snapshots: self.snapshots.clone(),
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
        }
    }

    /// Arm or apply a fault. Returns what happened, for the report.
    pub fn inject(&mut self, kind: DiskFaultKind, count: u32) -> String {
        match kind {
            DiskFaultKind::LyingFsync => {
                self.armed.lying_fsyncs += count;
                format!("the next {count} fsync(s) will lie")
            }
            DiskFaultKind::TornWrite => {
                self.armed.torn_write = true;
                "the next crash tears the last write".to_string()
            }
            DiskFaultKind::Eio => {
                self.armed.eio += count;
                format!("the next {count} write(s) fail with EIO")
            }
            DiskFaultKind::DiskFull => {
                self.armed.full += count;
                format!("the next {count} write(s) fail with ENOSPC")
            }
            DiskFaultKind::CorruptEntry => {
                let durable: Vec<RecordSpan> = self
                    .records
                    .iter()
                    .filter(|r| r.end <= self.durable_len && r.end > r.start)
                    .copied()
                    .collect();
                match self.prng.pick(&durable).copied() {
                    Some(r) => {
                        let at = r.start + (r.end - r.start) / 2;
                        self.log[at] ^= 0x5a;
                        format!("flipped a byte of the record for {}", r.zxid)
                    }
                    // No log to hit: the newest snapshot fails its checksum instead.
                    None => match self.snapshots.last_mut() {
                        Some((zxid, bytes)) if !bytes.is_empty() => {
                            let at = bytes.len() / 2;
                            bytes[at] ^= 0x5a;
                            format!("flipped a byte of snapshot {zxid}")
                        }
                        _ => "no durable record or snapshot to corrupt".to_string(),
                    },
                }
            }
        }
    }

    /// What the disk already held when the machine booted (a test's starting state, e.g. the
    /// epoch files of a server that ran before): `op` takes effect at once and is durable, outside
    /// the request queue, with no latency and no fault. The process reads it back through
    /// [`Disk::recovered`] like anything it wrote itself.
    pub fn preset(&mut self, op: PersistOp) -> Result<(), DiskError> {
        debug_assert!(self.queue.is_empty(), "preset only while nothing is queued");
        let armed = std::mem::take(&mut self.armed);
        let (result, _) = self.apply(op);
        self.armed = armed;
        self.durable_len = self.log.len();
        debug_assert_eq!(self.durable_len, self.log.len(), "a preset is durable");
        result
    }

    /// The zxids of the log records that are durable (fsynced, or preset), in log order: what
    /// a restart would replay if nothing were corrupt. For tests; reading changes nothing.
    pub fn durable_zxids(&self) -> Vec<Zxid> {
        self.records
            .iter()
            .filter(|r| r.end <= self.durable_len)
            .map(|r| r.zxid)
            .collect()
    }

    /// The zxids of the snapshots on the disk, oldest first.
    pub fn snapshot_zxids(&self) -> Vec<Zxid> {
        self.snapshots.iter().map(|(z, _)| *z).collect()
    }

    /// Flip a byte in the middle of the durable record for `zxid` (as `corrupt_entry` does to
    /// a random one); false when no durable record has that zxid.
    pub fn corrupt_record(&mut self, zxid: Zxid) -> bool {
        let Some(r) = self
            .records
            .iter()
            .find(|r| r.zxid == zxid && r.end <= self.durable_len && r.end > r.start)
            .copied()
        else {
            return false;
        };
        let at = r.start + (r.end - r.start) / 2;
        self.log[at] ^= 0x5a;
        true
    }

    /// Replace the contents with an empty disk (a new machine), keeping the latency model
    /// and its random stream. Only while nothing is queued (the server is down).
    pub fn wipe(&mut self) {
        debug_assert!(self.queue.is_empty(), "wipe only a stopped server's disk");
        self.log.clear();
        self.durable_len = 0;
        self.records.clear();
        self.dirty_tail = false;
        self.snapshots.clear();
        self.accepted_epoch = None;
        self.current_epoch = None;
        self.armed = Armed::default();
    }

    /// Durable log length in bytes (for tests and reports).
    pub fn durable_bytes(&self) -> usize {
        self.durable_len
    }

    pub fn written_bytes(&self) -> usize {
        self.log.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;
    use crate::time::Span;

    fn disk(page_cache_survives_crash: bool) -> Disk {
        Disk::new(
            DiskSpec {
                append: Dist::Constant(Span(10)),
                fsync: Dist::Constant(Span(1000)),
                page_cache_survives_crash,
            },
            Prng::root(1).fork("disk/1"),
        )
    }

    fn append(d: &mut Disk, n: u32, bytes: &[u8]) {
        d.submit(
            SimTime::ZERO,
            PersistToken(n as u64),
            PersistOp::AppendLog {
                zxid: Zxid::new(Epoch(1), n),
                record: bytes.to_vec(),
            },
        );
        d.complete().unwrap().result.unwrap();
    }

    fn fsync(d: &mut Disk) -> Completion {
        d.submit(
            SimTime::ZERO,
            PersistToken(99),
            PersistOp::Fsync { up_to: Zxid::ZERO },
        );
        d.complete().unwrap()
    }

    #[test]
    fn requests_complete_in_order_one_after_another() {
        let mut d = disk(false);
        let a = d.submit(
            SimTime(0),
            PersistToken(1),
            PersistOp::WriteAcceptedEpoch(Epoch(1)),
        );
        let b = d.submit(
            SimTime(0),
            PersistToken(2),
            PersistOp::WriteCurrentEpoch(Epoch(1)),
        );
        assert_eq!((a, b), (SimTime(1000), SimTime(2000)));
        assert_eq!(d.complete().unwrap().token, PersistToken(1));
        assert_eq!(d.complete().unwrap().token, PersistToken(2));
    }

    #[test]
    fn power_off_loses_appends_that_were_not_fsynced() {
        let mut d = disk(true);
        append(&mut d, 1, b"one");
        fsync(&mut d);
        append(&mut d, 2, b"two");
        d.stop(Stop::PowerOff);
        assert_eq!(d.recovered().log, b"one");
    }

    #[test]
    fn process_crash_keeps_the_page_cache_when_the_scenario_says_so() {
        let mut keeps = disk(true);
        append(&mut keeps, 1, b"one");
        keeps.stop(Stop::ProcessCrash);
        assert_eq!(keeps.recovered().log, b"one");
        let mut loses = disk(false);
        append(&mut loses, 1, b"one");
        loses.stop(Stop::ProcessCrash);
        assert!(loses.recovered().log.is_empty());
    }

    #[test]
    fn queued_requests_vanish_on_crash() {
        let mut d = disk(true);
        d.submit(
            SimTime(0),
            PersistToken(1),
            PersistOp::WriteAcceptedEpoch(Epoch(3)),
        );
        d.stop(Stop::ProcessCrash);
        assert!(d.complete().is_none());
        assert_eq!(d.recovered().accepted_epoch, None);
    }

    #[test]
    fn lying_fsync_reports_success_without_durability() {
        let mut d = disk(false);
        d.inject(DiskFaultKind::LyingFsync, 1);
        append(&mut d, 1, b"one");
        assert_eq!(fsync(&mut d).result, Ok(()));
        d.stop(Stop::PowerOff);
        assert!(d.recovered().log.is_empty());
    }

    #[test]
    fn torn_write_leaves_part_of_the_unsynced_record() {
        let mut d = disk(false);
        append(&mut d, 1, b"aaaa");
        fsync(&mut d);
        append(&mut d, 2, b"bbbbbbbb");
        d.inject(DiskFaultKind::TornWrite, 1);
        let note = d.stop(Stop::PowerOff).unwrap();
        assert!(note.contains("torn"), "{note}");
        assert_eq!(d.recovered().log, b"aaaabbbb");
        // The next append starts clean after the last whole record.
        append(&mut d, 3, b"cc");
        fsync(&mut d);
        d.stop(Stop::PowerOff);
        assert_eq!(d.recovered().log, b"aaaacc");
    }

    #[test]
    fn corrupt_entry_changes_a_durable_record() {
        let mut d = disk(false);
        append(&mut d, 1, b"aaaaaaaa");
        fsync(&mut d);
        let note = d.inject(DiskFaultKind::CorruptEntry, 1);
        assert!(note.contains("flipped"), "{note}");
        d.stop(Stop::PowerOff);
        assert_ne!(d.recovered().log, b"aaaaaaaa");
        assert_eq!(d.recovered().log.len(), 8);
    }

    #[test]
    fn corrupt_entry_hits_the_newest_snapshot_when_the_log_is_empty() {
        let mut d = disk(false);
        d.submit(
            SimTime(0),
            PersistToken(1),
            PersistOp::Snapshot {
                zxid: Zxid::new(Epoch(1), 9),
                bytes: vec![1, 2, 3, 4],
            },
        );
        d.complete();
        let note = d.inject(DiskFaultKind::CorruptEntry, 1);
        assert!(note.contains("snapshot"), "{note}");
        d.stop(Stop::PowerOff);
        assert_ne!(d.recovered().snapshots[0].1, vec![1, 2, 3, 4]);
    }

    #[test]
    fn eio_and_disk_full_fail_writes_then_clear() {
        let mut d = disk(false);
        d.inject(DiskFaultKind::Eio, 1);
        d.inject(DiskFaultKind::DiskFull, 1);
        let op = |n| PersistOp::AppendLog {
            zxid: Zxid::new(Epoch(1), n),
            record: vec![1],
        };
        d.submit(SimTime(0), PersistToken(1), op(1));
        assert_eq!(d.complete().unwrap().result, Err(DiskError::Io));
        d.submit(SimTime(0), PersistToken(2), op(2));
        assert_eq!(d.complete().unwrap().result, Err(DiskError::Full));
        d.submit(SimTime(0), PersistToken(3), op(3));
        assert_eq!(d.complete().unwrap().result, Ok(()));
    }

    #[test]
    fn truncate_cuts_after_the_target_and_drops_newer_snapshots() {
        let mut d = disk(false);
        append(&mut d, 1, b"a");
        append(&mut d, 2, b"b");
        append(&mut d, 3, b"c");
        fsync(&mut d);
        d.submit(
            SimTime(0),
            PersistToken(7),
            PersistOp::Snapshot {
                zxid: Zxid::new(Epoch(1), 3),
                bytes: vec![0],
            },
        );
        d.complete();
        d.submit(
            SimTime(0),
            PersistToken(8),
            PersistOp::TruncateLog {
                to: Zxid::new(Epoch(1), 1),
            },
        );
        d.complete();
        d.stop(Stop::PowerOff);
        let r = d.recovered();
        assert_eq!(r.log, b"a");
        assert!(r.snapshots.is_empty());
    }

    #[test]
    fn a_preset_is_durable_and_recovered() {
        let mut d = disk(false);
        d.preset(PersistOp::WriteCurrentEpoch(Epoch(3))).unwrap();
        d.preset(PersistOp::WriteAcceptedEpoch(Epoch(4))).unwrap();
        d.preset(PersistOp::AppendLog {
            zxid: Zxid(1),
            record: vec![1, 2, 3],
        })
        .unwrap();
        d.stop(Stop::PowerOff);
        let r = d.recovered();
        assert_eq!(r.current_epoch, Some(Epoch(3)));
        assert_eq!(r.accepted_epoch, Some(Epoch(4)));
        assert_eq!(r.log, vec![1, 2, 3], "a preset append survives a power-off");
    }

    #[test]
    fn epoch_files_are_durable_when_written() {
        let mut d = disk(false);
        d.submit(
            SimTime(0),
            PersistToken(1),
            PersistOp::WriteAcceptedEpoch(Epoch(4)),
        );
        d.submit(
            SimTime(0),
            PersistToken(2),
            PersistOp::WriteCurrentEpoch(Epoch(3)),
        );
        d.complete();
        d.complete();
        d.stop(Stop::PowerOff);
        let r = d.recovered();
        assert_eq!(
            (r.accepted_epoch, r.current_epoch),
            (Some(Epoch(4)), Some(Epoch(3)))
        );
    }
}
