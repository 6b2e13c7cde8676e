//! Validation: from the raw TOML structures to a [`Scenario`], with located errors for every
//! semantic problem (a missing node, a distribution that is not one, a fault without the fields
//! its action needs).

use super::*;

/// `workload.clients` when the file does not say.
const DEFAULT_CLIENTS: u32 = 3;

impl ScenarioFile {
    pub(super) fn validate(
        self,
        loc: &Locator<'_>,
        default_name: &str,
    ) -> Result<Scenario, ScenarioError> {
        let cluster = self.cluster.validate(loc, &self.bugs)?;
        let servers = cluster.servers();
        let client_count = self.workload.clients.unwrap_or(DEFAULT_CLIENTS);
        let mut faults = Vec::with_capacity(self.fault.len());
        for (i, f) in self.fault.into_iter().enumerate() {
            faults.push(validate_fault(loc, i + 1, f, &servers, client_count)?);
        }
        let nemesis = match self.nemesis {
            Some(n) => Some(validate_nemesis(loc, n, cluster.voters.len())?),
            None => None,
        };
        let expect = match self.expect.result {
            None => Expect::Pass,
            Some(r) => {
                let text = r.get_ref().trim();
                if text == "pass" {
                    Expect::Pass
                } else if !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    Expect::Violation(text.to_string())
                } else {
                    return Err(loc.error(
                        r.span().start,
                        "expect.result".into(),
                        format!(
                            "invalid expectation `{text}`; valid: \"pass\" or a violation name in kebab-case such as \"no-acked-write-lost\" or \"single-leader-per-epoch\""
                        ),
                    ));
                }
            }
        };
        let expect_first_leader = match self.expect.first_leader {
            None => None,
            Some(l) => {
                let id = ServerId(*l.get_ref());
                if !servers.contains(&id) {
                    let ids: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
                    return Err(loc.error(
                        l.span().start,
                        "expect.first_leader".into(),
                        format!("no server {id} in this cluster; valid: {}", ids.join(", ")),
                    ));
                }
                Some(id)
            }
        };
        let tick_ms = cluster.tick_ms;
        let quiet = self
            .quiet
            .map(|d| d.0)
            .unwrap_or(Span::from_millis(tick_ms * 20));
        Ok(Scenario {
            name: self.name.unwrap_or_else(|| default_name.to_string()),
            description: self.description,
            seed: self.seed.unwrap_or(1),
            duration: self.duration.0,
            quiet,
            recover: self.recover,
            network: self.network.validate(loc)?,
            disk: self.disk.validate(loc)?,
            workload: self.workload.validate(tick_ms),
            cluster,
            faults,
            nemesis,
            expect,
            expect_first_leader,
            expect_min_acked_writes: self.expect.min_acked_writes.unwrap_or(0),
        })
    }
}

impl ClusterFile {
    fn validate(self, loc: &Locator<'_>, bugs: &[Bug]) -> Result<ClusterSpec, ScenarioError> {
        let voters = *self.voters.get_ref();
        if !(1..=64).contains(&voters) {
            return Err(loc.error(
                self.voters.span().start,
                "cluster.voters".into(),
                format!("{voters} voters: a cluster has between 1 and 64 voters"),
            ));
        }
        let voter_ids: Vec<ServerId> = (1..=voters).map(ServerId).collect();
        let observer_ids: Vec<ServerId> = (voters + 1..=voters + self.observers.min(64))
            .map(ServerId)
            .collect();
        let interval = self.start_interval.map_or(Span::ZERO, |d| d.0);
        let mut all: Vec<ServerId> = voter_ids.iter().chain(&observer_ids).copied().collect();
        all.sort();
        let start_at = all
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, Span(interval.0 * i as u64)))
            .collect();
        let tick_ms = self.tick_time.map_or(2000, |d| d.0.as_millis()).max(1);
        Ok(ClusterSpec {
            voters: voter_ids,
            observers: observer_ids,
            tick_ms,
            init_limit: self.init_limit.unwrap_or(10),
            sync_limit: self.sync_limit.unwrap_or(5),
            bugs: BugSet(bugs.iter().copied().collect()),
            start_at,
            clock_skew: self.clock_skew.map_or(Span::from_millis(20), |d| d.0),
        })
    }
}

impl DistFile {
    fn validate(
        spanned: Option<Spanned<DistFile>>,
        loc: &Locator<'_>,
        field: &str,
        default: Dist,
    ) -> Result<Dist, ScenarioError> {
        let Some(spanned) = spanned else {
            return Ok(default);
        };
        let offset = spanned.span().start;
        let d = spanned.into_inner();
        let bad = |msg: &str| {
            Err(loc.error(
                offset,
                field.to_string(),
                format!("{msg}; write {{ constant = \"1ms\" }}, {{ min = \"1ms\", max = \"5ms\" }} (uniform) or {{ min = \"1ms\", mean = \"2ms\", max = \"50ms\" }} (exponential tail)"),
            ))
        };
        match (d.constant, d.min, d.mean, d.max) {
            (Some(c), None, None, None) => Ok(Dist::Constant(c.0)),
            (None, min, Some(mean), max) => {
                let min = min.map_or(Span::ZERO, |m| m.0);
                let max = max.map_or(Span(mean.0 .0.saturating_mul(20)), |m| m.0);
                if !(min <= mean.0 && mean.0 <= max) {
                    return bad("need min <= mean <= max");
                }
                Ok(Dist::Exponential {
                    min,
                    mean: mean.0,
                    max,
                })
            }
            (None, Some(min), None, Some(max)) => {
                if min.0 > max.0 {
                    return bad("need min <= max");
                }
                Ok(Dist::Uniform {
                    min: min.0,
                    max: max.0,
                })
            }
            _ => bad("not a distribution"),
        }
    }
}

impl NetworkFile {
    fn validate(self, loc: &Locator<'_>) -> Result<NetworkSpec, ScenarioError> {
        let latency = DistFile::validate(
            self.latency,
            loc,
            "network.latency",
            Dist::Exponential {
                min: Span(200),
                mean: Span(1_000),
                max: Span(20_000),
            },
        )?;
        Ok(NetworkSpec {
            latency,
            duplicate: self.duplicate.clamp(0.0, 1.0),
            reorder: self.reorder.clamp(0.0, 1.0),
        })
    }
}

impl DiskFile {
    fn validate(self, loc: &Locator<'_>) -> Result<DiskSpec, ScenarioError> {
        Ok(DiskSpec {
            append: DistFile::validate(
                self.append,
                loc,
                "disk.append",
                Dist::Uniform {
                    min: Span(5),
                    max: Span(50),
                },
            )?,
            fsync: DistFile::validate(
                self.fsync,
                loc,
                "disk.fsync",
                Dist::Exponential {
                    min: Span(500),
                    mean: Span(2_000),
                    max: Span(100_000),
                },
            )?,
            page_cache_survives_crash: self.page_cache_survives_crash.unwrap_or(true),
        })
    }
}

impl WorkloadFile {
    fn validate(self, tick_ms: u64) -> WorkloadSpec {
        WorkloadSpec {
            clients: self.clients.unwrap_or(DEFAULT_CLIENTS),
            rate: self.rate.unwrap_or(10.0).max(0.0),
            keys: self.keys.unwrap_or(4).max(1),
            mix: self.mix.unwrap_or_else(Mix::standard),
            watch: self.watch.unwrap_or(0.2).clamp(0.0, 1.0),
            session_timeout_ms: self
                .session_timeout
                .map_or(tick_ms * 6, |d| d.0.as_millis()),
            start: self.start.map_or(Span::ZERO, |d| d.0),
        }
    }
}

pub(super) fn check_targets(
    loc: &Locator<'_>,
    field: &str,
    targets: Spanned<Targets>,
    servers: &[ServerId],
) -> Result<Vec<Target>, ScenarioError> {
    let offset = targets.span().start;
    let list = targets.into_inner().0;
    for t in &list {
        if let Target::Id(id) = t {
            if !servers.contains(id) {
                let ids: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
                return Err(loc.error(
                    offset,
                    field.to_string(),
                    format!(
                        "no server {id} in this cluster; valid: {} or one of {}",
                        ids.join(", "),
                        Target::NAMES.join(", ")
                    ),
                ));
            }
        }
    }
    if list.is_empty() {
        return Err(loc.error(offset, field.to_string(), "empty target list".into()));
    }
    Ok(list)
}

fn validate_fault(
    loc: &Locator<'_>,
    index: usize,
    spanned: Spanned<FaultFile>,
    servers: &[ServerId],
    client_count: u32,
) -> Result<FaultSpec, ScenarioError> {
    let table_offset = spanned.span().start;
    let mut f = spanned.into_inner();
    let section = format!("fault[{index}]");
    let on = match f.on.take() {
        Some(on) => Some(aimed::validate_on(loc, &section, on, servers)?),
        None => None,
    };
    let field = |k: &str| format!("{section}.{k}");
    let missing = |k: &str, what: &str| {
        loc.error(
            table_offset,
            field(k),
            format!("`{:?}` needs `{k}`: {what}", f.action).to_lowercase(),
        )
    };
    let target = |t: Option<Spanned<Targets>>| -> Result<Vec<Target>, ScenarioError> {
        match t {
            Some(t) => check_targets(loc, &field("target"), t, servers),
            None => Err(missing(
                "target",
                "a server id, a role (leader, follower, …) or a list",
            )),
        }
    };
    let at = match (f.at, &on) {
        (Some(at), _) => at.0,
        (None, Some(_)) => Span::ZERO,
        (None, None) => return Err(missing(
            "at",
            "when it fires, e.g. at = \"10s\" (or on = { sent = \"ackepoch\" } for an aimed fault)",
        )),
    };
    if f.action == ActionName::Partition && f.clients.is_some() {
        return clients::validate_client_partition(
            loc,
            &section,
            table_offset,
            f,
            servers,
            client_count,
        )
        .map(|spec| FaultSpec { at, on, ..spec });
    }
    clients::reject_stray_client_fields(loc, &section, &f)?;
    let action = match f.action {
        ActionName::Crash => FaultAction::Crash(target(f.target)?),
        ActionName::PowerOff => FaultAction::PowerOff(target(f.target)?),
        ActionName::Restart => FaultAction::Restart(target(f.target)?),
        ActionName::Heal => FaultAction::Heal,
        ActionName::Partition => match (f.groups, f.from, f.to, f.target) {
            (Some(groups), None, None, None) => {
                let mut out = Vec::new();
                for g in groups {
                    out.push(check_targets(loc, &field("groups"), g, servers)?);
                }
                FaultAction::Partition(out)
            }
            (None, Some(from), Some(to), None) => FaultAction::OneWay {
                from: check_targets(loc, &field("from"), from, servers)?,
                to: check_targets(loc, &field("to"), to, servers)?,
            },
            (None, None, None, Some(t)) => {
                FaultAction::Partition(vec![check_targets(loc, &field("target"), t, servers)?])
            }
            _ => {
                return Err(loc.error(
                    table_offset,
                    field("groups"),
                    "a partition takes exactly one of: `groups = [[1], [2, 3]]` (symmetric), `from = [1]` with `to = [2]` (one-way), or `target = \"leader\"` (isolate)".into(),
                ))
            }
        },
        ActionName::Pause => FaultAction::Pause {
            span: f
                .for_
                .ok_or_else(|| missing("for", "how long, e.g. for = \"3s\""))?
                .0,
            targets: target(f.target)?,
        },
        ActionName::DiskFault => FaultAction::DiskFault {
            kind: f.kind.ok_or_else(|| {
                missing(
                    "kind",
                    "one of lying_fsync, torn_write, corrupt_entry, eio, disk_full",
                )
            })?,
            count: f.count.unwrap_or(1),
            targets: target(f.target)?,
        },
        ActionName::Drift => {
            if f.ppm.is_none() && f.jump.is_none() {
                return Err(missing(
                    "ppm",
                    "a rate change (ppm = 50000 is 5% fast) and/or a step (jump = \"-2s\")",
                ));
            }
            FaultAction::Drift {
                ppm: f.ppm.unwrap_or(0),
                jump_ms: f.jump.map_or(0, |j| j.0),
                targets: target(f.target)?,
            }
        }
    };
    if on.is_none() {
        aimed::reject_endpoint_targets(loc, &section, table_offset, &action)?;
    }
    Ok(FaultSpec { at, action, on })
}

fn validate_nemesis(
    loc: &Locator<'_>,
    spanned: Spanned<NemesisFile>,
    voters: usize,
) -> Result<NemesisSpec, ScenarioError> {
    let offset = spanned.span().start;
    let n = spanned.into_inner();
    for (name, rate) in [
        ("crash", n.crash),
        ("power_off", n.power_off),
        ("partition", n.partition),
        ("pause", n.pause),
        ("disk_fault", n.disk_fault),
        ("drift", n.drift),
        ("client_partition", n.client_partition),
    ] {
        if !(0.0..=600.0).contains(&rate) {
            return Err(loc.error(
                offset,
                format!("nemesis.{name}"),
                format!("rate {rate} per minute: valid rates are 0 to 600"),
            ));
        }
    }
    Ok(NemesisSpec {
        crash: n.crash,
        power_off: n.power_off,
        partition: n.partition,
        pause: n.pause,
        disk_fault: n.disk_fault,
        drift: n.drift,
        client_partition: n.client_partition,
        down_for: n.down_for.map_or(Span::from_millis(5_000), |d| d.0),
        max_down: n.max_down.unwrap_or((voters.saturating_sub(1)) / 2),
        start: n.start.map_or(Span::ZERO, |d| d.0),
    })
}
