//! Each node's own clock: an offset, a rate (drift) and jumps. The peer only ever sees its own
//! clock, in milliseconds; the engine converts the peer's timer deadlines back to global time.
//!
//! The clock is piecewise linear: `local = anchor_local + (global - anchor_global) * rate`,
//! with `rate = 1 + drift_ppm / 1e6`. Changing the drift or jumping re-anchors it at the current
//! instant, so local time is continuous except at jumps.

use crate::time::SimTime;
use zab_core::ids::Millis;

/// One node's clock.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeClock {
    anchor_global_us: u64,
    anchor_local_us: i128,
    drift_ppm: i64,
}

impl NodeClock {
    /// A clock that reads `start_local_ms` at global time zero and runs at the true rate.
    pub fn new(start_local_ms: u64) -> NodeClock {
        NodeClock {
            anchor_global_us: 0,
            anchor_local_us: start_local_ms as i128 * 1000,
            drift_ppm: 0,
        }
    }

    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    fn local_us(&self, global: SimTime) -> i128 {
        let elapsed = global.0 as i128 - self.anchor_global_us as i128;
        self.anchor_local_us + elapsed * (1_000_000 + self.drift_ppm as i128) / 1_000_000
    }

    /// The node's local time at `global`, in milliseconds (never negative).
    pub fn local_now(&self, global: SimTime) -> Millis {
        Millis((self.local_us(global).max(0) / 1000) as u64)
    }

    /// The earliest global time (not before `now`) at which the local clock reads `at` or more.
    pub fn global_for(&self, at: Millis, now: SimTime) -> SimTime {
        let target_us = at.0 as i128 * 1000;
        let rate = 1_000_000 + self.drift_ppm as i128;
        debug_assert!(rate > 0, "a clock never runs backwards");
        let delta_local = target_us - self.anchor_local_us;
        // ceil(delta_local * 1e6 / rate)
        let delta_global = (delta_local * 1_000_000 + rate - 1).div_euclid(rate);
        let global = self.anchor_global_us as i128 + delta_global;
        SimTime(global.max(now.0 as i128).max(0) as u64)
    }

    /// Change the rate from `now` on. Drift is clamped to ±50% so time keeps moving forward.
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: i64) {
        self.reanchor(now);
        self.drift_ppm = drift_ppm.clamp(-500_000, 500_000);
    }

    /// Step the clock by `jump_ms` (negative steps it back, as an NTP correction can).
    pub fn jump(&mut self, now: SimTime, jump_ms: i64) {
        self.reanchor(now);
        self.anchor_local_us += jump_ms as i128 * 1000;
    }

    fn reanchor(&mut self, now: SimTime) {
        self.anchor_local_us = self.local_us(now);
        self.anchor_global_us = now.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undrifted_clock_is_offset_global_time() {
        let c = NodeClock::new(1000);
        assert_eq!(c.local_now(SimTime::from_millis(250)), Millis(1250));
        assert_eq!(
            c.global_for(Millis(1300), SimTime::ZERO),
            SimTime::from_millis(300)
        );
    }

    #[test]
    fn fast_clock_fires_timers_early_in_global_time() {
        let mut c = NodeClock::new(0);
        c.set_drift(SimTime::ZERO, 100_000); // 10% fast
        assert_eq!(c.local_now(SimTime::from_millis(1000)), Millis(1100));
        let g = c.global_for(Millis(1100), SimTime::ZERO);
        assert_eq!(g, SimTime::from_millis(1000));
        assert!(c.local_now(g) >= Millis(1100));
    }

    #[test]
    fn timer_conversion_never_fires_before_the_local_deadline() {
        let mut c = NodeClock::new(7);
        c.set_drift(SimTime(123), -33_333);
        for at in [10u64, 11, 999, 12_345, 1_000_001] {
            let g = c.global_for(Millis(at), SimTime::ZERO);
            assert!(c.local_now(g) >= Millis(at), "{at}");
        }
    }

    #[test]
    fn backward_jump_delays_local_deadlines() {
        let mut c = NodeClock::new(0);
        c.jump(SimTime::from_millis(100), -50);
        assert_eq!(c.local_now(SimTime::from_millis(100)), Millis(50));
        assert_eq!(
            c.global_for(Millis(60), SimTime::from_millis(100)),
            SimTime::from_millis(110)
        );
    }

    #[test]
    fn deadlines_in_the_past_fire_now() {
        let c = NodeClock::new(5000);
        assert_eq!(c.global_for(Millis(10), SimTime(77)), SimTime(77));
    }
}
