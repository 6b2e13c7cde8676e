//! What a run concludes, for people (the summary text) and for files (the JSON report that
//! `replay` re-runs).

use crate::engine::{Counters, RunOutput};
use crate::scenario::{Expect, Scenario};
use crate::trace::format_hash;
use crate::verdict::{self, Violation};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use zab_check::history::{History, Outcome};

/// Counts of client operations by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub ok: u64,
    pub failed: u64,
    pub unknown: u64,
    pub writes_acknowledged: u64,
}

/// The run in numbers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub trace_hash: String,
    /// `(epoch, servers that established leadership in it)`.
    pub leaders: Vec<(u32, Vec<u64>)>,
    /// `(ms, server)` each time a server took the leading role.
    #[serde(default)]
    pub became_leader: Vec<(u64, u64)>,
    pub faults: Vec<String>,
    /// Servers that stopped themselves (`ServerEvent::Halted`: a disk error, an unreadable
    /// disk), with when and why.
    #[serde(default)]
    pub halts: Vec<String>,
    pub ops: OpCounts,
    pub client_connects: u64,
    pub client_connection_losses: u64,
    pub sessions_expired: u64,
    pub events: u64,
    pub sim_time_ms: u64,
    pub counters: serde_json::Value,
    /// The violations found (empty = pass).
    pub violations: Vec<Violation>,
    /// Each checked property and its status.
    #[serde(default)]
    pub checks: Vec<String>,
    pub expected: String,
    /// Did the run conclude what `[expect]` says?
    pub as_expected: bool,
    /// Filled in by the command line (the engine never reads a clock).
    #[serde(default)]
    pub wall_ms: u64,
}

/// Everything the run is judged on: `zab-check`'s properties (or, if it cannot read the
/// history, the built-in checks), plus the scenario's own expectations.
pub fn judge(scenario: &Scenario, history: &History) -> (Vec<Violation>, Vec<String>) {
    let mut violations = Vec::new();
    let mut checks = Vec::new();
    match zab_check::check_history(history, &zab_check::CheckOptions::default()) {
        Ok(report) => {
            for r in &report.results {
                let status = match &r.status {
                    zab_check::Status::Holds => "holds".to_string(),
                    zab_check::Status::Violated => "VIOLATED".to_string(),
                    zab_check::Status::Unknown { reason } => format!("unknown ({reason})"),
                    zab_check::Status::Skipped { reason } => format!("skipped ({reason})"),
                };
                checks.push(format!("{}: {status}", r.property));
            }
            violations.extend(report.violations.iter().map(|v| Violation {
                name: v.property.name().to_string(),
                detail: v.to_string(),
            }));
        }
        Err(e) => {
            checks.push(format!(
                "zab-check could not read the history ({e}); built-in checks only"
            ));
            violations.extend(verdict::check(history));
        }
    }
    violations.extend(verdict::expectations(scenario, history));
    (violations, checks)
}

/// Count outcomes.
pub fn op_counts(history: &History) -> OpCounts {
    let mut c = OpCounts::default();
    for op in &history.ops {
        match &op.outcome {
            Outcome::Ok { .. } => {
                c.ok += 1;
                if op.request.is_write() {
                    c.writes_acknowledged += 1;
                }
            }
            Outcome::Failed { .. } => c.failed += 1,
            Outcome::Unknown => c.unknown += 1,
        }
    }
    c
}

/// Judge a finished run against the scenario's expectation, with the given violations
/// (the built-in checks, plus whatever an external checker found).
pub fn summarize(
    scenario: &Scenario,
    seed: u64,
    out: &RunOutput,
    violations: Vec<Violation>,
    checks: Vec<String>,
) -> Summary {
    let leaders = verdict::leaders_by_epoch(&out.history)
        .into_iter()
        .map(|(e, s)| (e.0, s.into_iter().map(|x| x.0).collect()))
        .collect();
    let faults = out
        .history
        .faults
        .iter()
        .map(|f| {
            let targets: Vec<String> = f.targets.iter().map(|t| t.to_string()).collect();
            format!(
                "{:>8.3}s {} [{}] {}",
                f.at.as_secs_f64(),
                f.action,
                targets.join(","),
                f.detail
            )
        })
        .collect();
    let as_expected = match &scenario.expect {
        Expect::Pass => violations.is_empty(),
        Expect::Violation(name) => violations.iter().any(|v| &v.name == name),
    };
    Summary {
        scenario: scenario.name.clone(),
        seed,
        trace_hash: format_hash(out.trace_hash),
        leaders,
        became_leader: verdict::leadership_changes(&out.history)
            .into_iter()
            .map(|(at, s)| (at.0, s.0))
            .collect(),
        faults,
        halts: out
            .history
            .server_events
            .iter()
            .filter_map(|r| match &r.event {
                zab_core::peer::ServerEvent::Halted { reason } => Some(format!(
                    "{:>8.3}s server {}: {reason}",
                    r.at.as_secs_f64(),
                    r.server
                )),
                _ => None,
            })
            .collect(),
        ops: op_counts(&out.history),
        client_connects: out.client_connects,
        client_connection_losses: out.client_connection_losses,
        sessions_expired: out.sessions_expired,
        events: out.events,
        sim_time_ms: out.sim_time.as_millis(),
        counters: serde_json::to_value(&out.counters).unwrap_or(serde_json::Value::Null),
        violations,
        checks,
        expected: scenario.expect.to_string(),
        as_expected,
        wall_ms: 0,
    }
}

impl Summary {
    /// The readable summary `zabsim run` prints.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "scenario {}  seed {}", self.scenario, self.seed);
        if self.leaders.is_empty() {
            let _ = writeln!(s, "leaders: no leader was established");
        } else {
            let _ = writeln!(s, "leaders per epoch:");
            for (epoch, servers) in &self.leaders {
                let names: Vec<String> = servers.iter().map(|x| format!("server {x}")).collect();
                let _ = writeln!(s, "  epoch {epoch}: {}", names.join(", "));
            }
        }
        if !self.became_leader.is_empty() {
            let shown: Vec<String> = self
                .became_leader
                .iter()
                .take(12)
                .map(|(at, id)| format!("server {id} at {:.3}s", *at as f64 / 1000.0))
                .collect();
            let more = self.became_leader.len().saturating_sub(12);
            let _ = writeln!(
                s,
                "took the leading role: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(s, "faults applied: {}", self.faults.len());
        for f in &self.faults {
            let _ = writeln!(s, "  {f}");
        }
        if !self.halts.is_empty() {
            let _ = writeln!(s, "servers that halted: {}", self.halts.len());
            for h in &self.halts {
                let _ = writeln!(s, "  {h}");
            }
        }
        let _ = writeln!(
            s,
            "client ops: {} ok ({} acknowledged writes), {} failed, {} unknown; {} connects, {} connection losses, {} sessions expired",
            self.ops.ok,
            self.ops.writes_acknowledged,
            self.ops.failed,
            self.ops.unknown,
            self.client_connects,
            self.client_connection_losses,
            self.sessions_expired
        );
        let secs = self.wall_ms as f64 / 1000.0;
        let rate = if self.wall_ms > 0 {
            self.events as f64 / secs
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "events: {}  simulated: {:.3}s  wall: {:.3}s  ({:.0} events/s)",
            self.events,
            self.sim_time_ms as f64 / 1000.0,
            secs,
            rate
        );
        let _ = writeln!(s, "trace hash: {}", self.trace_hash);
        let _ = writeln!(
            s,
            "checks ({} acknowledged writes):",
            self.ops.writes_acknowledged
        );
        for c in &self.checks {
            let _ = writeln!(s, "  {c}");
        }
        if self.violations.is_empty() {
            let lost = self
                .checks
                .iter()
                .any(|c| c.starts_with("no-acked-write-lost: holds"));
            if lost {
                let _ = writeln!(
                    s,
                    "no acknowledged write was lost ({} checked)",
                    self.ops.writes_acknowledged
                );
            }
        } else {
            let _ = writeln!(s, "violations:");
            for v in &self.violations {
                let _ = writeln!(s, "  {}: {}", v.name, v.detail);
            }
        }
        let verdict = if self.violations.is_empty() {
            "PASS".to_string()
        } else {
            let mut names: Vec<&str> = self.violations.iter().map(|v| v.name.as_str()).collect();
            names.dedup();
            format!("VIOLATION ({})", names.join(", "))
        };
        let _ = writeln!(
            s,
            "verdict: {verdict}; expected {}: {}",
            self.expected,
            if self.as_expected {
                "as expected"
            } else {
                "NOT as expected"
            }
        );
        s
    }
}

/// The JSON file `zabsim run` writes and `zabsim replay` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub scenario_path: String,
    /// The scenario's full text, so a replay does not depend on the file still being the same.
    pub scenario_text: String,
    pub seed: u64,
    pub trace_hash: String,
    pub summary: Summary,
    pub history: History,
}

/// Counters are carried as JSON in the summary.
pub fn counters_json(c: &Counters) -> serde_json::Value {
    serde_json::to_value(c).unwrap_or(serde_json::Value::Null)
}
