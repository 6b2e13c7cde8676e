//! Aimed faults in the engine: every send a process makes is checked against the scenario's
//! triggers (`[[fault]] on = { … }`, see [`crate::scenario::Trigger`]); a match applies the
//! fault's action at once, or schedules it `delay` later, with `sender` / `receiver` standing
//! for that send's servers. Deterministic: triggers are checked in file order, counts are
//! per fault, and random targets (`follower`, `any`) draw from the nemesis stream as timeline
//! faults do.

use super::{Event, Process, Sim};
use crate::time::SimTime;
use zab_core::ids::ServerId;
use zab_core::peer::Role;

/// How often one aimed fault's trigger has matched and fired.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AimedCount {
    matched: u32,
    fired: u32,
}

impl<P: Process> Sim<P> {
    /// `sender` just sent a `packet` (its [`crate::scenario::packet_name`]) to `receiver`.
    pub(crate) fn aimed_on_send(
        &mut self,
        at: SimTime,
        sender: ServerId,
        receiver: ServerId,
        packet: &'static str,
    ) {
        if self.aimed.is_empty() || self.quiet {
            return;
        }
        let role = |s: &Self, id: ServerId| s.node(id).map_or(Role::Looking, |n| n.role);
        let from = (sender, role(self, sender));
        let to = (receiver, role(self, receiver));
        for index in 0..self.scenario.faults.len() {
            let spec = &self.scenario.faults[index];
            let Some(trigger) = &spec.on else {
                continue;
            };
            if SimTime(spec.at.0) > at || !trigger.matches(packet, from, to) {
                continue;
            }
            let (skip, times, delay) = (trigger.skip, trigger.times, trigger.delay);
            let count = &mut self.aimed[index];
            count.matched += 1;
            if count.matched <= skip || count.fired >= times {
                continue;
            }
            count.fired += 1;
            debug_assert!(count.fired <= times, "an aimed fault fires at most `times`");
            let fire = Event::Aimed {
                fault: index,
                sender,
                receiver,
            };
            if delay.0 == 0 {
                self.fire_aimed(at, index, sender, receiver);
            } else {
                self.schedule(at.plus(delay), fire);
            }
        }
    }

    /// Apply aimed fault `index` for a send from `sender` to `receiver`.
    pub(crate) fn fire_aimed(
        &mut self,
        at: SimTime,
        index: usize,
        sender: ServerId,
        receiver: ServerId,
    ) {
        if self.quiet {
            return; // like every fault: only during `duration`
        }
        let Some(spec) = self.scenario.faults.get(index) else {
            return;
        };
        let Some(trigger) = &spec.on else {
            return;
        };
        let origin = format!("aimed {trigger}: {sender} -> {receiver}");
        let action = spec.action.aimed_at(sender, receiver);
        self.apply(at, &action, &origin);
    }
}
