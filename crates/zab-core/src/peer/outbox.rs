//! What the peer has asked of its driver and not yet handed over, and the timers it has set.

use super::{Output, Timer};
use crate::ids::Millis;
use std::collections::{BTreeMap, VecDeque};

/// The most outputs one `handle` may leave for the driver. The driver drains the outbox
/// after every input, so this is a bound on one step's work, not on a backlog.
pub const OUTPUTS_MAX: usize = 1_000_000;

/// Outputs in the order they were asked for, plus the deadline of every armed timer (so that
/// a late or stale `TimerFired` can be recognised and ignored).
#[derive(Debug, Default)]
pub struct Outbox {
    outputs: VecDeque<Output>,
    timers: BTreeMap<Timer, Millis>,
}

impl Outbox {
    pub fn push(&mut self, output: Output) {
        debug_assert!(
            self.outputs.len() < OUTPUTS_MAX,
            "the driver drains outputs"
        );
        self.outputs.push_back(output);
    }

    /// Arm (or move) `timer` to fire at `at`.
    pub fn set_timer(&mut self, timer: Timer, at: Millis) {
        self.timers.insert(timer, at);
        self.push(Output::SetTimer { timer, at });
    }

    /// Disarm `timer`, telling the driver only if it was armed.
    pub fn cancel_timer(&mut self, timer: Timer) {
        if self.timers.remove(&timer).is_some() {
            self.push(Output::CancelTimer { timer });
        }
    }

    /// A `TimerFired(timer)` arrived at `now`: true (and the timer is disarmed) when it is
    /// armed and due; false for a stale or early firing, which the peer ignores.
    pub fn take_due(&mut self, timer: Timer, now: Millis) -> bool {
        match self.timers.get(&timer) {
            Some(at) if *at <= now => {
                self.timers.remove(&timer);
                true
            }
            _ => false,
        }
    }

    pub fn is_armed(&self, timer: Timer) -> bool {
        self.timers.contains_key(&timer)
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.values().min().copied()
    }

    pub fn pop(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }
}
