//! Aimed faults: a `[[fault]]` with `on = { sent = "ACKEPOCH", by = "follower" }` fires when a
//! server sends a matching packet, not at a wall-clock instant. ZooKeeper's data-loss bugs live
//! in windows a few milliseconds wide (between an ACK and the fsync it claims, between NEWLEADER
//! and its ACK); random faults rarely land there, a protocol event always does.
//!
//! What a trigger sees is the sender's `Output::Send` as the engine carries it out: the packet
//! is on the wire, and with no `delay` the fault applies before the sender does anything else
//! in that step (a crash or power-off then discards the rest of the step's outputs — the
//! process died right after the send).

use super::{FaultAction, Target};
use crate::time::Span;
use zab_core::ids::ServerId;
use zab_core::peer::{PeerMessage, Role};

/// The packet names a trigger accepts: ZooKeeper's quorum packet names, plus `NOTIFICATION`
/// for an election message.
pub const PACKET_NAMES: [&str; 20] = [
    "REQUEST",
    "PROPOSAL",
    "ACK",
    "COMMIT",
    "PING",
    "REVALIDATE",
    "SYNC",
    "INFORM",
    "COMMITANDACTIVATE",
    "NEWLEADER",
    "FOLLOWERINFO",
    "UPTODATE",
    "DIFF",
    "TRUNC",
    "SNAP",
    "OBSERVERINFO",
    "LEADERINFO",
    "ACKEPOCH",
    "INFORMANDACTIVATE",
    "NOTIFICATION",
];

/// The name a trigger matches `msg` by.
pub fn packet_name(msg: &PeerMessage) -> &'static str {
    match msg {
        PeerMessage::Election(_) => "NOTIFICATION",
        PeerMessage::Quorum(p) => p.name(),
    }
}

/// One side of a send, as a trigger filters it. Roles are read when the packet goes out
/// (a learner in discovery or synchronisation already has the following role).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Any,
    Id(ServerId),
    Leader,
    /// Following (a voter learner).
    Follower,
    Observer,
    /// Following or observing.
    Learner,
}

impl Endpoint {
    pub const NAMES: [&'static str; 5] = ["any", "leader", "follower", "observer", "learner"];

    pub fn matches(self, id: ServerId, role: Role) -> bool {
        match self {
            Endpoint::Any => true,
            Endpoint::Id(want) => want == id,
            Endpoint::Leader => role == Role::Leading,
            Endpoint::Follower => role == Role::Following,
            Endpoint::Observer => role == Role::Observing,
            Endpoint::Learner => matches!(role, Role::Following | Role::Observing),
        }
    }
}

/// `on = { … }`: which sends fire the fault, and how often.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// One of [`PACKET_NAMES`].
    pub packet: &'static str,
    pub by: Endpoint,
    pub to: Endpoint,
    /// Let this many matching sends pass first (aim at the n-th PROPOSAL, not the first).
    pub skip: u32,
    /// How many times the fault may fire (at least 1).
    pub times: u32,
    /// How long after the send the fault applies (zero: before the sender's next action).
    pub delay: Span,
}

impl Trigger {
    /// Does a send of `packet` from `from` (in role `from_role`) to `to` match?
    pub fn matches(&self, packet: &str, from: (ServerId, Role), to: (ServerId, Role)) -> bool {
        debug_assert!(self.times >= 1, "validation rejects times = 0");
        self.packet == packet && self.by.matches(from.0, from.1) && self.to.matches(to.0, to.1)
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "on {} by {:?} to {:?}", self.packet, self.by, self.to)?;
        if self.skip > 0 {
            write!(f, " after {} passed", self.skip)?;
        }
        if self.delay > Span::ZERO {
            write!(f, " +{}", self.delay)?;
        }
        Ok(())
    }
}

impl FaultAction {
    /// Every target list the action names.
    pub fn target_lists(&self) -> Vec<&[Target]> {
        match self {
            FaultAction::Crash(t) | FaultAction::PowerOff(t) | FaultAction::Restart(t) => {
                vec![t]
            }
            FaultAction::Partition(groups) => groups.iter().map(|g| g.as_slice()).collect(),
            FaultAction::OneWay { from, to } => vec![from, to],
            FaultAction::ClientPartition { servers, .. } => vec![servers],
            FaultAction::Heal => Vec::new(),
            FaultAction::Pause { targets, .. }
            | FaultAction::DiskFault { targets, .. }
            | FaultAction::Drift { targets, .. } => vec![targets],
        }
    }

    /// The action with `sender` and `receiver` standing for the servers of the send that
    /// fired it.
    pub fn aimed_at(&self, sender: ServerId, receiver: ServerId) -> FaultAction {
        let one = |t: &Target| match t {
            Target::Sender => Target::Id(sender),
            Target::Receiver => Target::Id(receiver),
            other => other.clone(),
        };
        let list = |ts: &[Target]| ts.iter().map(one).collect::<Vec<_>>();
        match self {
            FaultAction::Crash(t) => FaultAction::Crash(list(t)),
            FaultAction::PowerOff(t) => FaultAction::PowerOff(list(t)),
            FaultAction::Restart(t) => FaultAction::Restart(list(t)),
            FaultAction::Partition(groups) => {
                FaultAction::Partition(groups.iter().map(|g| list(g)).collect())
            }
            FaultAction::OneWay { from, to } => FaultAction::OneWay {
                from: list(from),
                to: list(to),
            },
            FaultAction::ClientPartition {
                clients,
                servers,
                direction,
            } => FaultAction::ClientPartition {
                clients: clients.clone(),
                servers: list(servers),
                direction: *direction,
            },
            FaultAction::Heal => FaultAction::Heal,
            FaultAction::Pause { targets, span } => FaultAction::Pause {
                targets: list(targets),
                span: *span,
            },
            FaultAction::DiskFault {
                targets,
                kind,
                count,
            } => FaultAction::DiskFault {
                targets: list(targets),
                kind: *kind,
                count: *count,
            },
            FaultAction::Drift {
                targets,
                ppm,
                jump_ms,
            } => FaultAction::Drift {
                targets: list(targets),
                ppm: *ppm,
                jump_ms: *jump_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab_core::zab::packet::code_name;

    #[test]
    fn packet_names_are_zookeepers_quorum_packets_and_notification() {
        let quorum: Vec<&str> = (1..=19).filter_map(code_name).collect();
        assert_eq!(quorum.len(), 19);
        assert_eq!(&PACKET_NAMES[..19], &quorum[..]);
        assert_eq!(PACKET_NAMES[19], "NOTIFICATION");
    }

    #[test]
    fn sender_and_receiver_become_the_sends_servers() {
        let action = FaultAction::Partition(vec![vec![Target::Sender], vec![Target::Receiver]]);
        assert_eq!(
            action.aimed_at(ServerId(2), ServerId(3)),
            FaultAction::Partition(vec![
                vec![Target::Id(ServerId(2))],
                vec![Target::Id(ServerId(3))]
            ])
        );
        let crash = FaultAction::Crash(vec![Target::Leader, Target::Receiver]);
        assert_eq!(
            crash.aimed_at(ServerId(1), ServerId(3)),
            FaultAction::Crash(vec![Target::Leader, Target::Id(ServerId(3))])
        );
    }

    #[test]
    fn endpoints_match_by_role_at_send_time() {
        let s = ServerId(2);
        assert!(Endpoint::Follower.matches(s, Role::Following));
        assert!(!Endpoint::Follower.matches(s, Role::Observing));
        assert!(Endpoint::Learner.matches(s, Role::Observing));
        assert!(!Endpoint::Leader.matches(s, Role::Looking));
        assert!(Endpoint::Id(s).matches(s, Role::Looking));
        assert!(!Endpoint::Id(ServerId(3)).matches(s, Role::Leading));
    }
}
