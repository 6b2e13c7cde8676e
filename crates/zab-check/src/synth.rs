//! Synthetic histories of a correct ZooKeeper, for the benchmark and for tests that the
//! checker accepts what a linearizable server produces.
//!
//! Clients issue one op at a time against keys under `/keys`; every op takes effect at a
//! point between its invocation and completion, in one global order applied to the write
//! model's tree; writes get consecutive zxids in that order and every reply carries the zxid
//! of the state at its point — exactly what ZooKeeper promises, so every property must hold.
//! Deterministic: a tiny splitmix generator seeded by the caller.

use crate::history::{
    ClientOp, FinalState, History, Outcome, ServerRecord, HISTORY_FORMAT_VERSION,
};
use crate::models::znode::ZState;
use std::collections::BTreeMap;
use zab_core::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use zab_core::peer::ServerEvent;
use zab_core::request::{Acl, CreateMode, Request, Response};

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Total client ops, setup included.
    pub ops: usize,
    pub clients: usize,
    pub keys: usize,
    /// Fraction of reads (getData); the rest are setData, a fifth of them conditional.
    pub read_ratio: f64,
    /// Fraction of writes whose outcome the client never learns (applied or not, 50/50).
    pub unknown_ratio: f64,
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> SynthConfig {
        SynthConfig {
            ops: 1000,
            clients: 10,
            keys: 100,
            read_ratio: 0.5,
            unknown_ratio: 0.01,
            seed: 1,
        }
    }
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// An op before its outcome is known: who, when, what, and the instant it takes effect
/// (in microseconds, so that points inside one millisecond still have an order).
struct Pending {
    client: usize,
    invoke: u64,
    complete: u64,
    point_us: u64,
    request: Request,
    unknown: bool,
    applied_if_unknown: bool,
}

/// Generate a correct history.
pub fn tree_history(config: &SynthConfig) -> History {
    let mut rng = SplitMix(config.seed);
    let keys: Vec<String> = (0..config.keys).map(|k| format!("/keys/k{k}")).collect();
    let mut pending: Vec<Pending> = Vec::with_capacity(config.ops);
    // Setup by client 0: the parent, then every key.
    let mut t = 0;
    for path in std::iter::once("/keys".to_string()).chain(keys.iter().cloned()) {
        pending.push(Pending {
            client: 0,
            invoke: t,
            complete: t + 1,
            point_us: t * 1000 + 500,
            request: Request::Create {
                path,
                data: Vec::new(),
                acl: Acl::open_unsafe(),
                mode: CreateMode::Persistent,
                ttl: None,
                with_stat: false,
            },
            unknown: false,
            applied_if_unknown: false,
        });
        t += 2;
    }
    let mut clock: Vec<u64> = (0..config.clients).map(|c| t + c as u64).collect();
    let mut counter = 0u64;
    while pending.len() < config.ops {
        let client = rng.below(config.clients as u64) as usize;
        let key = rng.below(config.keys as u64) as usize;
        let invoke = clock[client];
        let duration = 1 + rng.below(20);
        let complete = invoke + duration;
        let point_us = invoke * 1000 + rng.below(duration * 1000);
        clock[client] = complete + rng.below(5);
        let path = keys[key].clone();
        let request = if rng.chance(config.read_ratio) {
            Request::GetData { path, watch: false }
        } else {
            counter += 1;
            // A fifth are conditional on a small version: some win, some get BADVERSION.
            let version = if rng.chance(0.2) {
                rng.below(3) as i32
            } else {
                -1
            };
            Request::SetData {
                path,
                data: format!("v{counter}").into_bytes(),
                version,
            }
        };
        let unknown = request.is_write() && rng.chance(config.unknown_ratio);
        let applied_if_unknown = rng.chance(0.5);
        pending.push(Pending {
            client,
            invoke,
            complete,
            point_us,
            request,
            unknown,
            applied_if_unknown,
        });
    }
    realise(pending, config)
}

/// Apply every op at its point, in point order, and record what each client saw.
fn realise(mut pending: Vec<Pending>, config: &SynthConfig) -> History {
    pending.sort_by_key(|p| (p.invoke, p.client));
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|&i| (pending[i].point_us, i));
    let mut tree = ZState::default();
    let mut zxid = Zxid::new(Epoch(1), 0);
    let mut modified: BTreeMap<String, (Zxid, Zxid)> = BTreeMap::new();
    let mut outcomes: Vec<Outcome> = vec![Outcome::Unknown; pending.len()];
    let mut committed = Vec::new();
    for i in order {
        let p = &pending[i];
        let session = SessionId(1000 + p.client as i64);
        if p.request.is_write() {
            if p.unknown && !p.applied_if_unknown {
                continue;
            }
            zxid = zxid.next_in_epoch().unwrap_or(zxid);
            committed.push(zxid);
            let result = tree.apply(session, &p.request);
            if let (Ok(_), Request::Create { path, .. } | Request::SetData { path, .. }) =
                (&result, &p.request)
            {
                let czxid = modified.get(path).map(|m| m.0).unwrap_or(zxid);
                modified.insert(path.clone(), (czxid, zxid));
            }
            if !p.unknown {
                outcomes[i] = match result {
                    Ok(mut response) => {
                        if let Response::SetData { stat } = &mut response {
                            let (czxid, mzxid) = modified[request_path(&p.request)];
                            stat.czxid = czxid;
                            stat.mzxid = mzxid;
                        }
                        Outcome::Ok { response, zxid }
                    }
                    Err(error) => Outcome::Failed { error, zxid },
                };
            }
        } else {
            let path = request_path(&p.request);
            outcomes[i] = match tree.nodes.get(path) {
                Some(node) => {
                    let mut stat = node.stat();
                    let (czxid, mzxid) = modified[path];
                    stat.czxid = czxid;
                    stat.mzxid = mzxid;
                    Outcome::Ok {
                        response: Response::GetData {
                            data: node.data.clone(),
                            stat,
                        },
                        zxid,
                    }
                }
                None => Outcome::Failed {
                    error: zab_core::error::ErrorCode::NoNode,
                    zxid,
                },
            };
        }
    }
    let ops = pending
        .into_iter()
        .zip(outcomes)
        .enumerate()
        .map(|(id, (p, outcome))| ClientOp {
            id: id as u64,
            client: p.client as u64,
            session: SessionId(1000 + p.client as i64),
            server: Some(ServerId(1 + (p.client % 3) as u64)),
            invoke: Millis(p.invoke),
            complete: Some(Millis(p.complete)),
            request: p.request,
            outcome,
            watch_events: Vec::new(),
        })
        .collect();
    let mut server_events = vec![ServerRecord {
        at: Millis(0),
        server: ServerId(1),
        event: ServerEvent::LeaderEstablished { epoch: Epoch(1) },
    }];
    for (n, z) in committed.iter().enumerate() {
        for server in 1..=3 {
            server_events.push(ServerRecord {
                at: Millis(n as u64),
                server: ServerId(server),
                event: ServerEvent::Committed {
                    zxid: *z,
                    txn_hash: z.0.wrapping_mul(0x9e37_79b9),
                },
            });
        }
    }
    let final_states = (1..=3)
        .map(|server| FinalState {
            server: ServerId(server),
            alive: true,
            last_applied: zxid,
            digest: config.seed,
        })
        .collect();
    History {
        version: HISTORY_FORMAT_VERSION,
        ops,
        server_events,
        faults: Vec::new(),
        final_states,
        handshakes: Vec::new(),
    }
}

fn request_path(request: &Request) -> &str {
    match request {
        Request::Create { path, .. }
        | Request::SetData { path, .. }
        | Request::GetData { path, .. } => path,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_history, CheckOptions, Verdict};

    #[test]
    fn generated_correct_histories_pass_every_property() {
        for seed in 1..=5 {
            let history = tree_history(&SynthConfig {
                ops: 600,
                seed,
                unknown_ratio: 0.05,
                ..SynthConfig::default()
            });
            let report = check_history(&history, &CheckOptions::default()).unwrap();
            assert_eq!(
                report.verdict(),
                Verdict::Ok,
                "seed {seed}: {:#?}",
                report.violations
            );
        }
    }

    #[test]
    fn a_corrupted_write_outcome_is_caught() {
        let mut history = tree_history(&SynthConfig {
            ops: 400,
            ..SynthConfig::default()
        });
        // Claim a conditional set succeeded with a version it cannot have produced.
        let op = history
            .ops
            .iter_mut()
            .rev()
            .find(|op| {
                matches!(
                    op.outcome,
                    Outcome::Ok {
                        response: Response::SetData { .. },
                        ..
                    }
                )
            })
            .unwrap();
        if let Outcome::Ok {
            response: Response::SetData { stat },
            ..
        } = &mut op.outcome
        {
            stat.version += 7;
        }
        let report = check_history(&history, &CheckOptions::default()).unwrap();
        assert!(
            report
                .violated()
                .contains(&crate::Property::LinearizableWrites),
            "{:#?}",
            report.violations
        );
    }
}
