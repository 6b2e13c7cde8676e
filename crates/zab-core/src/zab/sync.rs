//! Synchronisation, the leader's half: choosing DIFF, TRUNC, TRUNC+DIFF or SNAP for one learner
//! (`LearnerHandler.syncFollower` and `queueCommittedProposals`).
//!
//! Inputs are the learner's last logged zxid and the leader's database: its committed-log
//! window `[minCommittedLog, maxCommittedLog]` and its on-disk log. The outcome is the list of
//! packets to queue before NEWLEADER, or "send a snapshot".

use super::database::Database;
use super::packet::QuorumPacket;
use crate::ids::Zxid;
use crate::txn::Txn;

/// What to send a learner before NEWLEADER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    /// DIFF/TRUNC and the proposal/commit pairs; empty when `need_snap`.
    pub packets: Vec<QuorumPacket>,
    /// Send the whole database instead.
    pub need_snap: bool,
    /// The newest zxid the learner will have once these packets are processed (the point from
    /// which outstanding proposals are forwarded).
    pub current_zxid: Zxid,
}

/// Packet queueing state of one `syncFollower` call.
struct Queue {
    packets: Vec<QuorumPacket>,
    need_op_packet: bool,
    skip_truncate: bool,
}

impl Queue {
    /// The TRUNC decision point; the `skip-truncate` bug sends DIFF instead, leaving the
    /// learner's divergent tail in place.
    fn trunc(&mut self, to: Zxid, diff_zxid: Zxid) {
        if self.skip_truncate {
            self.packets.push(QuorumPacket::Diff { zxid: diff_zxid });
        } else {
            self.packets.push(QuorumPacket::Trunc { zxid: to });
        }
    }

    /// `queueCommittedProposals`: walk `txns` (in zxid order); decide DIFF or TRUNC at the
    /// first transaction at or after the peer's zxid; queue each later one as PROPOSAL + COMMIT.
    /// Returns the last zxid queued; leaves `need_op_packet` set when it had to give up (a
    /// TRUNC across an epoch boundary), which means SNAP.
    fn committed_proposals<'a>(
        &mut self,
        txns: impl Iterator<Item = &'a Txn>,
        peer_last: Zxid,
        max_zxid: Option<Zxid>,
        last_committed: Zxid,
    ) -> Zxid {
        let peer_is_new_epoch = peer_last.counter() == 0;
        let mut queued = peer_last;
        let mut previous: Option<Zxid> = None;
        for txn in txns {
            let zxid = txn.zxid();
            if max_zxid.is_some_and(|max| zxid > max) {
                break;
            }
            if zxid < peer_last {
                previous = Some(zxid);
                continue;
            }
            if self.need_op_packet {
                if zxid == peer_last {
                    self.packets.push(QuorumPacket::Diff {
                        zxid: last_committed,
                    });
                    self.need_op_packet = false;
                    continue;
                }
                if peer_is_new_epoch {
                    self.packets.push(QuorumPacket::Diff {
                        zxid: last_committed,
                    });
                    self.need_op_packet = false;
                } else if zxid > peer_last {
                    // The learner has transactions this history lacks: it was probably an
                    // old leader. A TRUNC may not cross an epoch boundary: give up (SNAP).
                    if zxid.epoch() != peer_last.epoch() {
                        return queued;
                    }
                    let to = previous.unwrap_or(Zxid::ZERO);
                    self.trunc(to, last_committed);
                    self.need_op_packet = false;
                }
            }
            if zxid <= queued {
                continue;
            }
            self.packets.push(QuorumPacket::Proposal(txn.clone()));
            self.packets.push(QuorumPacket::Commit { zxid });
            queued = zxid;
        }
        if self.need_op_packet && peer_is_new_epoch {
            self.packets.push(QuorumPacket::Diff {
                zxid: last_committed,
            });
            self.need_op_packet = false;
        }
        queued
    }
}

/// `syncFollower`: how to bring a learner whose last logged zxid is `peer_last` up to date.
pub fn plan_sync(db: &Database, peer_last: Zxid, skip_truncate: bool) -> SyncPlan {
    let peer_is_new_epoch = peer_last.counter() == 0;
    let last_processed = db.last_processed();
    let (min_committed, max_committed) = db.committed_window();
    let mut queue = Queue {
        packets: Vec::new(),
        need_op_packet: true,
        skip_truncate,
    };
    let mut current = peer_last;
    let mut need_snap = true;

    if last_processed == peer_last {
        queue.packets.push(QuorumPacket::Diff { zxid: peer_last });
        queue.need_op_packet = false;
        need_snap = false;
    } else if peer_last > max_committed && !peer_is_new_epoch {
        queue.trunc(max_committed, max_committed);
        queue.need_op_packet = false;
        current = max_committed;
        need_snap = false;
    } else if min_committed <= peer_last && peer_last <= max_committed {
        current = queue.committed_proposals(db.committed_log(), peer_last, None, max_committed);
        need_snap = false;
    } else if peer_last < min_committed {
        let from_log = db.log_from(peer_last);
        if !from_log.is_empty() {
            current = queue.committed_proposals(
                from_log.iter(),
                peer_last,
                Some(min_committed),
                max_committed,
            );
            if current < min_committed {
                // A gap between the end of the log and the start of the window.
                queue.packets.clear();
                queue.need_op_packet = true;
                current = peer_last;
            } else {
                current =
                    queue.committed_proposals(db.committed_log(), current, None, max_committed);
                need_snap = false;
            }
        }
    }
    if queue.need_op_packet && !need_snap {
        need_snap = true;
    }
    if need_snap {
        queue.packets.clear();
        current = last_processed;
    }
    debug_assert!(
        queue
            .packets
            .iter()
            .filter_map(|p| match p {
                QuorumPacket::Proposal(t) => Some(t.zxid()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0] < w[1]),
        "sync proposals strictly increase"
    );
    SyncPlan {
        packets: queue.packets,
        need_snap,
        current_zxid: current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ids::{Epoch, Millis, ServerId, SessionId};
    use crate::txn::{TxnBody, TxnHeader};

    fn txn(epoch: u32, counter: u32) -> Txn {
        Txn {
            header: TxnHeader {
                session: SessionId(1),
                cxid: counter as i32,
                zxid: Zxid::new(Epoch(epoch), counter),
                time: Millis(0),
            },
            body: TxnBody::CreateSession { timeout_ms: 1000 },
        }
    }

    fn db_with(txns: &[Txn], window: usize) -> Database {
        let mut config = Config::new(
            ServerId(1),
            [ServerId(1)].into_iter().collect(),
            Default::default(),
        );
        config.commit_log_count = window;
        let mut db = Database::empty(&config);
        for t in txns {
            db.append(t);
            db.apply(t);
        }
        db
    }

    fn kinds(plan: &SyncPlan) -> Vec<String> {
        plan.packets
            .iter()
            .map(|p| format!("{}:{:x}", p.name(), p.zxid().0))
            .collect()
    }

    #[test]
    fn empty_diff_when_learner_is_current() {
        let db = db_with(&[txn(1, 1), txn(1, 2)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 2), false);
        assert!(!plan.need_snap);
        assert_eq!(kinds(&plan), vec!["DIFF:100000002"]);
    }

    #[test]
    fn diff_when_learner_inside_committed_window() {
        let db = db_with(&[txn(1, 1), txn(1, 2), txn(1, 3)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 1), false);
        assert_eq!(
            kinds(&plan),
            vec![
                "DIFF:100000003",
                "PROPOSAL:100000002",
                "COMMIT:100000002",
                "PROPOSAL:100000003",
                "COMMIT:100000003"
            ]
        );
        assert_eq!(plan.current_zxid, Zxid::new(Epoch(1), 3));
    }

    #[test]
    fn trunc_when_learner_ahead_of_committed_log() {
        let db = db_with(&[txn(1, 1), txn(1, 2)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 5), false);
        assert_eq!(kinds(&plan), vec!["TRUNC:100000002"]);
        assert_eq!(plan.current_zxid, Zxid::new(Epoch(1), 2));
    }

    #[test]
    fn skip_truncate_bug_sends_diff_instead() {
        let db = db_with(&[txn(1, 1), txn(1, 2)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 5), true);
        assert_eq!(kinds(&plan), vec!["DIFF:100000002"]);
    }

    #[test]
    fn trunc_then_diff_when_learner_has_a_zxid_the_history_lacks() {
        // The leader's history skips (1,3): the learner logged it in an epoch-1 that failed.
        let db = db_with(&[txn(1, 1), txn(1, 2), txn(1, 4), txn(1, 5)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 3), false);
        assert_eq!(
            kinds(&plan),
            vec![
                "TRUNC:100000002",
                "PROPOSAL:100000004",
                "COMMIT:100000004",
                "PROPOSAL:100000005",
                "COMMIT:100000005"
            ]
        );
    }

    #[test]
    fn snap_when_trunc_would_cross_an_epoch() {
        let db = db_with(&[txn(1, 1), txn(1, 2), txn(2, 1), txn(2, 2)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 3), false);
        assert!(plan.need_snap);
        assert!(plan.packets.is_empty());
        assert_eq!(plan.current_zxid, Zxid::new(Epoch(2), 2));
    }

    #[test]
    fn diff_from_disk_log_below_the_window() {
        let txns: Vec<Txn> = (1..=10).map(|c| txn(1, c)).collect();
        let db = db_with(&txns, 3);
        assert_eq!(
            db.committed_window(),
            (Zxid::new(Epoch(1), 8), Zxid::new(Epoch(1), 10))
        );
        let plan = plan_sync(&db, Zxid::new(Epoch(1), 4), false);
        assert!(!plan.need_snap);
        assert_eq!(
            plan.packets[0],
            QuorumPacket::Diff {
                zxid: Zxid::new(Epoch(1), 10)
            }
        );
        let proposals: Vec<u32> = plan
            .packets
            .iter()
            .filter_map(|p| match p {
                QuorumPacket::Proposal(t) => Some(t.zxid().counter()),
                _ => None,
            })
            .collect();
        assert_eq!(proposals, vec![5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn snap_when_learner_is_older_than_the_log() {
        let txns: Vec<Txn> = (1..=10).map(|c| txn(1, c)).collect();
        let db = db_with(&txns, 3);
        // An empty learner: the log does not reach back to zxid 0.
        let plan = plan_sync(&db, Zxid::ZERO, false);
        assert!(plan.need_snap);
    }

    #[test]
    fn new_epoch_learner_gets_diff() {
        let db = db_with(&[txn(1, 1), txn(2, 1)], 500);
        let plan = plan_sync(&db, Zxid::new(Epoch(2), 0), false);
        assert!(!plan.need_snap);
        assert_eq!(kinds(&plan)[0], "DIFF:200000001");
    }
}
