//! One ZooKeeper server's protocol state (`QuorumPeer` and the servers it runs), as a sans-IO
//! value: `handle(now, input)` in, `poll_output()` out, `next_deadline()` for the driver.

mod io;

pub use io::*;

use crate::config::Config;
use crate::ids::Millis;
use std::collections::VecDeque;

/// One server. Skeleton: the driver-facing shape is final; the election and ZAB fill it in.
pub struct Peer {
    config: Config,
    outbox: VecDeque<Output>,
}

impl Peer {
    /// Build a peer from its configuration and what its disk returned.
    pub fn new(config: Config, _recovered: Recovered, _now: Millis, _seed: u64) -> Peer {
        Peer {
            config,
            outbox: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feed one input.
    pub fn handle(&mut self, _now: Millis, _input: Input) {}

    /// Drain one output; the driver calls this until `None` after every `handle`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }
}
