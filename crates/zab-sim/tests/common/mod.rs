//! What the election and peer tests share: inline scenarios for election-only ensembles (no
//! clients) and readings of a running [`Sim`] — roles, leaders, reported events.

#![allow(dead_code)]

pub mod hand;

use zab_core::peer::{Role, ServerEvent};
use zab_core::{Peer, ServerId};
use zab_sim::{scenario, Process, Scenario, Sim, SimTime, Span};

/// A process that is (or wraps) a `Peer`, so the readings below work for both.
pub trait HasPeer: Process {
    fn peer(&self) -> &Peer;
}

impl HasPeer for Peer {
    fn peer(&self) -> &Peer {
        self
    }
}

pub fn id(n: u64) -> ServerId {
    ServerId(n)
}

/// `voters` voters then `observers` observers, all started at 0, no clients, no faults, no
/// end-of-run recovery; `extra` is appended TOML (e.g. `bugs = [...]` must come first, so
/// it goes in `head`). The run lasts an hour of virtual time, far beyond any test.
pub fn ensemble(head: &str, voters: u64, observers: u64, extra: &str) -> Scenario {
    let text = format!(
        "{head}\nduration = \"3600s\"\nquiet = \"0s\"\nrecover = false\n\
         [cluster]\nvoters = {voters}\nobservers = {observers}\n{extra}\n\
         [workload]\nclients = 0\n"
    );
    scenario::parse("<inline>", "election", &text).expect("the test's scenario is valid")
}

/// Keep only these servers in `start_at` (the others never start unless a test starts them).
pub fn only_start(mut scenario: Scenario, ids: &[u64]) -> Scenario {
    scenario
        .cluster
        .start_at
        .retain(|(s, _)| ids.contains(&s.0));
    scenario
}

pub fn sim(scenario: Scenario, seed: u64) -> Sim<Peer> {
    sim_of(scenario, seed)
}

pub fn sim_of<P: Process>(scenario: Scenario, seed: u64) -> Sim<P> {
    Sim::new(scenario, seed, zab_sim::trace::Trace::new())
}

pub fn running<P: HasPeer>(sim: &Sim<P>) -> Vec<ServerId> {
    sim.servers()
        .into_iter()
        .filter(|s| sim.process(*s).is_some())
        .collect()
}

pub fn peer<P: HasPeer>(sim: &Sim<P>, n: u64) -> &Peer {
    sim.process(id(n))
        .map(HasPeer::peer)
        .unwrap_or_else(|| panic!("server {n} is not running"))
}

pub fn role<P: HasPeer>(sim: &Sim<P>, n: u64) -> Role {
    peer(sim, n).role()
}

pub fn leader_of<P: HasPeer>(sim: &Sim<P>, n: u64) -> Option<ServerId> {
    peer(sim, n).leader()
}

/// Has every running server left LOOKING (and is any running)?
pub fn settled<P: HasPeer>(sim: &Sim<P>) -> bool {
    let up = running(sim);
    !up.is_empty() && up.iter().all(|s| role(sim, s.0) != Role::Looking)
}

/// Run event by event until every running server has left LOOKING, or `limit_ms` pass; the
/// virtual time it happened.
pub fn run_until_settled<P: HasPeer>(sim: &mut Sim<P>, limit_ms: u64) -> Option<SimTime> {
    run_until_true(sim, limit_ms, settled::<P>)
}

/// Run event by event until `done` holds (checked before every event), or `limit_ms` pass.
pub fn run_until_true<P: HasPeer>(
    sim: &mut Sim<P>,
    limit_ms: u64,
    done: impl Fn(&Sim<P>) -> bool,
) -> Option<SimTime> {
    let deadline = sim.now().plus(Span::from_millis(limit_ms));
    loop {
        if done(sim) {
            return Some(sim.now());
        }
        match sim.next_event_at() {
            Some(next) if next <= deadline => {
                sim.step();
            }
            _ => {
                sim.run_until(deadline);
                return None;
            }
        }
    }
}

pub fn run_ms<P: HasPeer>(sim: &mut Sim<P>, ms: u64) {
    assert!(sim.run_for(Span::from_millis(ms)), "the run ended early");
}

pub fn run_to_ms<P: HasPeer>(sim: &mut Sim<P>, at_ms: u64) {
    assert!(
        sim.run_until(SimTime::from_millis(at_ms)),
        "the run ended early"
    );
}

/// Every running server follows (or observes, or is) `leader`.
pub fn assert_led_by<P: HasPeer>(sim: &Sim<P>, leader: u64) {
    for sid in running(sim) {
        let observer = peer(sim, sid.0).config().observers.contains(&sid);
        let expected = if sid.0 == leader {
            Role::Leading
        } else if observer {
            Role::Observing
        } else {
            Role::Following
        };
        assert_eq!(role(sim, sid.0), expected, "role of server {sid}");
        assert_eq!(
            leader_of(sim, sid.0),
            Some(id(leader)),
            "leader seen by {sid}"
        );
    }
}

/// The leaders server `n` reported electing (FLE's `Elected` events), in order.
pub fn elected<P: HasPeer>(sim: &Sim<P>, n: u64) -> Vec<ServerId> {
    sim.server_events()
        .iter()
        .filter(|r| r.server == id(n))
        .filter_map(|r| match r.event {
            ServerEvent::Elected { leader, .. } => Some(leader),
            _ => None,
        })
        .collect()
}

/// Every `LeaderEstablished` so far: who, in which epoch.
pub fn established<P: HasPeer>(sim: &Sim<P>) -> Vec<(ServerId, zab_core::Epoch)> {
    sim.server_events()
        .iter()
        .filter_map(|r| match r.event {
            ServerEvent::LeaderEstablished { epoch } => Some((r.server, epoch)),
            _ => None,
        })
        .collect()
}
