//! Faults: the scenario's timeline, the random nemesis, and recovery at the end of the run.
//! Every applied fault is recorded in the history (and the trace) with the servers it hit.

use super::{Event, Process, Sim};
use crate::prng::Prng;
use crate::scenario::{DiskFaultKind, FaultAction, NemesisSpec, Target};
use crate::time::{SimTime, Span};
use zab_check::history::FaultRecord;
use zab_core::ids::{Millis, ServerId};
use zab_core::peer::Role;

/// A nemesis fault's scheduled undoing.
#[derive(Clone, Debug)]
pub(crate) enum Recovery {
    Restart(ServerId),
    /// End a nemesis partition between servers (client cuts stay).
    Heal,
    /// End a nemesis client partition (server partitions stay).
    HealClients,
}

/// Time until the nemesis strikes again, or `None` when every rate is zero.
pub(crate) fn next_nemesis_delay(spec: &NemesisSpec, prng: &mut Prng) -> Option<Span> {
    let per_minute = spec.crash
        + spec.power_off
        + spec.partition
        + spec.pause
        + spec.disk_fault
        + spec.drift
        + spec.client_partition;
    if per_minute <= 0.0 {
        return None;
    }
    let mean_us = 60_000_000.0 / per_minute;
    Some(Span((-(1.0 - prng.unit()).ln() * mean_us) as u64 + 1))
}

impl<P: Process> Sim<P> {
    pub(crate) fn record_fault(
        &mut self,
        at: SimTime,
        action: &str,
        targets: Vec<ServerId>,
        detail: String,
    ) {
        self.trace.record(
            at,
            "fault",
            0,
            |h| {
                h.write_str(action);
                for t in &targets {
                    h.write_u64(t.0);
                }
                h.write_str(&detail);
            },
            || format!("{action} {targets:?} {detail}"),
        );
        self.history.faults.push(FaultRecord {
            at: Millis(at.as_millis()),
            action: action.to_string(),
            targets,
            detail,
        });
    }

    /// The servers whose host and process are up, in id order.
    pub(crate) fn live_servers(&self) -> Vec<ServerId> {
        self.nodes
            .iter()
            .filter(|n| n.is_up())
            .map(|n| n.id)
            .collect()
    }

    fn live_with_role(&self, role: Role) -> Vec<ServerId> {
        self.nodes
            .iter()
            .filter(|n| n.is_up() && n.role == role)
            .map(|n| n.id)
            .collect()
    }

    /// Resolve targets to servers now. Random picks come from the nemesis stream.
    pub(crate) fn resolve(&mut self, targets: &[Target]) -> Vec<ServerId> {
        let mut out = Vec::new();
        for t in targets {
            match t {
                Target::Id(id) => out.push(*id),
                Target::Leader => {
                    let mut leaders: Vec<_> = self
                        .nodes
                        .iter()
                        .filter(|n| n.is_up() && n.role == Role::Leading)
                        .map(|n| (n.established_epoch, n.id))
                        .collect();
                    leaders.sort();
                    out.extend(leaders.last().map(|(_, id)| *id));
                }
                Target::Follower => {
                    let f = self.live_with_role(Role::Following);
                    out.extend(self.nemesis.pick(&f).copied());
                }
                Target::Followers => out.extend(self.live_with_role(Role::Following)),
                Target::Observer => {
                    let o = self.live_with_role(Role::Observing);
                    out.extend(self.nemesis.pick(&o).copied());
                }
                Target::Observers => out.extend(self.live_with_role(Role::Observing)),
                Target::Any => {
                    let live = self.live_servers();
                    out.extend(self.nemesis.pick(&live).copied());
                }
                Target::All => out.extend(self.nodes.iter().map(|n| n.id)),
                Target::Down => out.extend(
                    self.nodes
                        .iter()
                        .filter(|n| n.state.is_down())
                        .map(|n| n.id),
                ),
                // An aimed fault replaced these with the send's servers before applying;
                // validation keeps them out of timeline faults.
                Target::Sender | Target::Receiver => {
                    debug_assert!(false, "sender/receiver outside an aimed fault")
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    pub(crate) fn on_fault(&mut self, at: SimTime, index: usize) {
        let Some(spec) = self.scenario.faults.get(index).cloned() else {
            return;
        };
        self.apply(at, &spec.action, "timeline");
    }

    /// Carry out one fault action now.
    pub(crate) fn apply(&mut self, at: SimTime, action: &FaultAction, origin: &str) {
        match action {
            FaultAction::Crash(t) | FaultAction::PowerOff(t) => {
                let power_off = matches!(action, FaultAction::PowerOff(_));
                let targets = self.resolve(t);
                let mut hit = Vec::new();
                let mut notes = Vec::new();
                for id in targets {
                    let before = self.node(id).map(|n| n.state);
                    let note = self.stop_process(at, id, power_off);
                    if self.node(id).map(|n| n.state) != before {
                        hit.push(id);
                    }
                    notes.extend(note);
                }
                let detail = detail(origin, &hit, notes.join("; "));
                self.record_fault(at, action.name(), hit, detail);
            }
            FaultAction::Restart(t) => {
                let targets = self.resolve(t);
                let hit: Vec<ServerId> = targets
                    .into_iter()
                    .filter(|id| self.restart_process(at, *id))
                    .collect();
                let detail = detail(origin, &hit, String::new());
                self.record_fault(at, "restart", hit, detail);
            }
            FaultAction::Partition(groups) => {
                let mut resolved: Vec<Vec<ServerId>> =
                    groups.iter().map(|g| self.resolve(g)).collect();
                let listed: Vec<ServerId> = resolved.iter().flatten().copied().collect();
                let rest: Vec<ServerId> = self
                    .nodes
                    .iter()
                    .map(|n| n.id)
                    .filter(|id| !listed.contains(id))
                    .collect();
                if !rest.is_empty() {
                    resolved.push(rest);
                }
                self.net.partitions.split(&resolved);
                let text = format!("{origin}: groups {resolved:?}");
                self.record_fault(at, "partition", listed, text);
            }
            FaultAction::OneWay { from, to } => {
                let from = self.resolve(from);
                let to = self.resolve(to);
                self.net.partitions.block_one_way(&from, &to);
                let text = format!("{origin}: one-way {from:?} -> {to:?}");
                let mut all = from;
                all.extend(to);
                self.record_fault(at, "partition", all, text);
            }
            FaultAction::ClientPartition {
                clients,
                servers,
                direction,
            } => self.apply_client_partition(at, clients, servers, *direction, origin),
            FaultAction::Heal => self.heal(at, origin),
            FaultAction::Pause { targets, span } => {
                let targets = self.resolve(targets);
                let hit: Vec<ServerId> = targets
                    .into_iter()
                    .filter(|id| self.pause_process(at, *id, *span))
                    .collect();
                let detail = format!("{origin}: for {span}");
                self.record_fault(at, "pause", hit, detail);
            }
            FaultAction::DiskFault {
                targets,
                kind,
                count,
            } => {
                let targets = self.resolve(targets);
                let mut notes = Vec::new();
                for id in &targets {
                    if let Some(n) = self.node_mut(*id) {
                        notes.push(format!("{id}: {}", n.disk.inject(*kind, *count)));
                    }
                }
                let detail = format!("{origin}: {kind:?}: {}", notes.join("; "));
                self.record_fault(at, "disk_fault", targets, detail);
            }
            FaultAction::Drift {
                targets,
                ppm,
                jump_ms,
            } => {
                let targets = self.resolve(targets);
                for id in &targets {
                    if let Some(n) = self.node_mut(*id) {
                        if *ppm != 0 {
                            n.clock.set_drift(at, *ppm);
                        }
                        if *jump_ms != 0 {
                            n.clock.jump(at, *jump_ms);
                        }
                    }
                    self.reschedule_timers(at, *id);
                }
                let detail = format!("{origin}: drift {ppm} ppm, jump {jump_ms} ms");
                self.record_fault(at, "drift", targets, detail);
            }
        }
    }

    pub(crate) fn heal(&mut self, at: SimTime, origin: &str) {
        let was = self.net.partitions.describe();
        self.net.partitions.heal();
        self.retransmit(at);
        self.record_fault(at, "heal", Vec::new(), format!("{origin}: was {was}"));
    }

    /// Heal the partitions between servers only (a nemesis partition's end).
    pub(crate) fn heal_servers(&mut self, at: SimTime, origin: &str) {
        let was = self.net.partitions.describe_servers();
        self.net.partitions.heal_servers();
        self.retransmit(at);
        self.record_fault(at, "heal", Vec::new(), format!("{origin}: was {was}"));
    }

    pub(crate) fn restart(&mut self, at: SimTime, id: ServerId, origin: &str) {
        if self.restart_process(at, id) {
            self.record_fault(at, "restart", vec![id], format!("{origin}: restart {id}"));
        }
    }

    pub(crate) fn on_recover(&mut self, at: SimTime, recovery: Recovery) {
        if self.quiet {
            return; // the end-of-run recovery already did it
        }
        match recovery {
            Recovery::Restart(id) => self.restart(at, id, "nemesis"),
            Recovery::Heal => self.heal_servers(at, "nemesis"),
            Recovery::HealClients => self.heal_clients(at, "nemesis"),
        }
    }

    pub(crate) fn on_nemesis(&mut self, at: SimTime) {
        let Some(spec) = self.scenario.nemesis.clone() else {
            return;
        };
        if self.quiet {
            return;
        }
        let weights = [
            spec.crash,
            spec.power_off,
            spec.partition,
            spec.pause,
            spec.disk_fault,
            spec.drift,
            spec.client_partition,
        ]
        .map(|r| (r * 1000.0) as u64);
        let down = self.nodes.iter().filter(|n| n.state.is_down()).count();
        let live = self.live_servers();
        let hold = |prng: &mut Prng| Span(prng.below(spec.down_for.0.max(1) * 2));
        match self.nemesis.weighted(&weights) {
            Some(k @ (0 | 1)) if down < spec.max_down => {
                if let Some(id) = self.nemesis.pick(&live).copied() {
                    let action = if k == 0 {
                        FaultAction::Crash(vec![Target::Id(id)])
                    } else {
                        FaultAction::PowerOff(vec![Target::Id(id)])
                    };
                    self.apply(at, &action, "nemesis");
                    let back = at.plus(hold(&mut self.nemesis));
                    self.schedule(back, Event::Recover(Recovery::Restart(id)));
                }
            }
            Some(2) if self.net.partitions.servers_whole() => {
                let all: Vec<ServerId> = self.nodes.iter().map(|n| n.id).collect();
                let minority = ((all.len().saturating_sub(1)) / 2).max(1);
                let size = 1 + self.nemesis.below(minority as u64) as usize;
                let mut pool = all.clone();
                let mut side = Vec::new();
                for _ in 0..size.min(pool.len()) {
                    let i = self.nemesis.below(pool.len() as u64) as usize;
                    side.push(Target::Id(pool.remove(i)));
                }
                self.apply(at, &FaultAction::Partition(vec![side]), "nemesis");
                let back = at.plus(hold(&mut self.nemesis));
                self.schedule(back, Event::Recover(Recovery::Heal));
            }
            Some(3) => {
                if let Some(id) = self.nemesis.pick(&live).copied() {
                    let span = Span(self.nemesis.below(spec.down_for.0.max(1)));
                    let action = FaultAction::Pause {
                        targets: vec![Target::Id(id)],
                        span,
                    };
                    self.apply(at, &action, "nemesis");
                }
            }
            Some(4) => {
                let kinds = [
                    DiskFaultKind::LyingFsync,
                    DiskFaultKind::TornWrite,
                    DiskFaultKind::CorruptEntry,
                    DiskFaultKind::Eio,
                    DiskFaultKind::DiskFull,
                ];
                let all: Vec<ServerId> = self.nodes.iter().map(|n| n.id).collect();
                if let (Some(id), Some(kind)) = (
                    self.nemesis.pick(&all).copied(),
                    self.nemesis.pick(&kinds).copied(),
                ) {
                    let action = FaultAction::DiskFault {
                        targets: vec![Target::Id(id)],
                        kind,
                        count: 1,
                    };
                    self.apply(at, &action, "nemesis");
                }
            }
            Some(5) => {
                if let Some(id) = self.nemesis.pick(&live).copied() {
                    let ppm = self.nemesis.between(0, 200_000) as i64 - 100_000;
                    let jump_ms = self.nemesis.between(0, 4_000) as i64 - 2_000;
                    let action = FaultAction::Drift {
                        targets: vec![Target::Id(id)],
                        ppm,
                        jump_ms,
                    };
                    self.apply(at, &action, "nemesis");
                }
            }
            Some(6) => self.nemesis_client_partition(at, &spec),
            _ => {}
        }
        if let Some(delay) = next_nemesis_delay(&spec, &mut self.nemesis) {
            self.schedule(at.plus(delay), Event::Nemesis);
        }
    }
}

fn detail(origin: &str, hit: &[ServerId], notes: String) -> String {
    let mut d = if hit.is_empty() {
        format!("{origin}: no target matched (skipped)")
    } else {
        origin.to_string()
    };
    if !notes.is_empty() {
        d.push_str(": ");
        d.push_str(&notes);
    }
    d
}
