//! The timeline a report draws, built from a history (ours) or from a plain op list (other
//! tools'), independent of how it is rendered.

use crate::history::{History, Outcome};
use crate::lin::Operation;
use crate::verdict::Violation;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use zab_core::peer::ServerEvent;

/// How an op ended, for its colour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SpanStyle {
    Ok,
    Failed,
    Unknown,
}

/// One op: a bar from invocation to completion (open-ended when unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub lane: usize,
    pub start: u64,
    pub end: Option<u64>,
    pub label: String,
    pub detail: String,
    pub style: SpanStyle,
    pub highlight: bool,
}

/// One instant event on a lane (a server event).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub lane: usize,
    pub at: u64,
    pub label: String,
    pub detail: String,
    pub highlight: bool,
}

/// What a vertical rule across every lane marks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Fault,
    Epoch,
}

/// A vertical rule across all lanes.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub at: u64,
    pub label: String,
    pub kind: RuleKind,
}

/// Everything a report draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub title: String,
    /// Time unit shown on the axis: "ms" for our histories, "line" for log files.
    pub unit: String,
    /// One line per violation.
    pub summary: Vec<String>,
    pub lanes: Vec<String>,
    pub spans: Vec<Span>,
    pub marks: Vec<Mark>,
    pub rules: Vec<Rule>,
}

/// A timeline of a plain op list (register/kv histories): one lane per client.
pub fn operations_timeline<I: Debug, O: Debug>(
    title: &str,
    ops: &[Operation<I, O>],
    describe: impl Fn(&Operation<I, O>) -> String,
    violations: &[Violation],
) -> Timeline {
    let offending: BTreeSet<u64> = violations
        .iter()
        .flat_map(|v| v.ops.iter().copied())
        .collect();
    let clients: BTreeSet<u64> = ops.iter().map(|op| op.client).collect();
    let lane_of: BTreeMap<u64, usize> = clients.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let spans = ops
        .iter()
        .map(|op| Span {
            lane: lane_of[&op.client],
            start: op.call,
            end: op.ret.filter(|_| op.output.is_some()),
            label: describe(op),
            detail: format!("op {} by {}: {}", op.id, op.client, describe(op)),
            style: if op.output.is_some() {
                SpanStyle::Ok
            } else {
                SpanStyle::Unknown
            },
            highlight: offending.contains(&op.id),
        })
        .collect();
    Timeline {
        title: title.to_string(),
        unit: "line".into(),
        summary: violations.iter().map(|v| v.to_string()).collect(),
        lanes: clients.iter().map(|c| format!("process {c}")).collect(),
        spans,
        marks: Vec::new(),
        rules: Vec::new(),
    }
}

/// A timeline of one of our histories: client lanes, then server lanes; faults and leader
/// establishments as rules; the violations' ops and events highlighted.
pub fn history_timeline(title: &str, history: &History, violations: &[Violation]) -> Timeline {
    let offending_ops: BTreeSet<u64> = violations
        .iter()
        .flat_map(|v| v.ops.iter().copied())
        .collect();
    let offending_events: BTreeSet<usize> = violations
        .iter()
        .flat_map(|v| v.events.iter().copied())
        .collect();
    let clients: BTreeSet<u64> = history.ops.iter().map(|op| op.client).collect();
    let servers: BTreeSet<u64> = history
        .server_events
        .iter()
        .map(|e| e.server.0)
        .chain(
            history
                .faults
                .iter()
                .flat_map(|f| f.targets.iter().map(|s| s.0)),
        )
        .collect();
    let mut lanes: Vec<String> = clients.iter().map(|c| format!("client {c}")).collect();
    let client_lane: BTreeMap<u64, usize> =
        clients.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let server_lane: BTreeMap<u64, usize> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, clients.len() + i))
        .collect();
    lanes.extend(servers.iter().map(|s| format!("server {s}")));

    let spans = history
        .ops
        .iter()
        .map(|op| {
            let (style, result) = match &op.outcome {
                Outcome::Ok { response, zxid } => (SpanStyle::Ok, format!("{response:?} @{zxid}")),
                Outcome::Failed { error, zxid } => {
                    (SpanStyle::Failed, format!("{error:?} @{zxid}"))
                }
                Outcome::Unknown => (SpanStyle::Unknown, "unknown".to_string()),
            };
            let request = format!("{:?}", op.request);
            Span {
                lane: client_lane[&op.client],
                start: op.invoke.0,
                end: op.complete.map(|c| c.0),
                label: short(&request, 40),
                detail: format!(
                    "op {} session {} server {:?}: {request} -> {result}",
                    op.id,
                    op.session,
                    op.server.map(|s| s.0)
                ),
                style,
                highlight: offending_ops.contains(&op.id),
            }
        })
        .collect();

    let marks = history
        .server_events
        .iter()
        .enumerate()
        .filter(|(i, e)| offending_events.contains(i) || is_notable(&e.event))
        .map(|(i, e)| Mark {
            lane: server_lane[&e.server.0],
            at: e.at.0,
            label: event_label(&e.event),
            detail: format!("event {i} at {}: server {} {:?}", e.at, e.server, e.event),
            highlight: offending_events.contains(&i),
        })
        .collect();

    let mut rules: Vec<Rule> = history
        .faults
        .iter()
        .map(|f| Rule {
            at: f.at.0,
            label: format!(
                "{} {}",
                f.action,
                f.targets
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            kind: RuleKind::Fault,
        })
        .collect();
    rules.extend(history.server_events.iter().filter_map(|e| match e.event {
        ServerEvent::LeaderEstablished { epoch } => Some(Rule {
            at: e.at.0,
            label: format!("epoch {epoch}: leader {}", e.server),
            kind: RuleKind::Epoch,
        }),
        _ => None,
    }));

    Timeline {
        title: title.to_string(),
        unit: "ms".into(),
        summary: violations.iter().map(|v| v.to_string()).collect(),
        lanes,
        spans,
        marks,
        rules,
    }
}

/// Events worth drawing even when not part of a violation; commits and log syncs would
/// drown the picture.
fn is_notable(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::RoleChanged { .. }
            | ServerEvent::LeaderEstablished { .. }
            | ServerEvent::Truncated { .. }
            | ServerEvent::Synced { .. }
            | ServerEvent::SessionExpired { .. }
    )
}

fn event_label(event: &ServerEvent) -> String {
    match event {
        ServerEvent::RoleChanged { role } => format!("{role:?}"),
        ServerEvent::LeaderEstablished { epoch } => format!("leads e{epoch}"),
        ServerEvent::Committed { zxid, .. } => format!("commit {zxid}"),
        ServerEvent::Truncated { to } => format!("trunc {to}"),
        ServerEvent::Synced { method, .. } => format!("{method:?}"),
        ServerEvent::SessionExpired { session } => format!("expire {session}"),
        other => short(&format!("{other:?}"), 24),
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{ClientOp, FaultRecord, ServerRecord};
    use crate::verdict::Property;
    use zab_core::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
    use zab_core::request::Request;

    fn op(id: u64, client: u64) -> ClientOp {
        ClientOp {
            id,
            client,
            session: SessionId(client as i64),
            server: Some(ServerId(1)),
            invoke: Millis(id * 10),
            complete: Some(Millis(id * 10 + 5)),
            request: Request::Sync { path: "/".into() },
            outcome: Outcome::Unknown,
            watch_events: vec![],
        }
    }

    #[test]
    fn history_timeline_has_a_lane_per_client_and_server_and_marks_evidence() {
        let history = History {
            version: 1,
            ops: vec![op(0, 7), op(1, 9), op(2, 7)],
            server_events: vec![
                ServerRecord {
                    at: Millis(1),
                    server: ServerId(2),
                    event: ServerEvent::LeaderEstablished { epoch: Epoch(1) },
                },
                ServerRecord {
                    at: Millis(3),
                    server: ServerId(1),
                    event: ServerEvent::Committed {
                        zxid: Zxid(1),
                        txn_hash: 1,
                    },
                },
            ],
            faults: vec![FaultRecord {
                at: Millis(15),
                action: "crash".into(),
                targets: vec![ServerId(2)],
                detail: String::new(),
            }],
            final_states: vec![],
            handshakes: vec![],
        };
        let violation = Violation::new(Property::SessionFifo, "x")
            .with_ops([2])
            .with_events([1]);
        let t = history_timeline("t", &history, &[violation]);
        assert_eq!(
            t.lanes,
            vec!["client 7", "client 9", "server 1", "server 2"]
        );
        assert_eq!(t.spans.iter().filter(|s| s.highlight).count(), 1);
        assert!(t.spans[2].highlight && t.spans[2].lane == 0);
        // The offending commit is drawn even though commits are not otherwise notable.
        assert!(t.marks.iter().any(|m| m.highlight && m.lane == 2));
        assert!(t
            .rules
            .iter()
            .any(|r| r.kind == RuleKind::Fault && r.at == 15));
        assert!(t
            .rules
            .iter()
            .any(|r| r.kind == RuleKind::Epoch && r.label.contains("epoch 1")));
        assert_eq!(t.summary.len(), 1);
    }
}
