//! The simulator's own checks on a history, used until (and alongside) `zab-check`'s full
//! checker: one leader per epoch, no acknowledged write lost, one transaction per zxid.
//! Each check is named as in reports and `[expect]`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zab_check::history::{History, Outcome};
use zab_core::ids::{Epoch, ServerId, Zxid};
use zab_core::peer::{ServerEvent, SyncMethod};

/// A broken promise, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub name: String,
    pub detail: String,
}

/// Who established leadership in each epoch.
pub fn leaders_by_epoch(history: &History) -> BTreeMap<Epoch, BTreeSet<ServerId>> {
    let mut leaders: BTreeMap<Epoch, BTreeSet<ServerId>> = BTreeMap::new();
    for r in &history.server_events {
        if let ServerEvent::LeaderEstablished { epoch } = r.event {
            leaders.entry(epoch).or_default().insert(r.server);
        }
    }
    leaders
}

/// Every time a server took the leading role (`RoleChanged { Leading }`), in order: the
/// election's outcome, before ZAB establishes it.
pub fn leadership_changes(history: &History) -> Vec<(zab_core::ids::Millis, ServerId)> {
    history
        .server_events
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                ServerEvent::RoleChanged {
                    role: zab_core::peer::Role::Leading
                }
            )
        })
        .map(|r| (r.at, r.server))
        .collect()
}

/// Run every built-in check.
pub fn check(history: &History) -> Vec<Violation> {
    let mut v = single_leader_per_epoch(history);
    v.extend(committed_agreement(history));
    v.extend(no_acked_write_lost(history));
    v
}

/// The scenario's own expectations beyond "no violation": who leads first, how much progress.
pub fn expectations(scenario: &crate::scenario::Scenario, history: &History) -> Vec<Violation> {
    let mut out: Vec<Violation> = history
        .faults
        .iter()
        .filter(|f| f.action == "panic")
        .take(10)
        .map(|f| Violation {
            name: "process-panic".into(),
            detail: format!("server {:?} at {}: {}", f.targets, f.at, f.detail),
        })
        .collect();
    if let Some(want) = scenario.expect_first_leader {
        let first = leadership_changes(history).first().map(|(_, s)| *s);
        if first != Some(want) {
            out.push(Violation {
                name: "expected-leader".into(),
                detail: format!("expected server {want} to lead first, got {first:?}"),
            });
        }
    }
    let acked = history
        .ops
        .iter()
        .filter(|op| op.request.is_write() && matches!(op.outcome, Outcome::Ok { .. }))
        .count() as u64;
    if acked < scenario.expect_min_acked_writes {
        out.push(Violation {
            name: "no-progress".into(),
            detail: format!(
                "{acked} writes acknowledged, expected at least {}",
                scenario.expect_min_acked_writes
            ),
        });
    }
    out
}

pub fn single_leader_per_epoch(history: &History) -> Vec<Violation> {
    leaders_by_epoch(history)
        .into_iter()
        .filter(|(_, servers)| servers.len() > 1)
        .map(|(epoch, servers)| Violation {
            name: "single-leader-per-epoch".into(),
            detail: format!("epoch {epoch} was established by servers {servers:?}"),
        })
        .collect()
}

/// Two servers never commit different transactions under one zxid.
pub fn committed_agreement(history: &History) -> Vec<Violation> {
    let mut seen: BTreeMap<Zxid, (u64, ServerId)> = BTreeMap::new();
    let mut out = Vec::new();
    for r in &history.server_events {
        if let ServerEvent::Committed { zxid, txn_hash } = r.event {
            match seen.get(&zxid) {
                Some((h, s)) if *h != txn_hash => {
                    out.push(Violation {
                        name: "agreement".into(),
                        detail: format!(
                            "zxid {zxid}: server {s} committed txn {h:#x}, server {} committed {txn_hash:#x}",
                            r.server
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    seen.insert(zxid, (txn_hash, r.server));
                }
            }
        }
    }
    out.truncate(10);
    out
}

/// What a server holds at the end, replayed from its events: committed zxids (minus
/// truncations) and the zxid a snapshot sync brought it to.
#[derive(Default)]
struct Holding {
    committed: BTreeSet<Zxid>,
    snap_up_to: Zxid,
}

impl Holding {
    fn has(&self, z: Zxid) -> bool {
        z <= self.snap_up_to || self.committed.contains(&z)
    }
}

/// Every write a client saw succeed is committed on every server alive at the end.
pub fn no_acked_write_lost(history: &History) -> Vec<Violation> {
    let mut holdings: BTreeMap<ServerId, Holding> = BTreeMap::new();
    for r in &history.server_events {
        let h = holdings.entry(r.server).or_default();
        match r.event {
            ServerEvent::Committed { zxid, .. } => {
                h.committed.insert(zxid);
            }
            ServerEvent::Truncated { to } => {
                h.committed.retain(|z| *z <= to);
                h.snap_up_to = h.snap_up_to.min(to);
            }
            ServerEvent::Synced {
                method: SyncMethod::Snap,
                leader_zxid,
            } => {
                h.snap_up_to = h.snap_up_to.max(leader_zxid);
            }
            _ => {}
        }
    }
    let live: Vec<ServerId> = history
        .final_states
        .iter()
        .filter(|f| f.alive)
        .map(|f| f.server)
        .collect();
    let mut out = Vec::new();
    for op in &history.ops {
        let Outcome::Ok { zxid, .. } = &op.outcome else {
            continue;
        };
        if !op.request.is_write() || zxid.0 == 0 {
            continue;
        }
        let missing: Vec<ServerId> = live
            .iter()
            .copied()
            .filter(|s| !holdings.get(s).is_some_and(|h| h.has(*zxid)))
            .collect();
        if !missing.is_empty() {
            out.push(Violation {
                name: "no-acked-write-lost".into(),
                detail: format!(
                    "op {} (client {}, {:?}) was acknowledged with zxid {zxid} but servers {missing:?} do not hold it at the end",
                    op.id, op.client, op.request.op_code()
                ),
            });
        }
    }
    out.truncate(10);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab_check::history::{ClientOp, FinalState, ServerRecord};
    use zab_core::ids::{Millis, SessionId};
    use zab_core::request::{Request, Response, Stat};

    fn event(server: u64, event: ServerEvent) -> ServerRecord {
        ServerRecord {
            at: Millis(0),
            server: ServerId(server),
            event,
        }
    }

    fn acked_write(zxid: Zxid) -> ClientOp {
        ClientOp {
            id: 0,
            client: 1,
            session: SessionId(1),
            server: Some(ServerId(1)),
            invoke: Millis(0),
            complete: Some(Millis(1)),
            request: Request::SetData {
                path: "/k0".into(),
                data: vec![],
                version: -1,
            },
            outcome: Outcome::Ok {
                response: Response::SetData {
                    stat: Stat::default(),
                },
                zxid,
            },
            watch_events: vec![],
        }
    }

    fn alive(ids: &[u64]) -> Vec<FinalState> {
        ids.iter()
            .map(|i| FinalState {
                server: ServerId(*i),
                alive: true,
                last_applied: Zxid::ZERO,
                digest: 0,
            })
            .collect()
    }

    #[test]
    fn two_leaders_in_one_epoch_is_a_violation() {
        let mut h = History::default();
        h.server_events
            .push(event(1, ServerEvent::LeaderEstablished { epoch: Epoch(1) }));
        assert!(check(&h).is_empty());
        h.server_events
            .push(event(2, ServerEvent::LeaderEstablished { epoch: Epoch(1) }));
        let v = check(&h);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].name, "single-leader-per-epoch");
    }

    #[test]
    fn an_acked_write_missing_from_a_live_server_is_lost() {
        let z = Zxid::new(Epoch(1), 1);
        let mut h = History {
            ops: vec![acked_write(z)],
            final_states: alive(&[1, 2]),
            ..History::default()
        };
        h.server_events.push(event(
            1,
            ServerEvent::Committed {
                zxid: z,
                txn_hash: 7,
            },
        ));
        let v = no_acked_write_lost(&h);
        assert_eq!(v.len(), 1, "server 2 never committed it");
        h.server_events.push(event(
            2,
            ServerEvent::Committed {
                zxid: z,
                txn_hash: 7,
            },
        ));
        assert!(no_acked_write_lost(&h).is_empty());
        // Truncated away afterwards: lost again.
        h.server_events
            .push(event(2, ServerEvent::Truncated { to: Zxid::ZERO }));
        assert_eq!(no_acked_write_lost(&h).len(), 1);
        // A snapshot sync past it restores it.
        h.server_events.push(event(
            2,
            ServerEvent::Synced {
                method: SyncMethod::Snap,
                leader_zxid: z,
            },
        ));
        assert!(no_acked_write_lost(&h).is_empty());
    }

    #[test]
    fn different_transactions_under_one_zxid_break_agreement() {
        let z = Zxid::new(Epoch(1), 1);
        let mut h = History::default();
        h.server_events.push(event(
            1,
            ServerEvent::Committed {
                zxid: z,
                txn_hash: 7,
            },
        ));
        h.server_events.push(event(
            2,
            ServerEvent::Committed {
                zxid: z,
                txn_hash: 7,
            },
        ));
        assert!(committed_agreement(&h).is_empty());
        h.server_events.push(event(
            3,
            ServerEvent::Committed {
                zxid: z,
                txn_hash: 8,
            },
        ));
        assert_eq!(committed_agreement(&h)[0].name, "agreement");
    }
}
