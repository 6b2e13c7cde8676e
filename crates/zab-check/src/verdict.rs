//! What the checker concludes: named properties, their status, and violations with the
//! smallest evidence found. The names appear in reports and scenario files' `[expect]`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A promise the checker verifies. The serde form is the kebab-case name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// A whole register / kv history is linearizable (other tools' histories).
    Linearizable,
    /// Updates take effect in one total order consistent with real time and the tree's
    /// semantics.
    LinearizableWrites,
    /// A session's requests take effect, and are answered, in the order it sent them.
    SessionFifo,
    /// The zxid a session sees never goes down, also across reconnects.
    MonotonicReads,
    /// A read returns the state of a prefix of the write order: the state at its zxid.
    ConsistentReads,
    /// A read after a successful sync sees every write completed before the sync began.
    SyncFreshness,
    /// A watch event arrives before the client can see the data that fired it.
    WatchBeforeData,
    /// An ephemeral exists from its creation until its owner's session ends, and not after.
    EphemeralLifetime,
    /// A session does not expire while its client keeps in contact with the ensemble.
    NoPrematureExpiry,
    /// At most one leader establishes itself per epoch.
    SingleLeaderPerEpoch,
    /// Every server's committed sequence is a prefix of one history.
    CommittedPrefixAgreement,
    /// Every acknowledged write is in the final committed history.
    NoAckedWriteLost,
    /// Live replicas end with the same tree digest.
    Convergence,
    /// Zxids strictly increase in every server's log.
    LogZxidsIncrease,
    /// Once faults are over, ops complete within a bound.
    Liveness,
}

impl Property {
    pub const ALL: [Property; 15] = [
        Property::Linearizable,
        Property::LinearizableWrites,
        Property::SessionFifo,
        Property::MonotonicReads,
        Property::ConsistentReads,
        Property::SyncFreshness,
        Property::WatchBeforeData,
        Property::EphemeralLifetime,
        Property::NoPrematureExpiry,
        Property::SingleLeaderPerEpoch,
        Property::CommittedPrefixAgreement,
        Property::NoAckedWriteLost,
        Property::Convergence,
        Property::LogZxidsIncrease,
        Property::Liveness,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::Linearizable => "linearizable",
            Property::LinearizableWrites => "linearizable-writes",
            Property::SessionFifo => "session-fifo",
            Property::MonotonicReads => "monotonic-reads",
            Property::ConsistentReads => "consistent-reads",
            Property::SyncFreshness => "sync-freshness",
            Property::WatchBeforeData => "watch-before-data",
            Property::EphemeralLifetime => "ephemeral-lifetime",
            Property::NoPrematureExpiry => "no-premature-expiry",
            Property::SingleLeaderPerEpoch => "single-leader-per-epoch",
            Property::CommittedPrefixAgreement => "committed-prefix-agreement",
            Property::NoAckedWriteLost => "no-acked-write-lost",
            Property::Convergence => "convergence",
            Property::LogZxidsIncrease => "log-zxids-increase",
            Property::Liveness => "liveness",
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Property {
    type Err = String;
    fn from_str(s: &str) -> Result<Property, String> {
        Property::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
                format!("unknown property `{s}`; valid: {}", names.join(", "))
            })
    }
}

/// One broken promise and the smallest evidence the checker found for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub property: Property,
    /// One or two sentences a person can act on.
    pub message: String,
    /// Ids of the client ops that show it.
    pub ops: Vec<u64>,
    /// Indices into `History::server_events` that show it.
    pub events: Vec<usize>,
}

impl Violation {
    pub fn new(property: Property, message: impl Into<String>) -> Violation {
        Violation {
            property,
            message: message.into(),
            ops: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Add evidence ops (kept sorted, without repeats).
    pub fn with_ops(mut self, ops: impl IntoIterator<Item = u64>) -> Violation {
        self.ops.extend(ops);
        self.ops.sort_unstable();
        self.ops.dedup();
        self
    }

    /// Add evidence server events (kept sorted, without repeats).
    pub fn with_events(mut self, events: impl IntoIterator<Item = usize>) -> Violation {
        self.events.extend(events);
        self.events.sort_unstable();
        self.events.dedup();
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.property, self.message)?;
        if !self.ops.is_empty() {
            write!(f, " [ops {:?}]", self.ops)?;
        }
        if !self.events.is_empty() {
            write!(f, " [server events {:?}]", self.events)?;
        }
        Ok(())
    }
}

/// The status of one property after a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Checked and held.
    Holds,
    /// At least one violation (listed in the report).
    Violated,
    /// Could not be decided (a search budget ran out); never counted as holding.
    Unknown { reason: String },
    /// Not applicable to this history (e.g. no server events for replica invariants).
    Skipped { reason: String },
}

/// One line of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyResult {
    pub property: Property,
    pub status: Status,
}

/// The overall verdict.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Violation,
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Violation => "violation",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Everything one check concluded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub results: Vec<PropertyResult>,
    pub violations: Vec<Violation>,
    /// Model steps the linearizability search took, for the curious and the bench.
    pub search_steps: u64,
}

impl Report {
    /// Record a property's outcome from its violations (empty: it holds).
    pub fn record(&mut self, property: Property, violations: Vec<Violation>) {
        debug_assert!(
            violations.iter().all(|v| v.property == property),
            "a check reports only its own property"
        );
        let status = if violations.is_empty() {
            Status::Holds
        } else {
            Status::Violated
        };
        self.results.push(PropertyResult { property, status });
        self.violations.extend(violations);
    }

    pub fn record_status(&mut self, property: Property, status: Status) {
        self.results.push(PropertyResult { property, status });
    }

    /// Violation if any property is violated, else unknown if any is undecided, else ok.
    pub fn verdict(&self) -> Verdict {
        if self.results.iter().any(|r| r.status == Status::Violated) {
            Verdict::Violation
        } else if self
            .results
            .iter()
            .any(|r| matches!(r.status, Status::Unknown { .. }))
        {
            Verdict::Unknown
        } else {
            Verdict::Ok
        }
    }

    /// The properties found violated, in order.
    pub fn violated(&self) -> Vec<Property> {
        let mut props: Vec<Property> = self.violations.iter().map(|v| v.property).collect();
        props.sort();
        props.dedup();
        props
    }

    pub fn status(&self, property: Property) -> Option<&Status> {
        self.results
            .iter()
            .find(|r| r.property == property)
            .map(|r| &r.status)
    }
}
