//! A stand-in for the peer that runs the real ZAB (`zab_core::zab::Zab`) with a fixed leader
//! instead of an election: the highest voter leads, the others follow or observe, and a server
//! whose role is abandoned takes it up again a second later. It lets the simulator (and ZAB's
//! own tests) drive real protocol traffic independently of FLE; it cannot survive the loss of
//! the fixed leader, by design.

use crate::engine::Process;
use std::collections::VecDeque;
use zab_core::ids::{Millis, ServerId, Zxid};
use zab_core::peer::{Input, Output, Recovered, Timer};
use zab_core::zab::Zab;
use zab_core::Config;

/// ZAB with a fixed leader (see the module doc).
pub struct FixedLeader {
    zab: Option<Zab>,
    config: Config,
    out: VecDeque<Output>,
}

impl FixedLeader {
    fn leader(&self) -> ServerId {
        *self.config.voters.iter().max().expect("voters")
    }

    fn take_role(&mut self, now: Millis) {
        let leader = self.leader();
        let Some(zab) = self.zab.as_mut() else {
            return;
        };
        if self.config.me == leader {
            zab.start_leading(now);
        } else if self.config.is_observer() {
            zab.start_observing(now, leader);
        } else {
            zab.start_following(now, leader);
        }
        self.out
            .push_back(Output::Event(zab_core::peer::ServerEvent::RoleChanged {
                role: zab.role(),
            }));
        self.collect(now);
    }

    fn collect(&mut self, now: Millis) {
        let Some(zab) = self.zab.as_mut() else {
            return;
        };
        zab.drain_into(&mut self.out);
        if zab.take_abandon().is_some() {
            self.out.push_back(Output::SetTimer {
                timer: Timer::Election,
                at: now + 1000,
            });
        }
    }
}

impl Process for FixedLeader {
    fn start(config: Config, recovered: Recovered, now: Millis, _seed: u64) -> FixedLeader {
        let zab = Zab::recover(config.clone(), &recovered)
            .ok()
            .map(|(z, _)| z);
        let mut p = FixedLeader {
            zab,
            config,
            out: VecDeque::new(),
        };
        p.take_role(now);
        p
    }

    fn handle(&mut self, now: Millis, input: Input) {
        if input == Input::TimerFired(Timer::Election) {
            self.take_role(now);
            return;
        }
        if let Some(zab) = self.zab.as_mut() {
            zab.handle(now, input);
        }
        self.collect(now);
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn applied_state(&self) -> Option<(Zxid, u64)> {
        self.zab.as_ref().map(|z| (z.last_processed(), z.digest()))
    }
}
