//! The persistence queue: every disk request the peer makes, with what to do when it is done.
//!
//! The driver executes requests in issue order and answers each with `PersistDone`; we keep
//! the issued requests in a FIFO so a completion can be matched to its purpose. Group commit
//! (ZooKeeper's `SyncRequestProcessor`) lives here too: appends accumulate, and one fsync at a
//! time covers all of them — issued when the current input has been handled (the request queue
//! "drained") or when the batch reaches `max_batch_size`.

use crate::ids::{Epoch, Zxid};
use crate::peer::{Output, PersistOp, PersistToken};
use std::collections::VecDeque;

/// What a completed request means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Append(Zxid),
    Fsync(Zxid),
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Snapshot(Zxid, Vec<u8>),
    Truncate(Zxid),
}

impl Pending {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Pending::Append(_) => "append",
            Pending::Fsync(_) => "fsync",
            Pending::AcceptedEpoch(_) => "acceptedEpoch",
            Pending::CurrentEpoch(_) => "currentEpoch",
            Pending::Snapshot(..) => "snapshot",
            Pending::Truncate(_) => "truncate",
        }
    }
}

/// Outstanding disk requests and the group-commit state.
#[derive(Default)]
pub struct Disk {
    next_token: u64,
    in_flight: VecDeque<(PersistToken, Pending)>,
    /// Appends issued since the last fsync was issued.
    unsynced_appends: usize,
    last_appended: Zxid,
    fsyncs_in_flight: usize,
}

/// An upper bound on outstanding requests; past it the driver is not answering and something is
/// badly wrong (we only assert: the driver owns back-pressure).
const IN_FLIGHT_MAX: usize = 1_000_000;

impl Disk {
    /// Issue one request.
    pub fn issue(
        &mut self,
        op: PersistOp,
        pending: Pending,
        out: &mut VecDeque<Output>,
    ) -> PersistToken {
        debug_assert!(
            self.in_flight.len() < IN_FLIGHT_MAX,
            "disk requests pile up"
        );
        self.next_token += 1;
        let token = PersistToken(self.next_token);
        match &pending {
            Pending::Append(zxid) => {
                self.unsynced_appends += 1;
                self.last_appended = *zxid;
            }
            Pending::Fsync(_) => {
                self.unsynced_appends = 0;
                self.fsyncs_in_flight += 1;
            }
            Pending::Truncate(to) => {
                self.last_appended = self.last_appended.min(*to);
            }
            _ => {}
        }
        self.in_flight.push_back((token, pending));
        out.push_back(Output::Persist { token, op });
        token
    }

    /// Match a completion to its request.
    pub fn complete(&mut self, token: PersistToken) -> Option<Pending> {
        let index = self.in_flight.iter().position(|(t, _)| *t == token)?;
        let (_, pending) = self.in_flight.remove(index)?;
        if matches!(pending, Pending::Fsync(_)) {
            self.fsyncs_in_flight -= 1;
        }
        Some(pending)
    }

    pub fn unsynced_appends(&self) -> usize {
        self.unsynced_appends
    }

    pub fn fsync_in_flight(&self) -> bool {
        self.fsyncs_in_flight > 0
    }

    pub fn last_appended(&self) -> Zxid {
        self.last_appended
    }

    /// Requests not yet answered.
    pub fn outstanding(&self) -> usize {
        self.in_flight.len()
    }
}
