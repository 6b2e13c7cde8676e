//! `session-fifo` and `monotonic-reads`: what one session sees.
//!
//! ZooKeeper answers a session's requests in the order it sent them and applies its writes in
//! that order; every reply carries the zxid of the state it came from (the server's last
//! processed zxid), and a session never sees that zxid go down — also after reconnecting to
//! another server, which refuses a client whose lastZxidSeen is ahead of it.
//!
//! Classification of a zxid that goes down: if the higher zxid came from the session's own
//! write on the same connection, the later op overtook it (`session-fifo`); otherwise the
//! session saw the tree go backwards (`monotonic-reads`), named "time travel across
//! reconnect" when the two replies came from different servers.

use super::ops::{answered_zxid, by_session};
use crate::history::{ClientOp, History, Outcome};
use crate::verdict::{Property, Violation};
use zab_core::ids::Zxid;

/// At most this many violations of one kind per session (the first ones are the evidence;
/// the rest usually follow from them).
const PER_SESSION_MAX: usize = 3;

/// Returns (session-fifo violations, monotonic-reads violations).
pub fn check(history: &History) -> (Vec<Violation>, Vec<Violation>) {
    let mut fifo = Vec::new();
    let mut monotonic = Vec::new();
    for (session, ops) in by_session(history) {
        let answered: Vec<(&ClientOp, Zxid)> = ops
            .iter()
            .filter_map(|op| Some((*op, answered_zxid(op)?)))
            .collect();
        let mut fifo_here = Vec::new();
        let mut mono_here = Vec::new();

        // Replies in the order of requests.
        let mut latest_reply: Option<(&ClientOp, u64)> = None;
        for (op, _) in &answered {
            let Some(done) = op.complete else { continue };
            if let Some((earlier, at)) = latest_reply {
                if done.0 < at {
                    fifo_here.push(
                        Violation::new(
                            Property::SessionFifo,
                            format!(
                                "session {session}: reply to #{} (sent later) arrived at {done} before the reply to #{} at {}ms",
                                op.id, earlier.id, at
                            ),
                        )
                        .with_ops([earlier.id, op.id]),
                    );
                }
            }
            if latest_reply.is_none_or(|(_, at)| done.0 >= at) {
                latest_reply = Some((op, done.0));
            }
        }

        // Writes take effect in the order sent.
        let mut last_write: Option<(&ClientOp, Zxid)> = None;
        for (op, zxid) in &answered {
            if !(op.request.is_write() && matches!(op.outcome, Outcome::Ok { .. })) {
                continue;
            }
            if let Some((earlier, earlier_zxid)) = last_write {
                if *zxid <= earlier_zxid {
                    fifo_here.push(
                        Violation::new(
                            Property::SessionFifo,
                            format!(
                                "session {session}: write #{} took effect at zxid {zxid}, not after its earlier write #{} at {earlier_zxid}",
                                op.id, earlier.id
                            ),
                        )
                        .with_ops([earlier.id, op.id]),
                    );
                }
            }
            last_write = Some((op, *zxid));
        }

        // The zxid seen never goes down.
        let mut highest: Option<(&ClientOp, Zxid)> = None;
        for (op, zxid) in &answered {
            if let Some((earlier, seen)) = highest {
                if *zxid < seen {
                    let reconnected = earlier.server != op.server;
                    let own_write = earlier.request.is_write();
                    let where_ = if reconnected {
                        format!(
                            " (time travel across reconnect: server {} then server {})",
                            server_name(earlier),
                            server_name(op)
                        )
                    } else {
                        String::new()
                    };
                    if own_write && !reconnected {
                        fifo_here.push(
                            Violation::new(
                                Property::SessionFifo,
                                format!(
                                    "session {session}: #{} was sent after its write #{} (zxid {seen}) but was answered from the older state at zxid {zxid}",
                                    op.id, earlier.id
                                ),
                            )
                            .with_ops([earlier.id, op.id]),
                        );
                    } else {
                        mono_here.push(
                            Violation::new(
                                Property::MonotonicReads,
                                format!(
                                    "session {session}: saw zxid {seen} at #{}, then the older zxid {zxid} at #{}{where_}",
                                    earlier.id, op.id
                                ),
                            )
                            .with_ops([earlier.id, op.id]),
                        );
                    }
                    continue;
                }
            }
            highest = Some((op, *zxid));
        }
        fifo_here.truncate(PER_SESSION_MAX);
        mono_here.truncate(PER_SESSION_MAX);
        fifo.extend(fifo_here);
        monotonic.extend(mono_here);
    }
    (fifo, monotonic)
}

fn server_name(op: &ClientOp) -> String {
    op.server
        .map(|s| s.to_string())
        .unwrap_or_else(|| "?".into())
}
