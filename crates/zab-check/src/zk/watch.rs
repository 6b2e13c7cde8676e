//! `watch-before-data`: a client receives the watch event for a change before it can see
//! the state the change produced.
//!
//! The server fires a watch while applying the change and queues the event on the client's
//! connection before any reply built from a later state; the connection is FIFO. So if an
//! event for the change at zxid W arrives at time t, no reply on the same connection that
//! carries zxid ≥ W may have arrived before t. "Same connection" is approximated
//! conservatively: the replying op, the op during which the event arrived, and every op of
//! the session between them were sent to the same server.

use super::ops::{answered_zxid, by_session};
use crate::history::History;
use crate::verdict::{Property, Violation};
use zab_core::ids::Zxid;
use zab_core::request::EventType;

/// At most this many violations are reported.
const REPORTED_MAX: usize = 10;

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (session, ops) in by_session(history) {
        for (k, carrier) in ops.iter().enumerate() {
            for record in &carrier.watch_events {
                let event = &record.event;
                if event.event_type == EventType::None || event.zxid == Zxid::ZERO {
                    continue;
                }
                // Walk back over the ops on the same server as the carrier.
                let mut j = k + 1;
                while j > 0 {
                    j -= 1;
                    let op = ops[j];
                    if op.server != carrier.server {
                        break;
                    }
                    let (Some(done), Some(zxid)) = (op.complete, answered_zxid(op)) else {
                        continue;
                    };
                    if done < record.at && zxid >= event.zxid {
                        violations.push(
                            Violation::new(
                                Property::WatchBeforeData,
                                format!(
                                    "session {session}: #{} was answered at {done} from zxid {zxid}, but the {:?} event for {} (zxid {}) arrived only at {}",
                                    op.id, event.event_type, event.path, event.zxid, record.at
                                ),
                            )
                            .with_ops([op.id, carrier.id]),
                        );
                        break;
                    }
                }
                if violations.len() >= REPORTED_MAX {
                    return violations;
                }
            }
        }
    }
    violations
}

/// Does the history record any watch event at all?
pub fn has_watch_events(history: &History) -> bool {
    history.ops.iter().any(|op| !op.watch_events.is_empty())
}
