//! The leader's liveness (`Leader.lead`'s loop): pings every half tick, the synced-quorum
//! check every tick, `SyncLimitCheck`, and turning session expiries into closeSession txns.

use super::*;

impl Leader {
    pub fn on_timer(&mut self, r: &mut Replica, timer: Timer) -> Step {
        match timer {
            Timer::PhaseDeadline if !self.established => {
                Err("timeout while waiting for a quorum of learners (initLimit)".into())
            }
            Timer::Tick => {
                r.set_timer(Timer::Tick, r.now + (r.config.tick_ms / 2).max(1));
                if !self.established {
                    return Ok(());
                }
                self.lead_tick(r)
            }
            _ => Ok(()),
        }
    }

    /// One half-tick of `Leader.lead`'s loop: every other one advances the tick and checks
    /// that the synced followers still form a quorum; then every learner is pinged.
    pub(super) fn lead_tick(&mut self, r: &mut Replica) -> Step {
        if !self.tick_skip {
            self.tick += 1;
            let mut synced: BTreeSet<ServerId> = BTreeSet::new();
            synced.insert(r.me());
            for (sid, h) in &self.learners {
                if !h.observer && self.tick <= h.tick_of_next_ack_deadline {
                    synced.insert(*sid);
                }
            }
            if !is_quorum(&synced, &r.config.voters) {
                return Err(format!(
                    "not sufficient followers synced, only synced with {synced:?}"
                ));
            }
        }
        self.tick_skip = !self.tick_skip;
        let limit_ms = r.config.sync_limit * r.config.tick_ms;
        let stale: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, h)| {
                h.unacked
                    .values()
                    .next()
                    .is_some_and(|sent| r.now.0 > sent.0 + limit_ms)
            })
            .map(|(s, _)| *s)
            .collect();
        for sid in stale {
            // `SyncLimitCheck`: a learner that has not acked a proposal within syncLimit.
            self.drop_learner(r, sid);
        }
        let zxid = self
            .proposals
            .as_ref()
            .map(|p| p.last_proposed)
            .unwrap_or_default();
        let pinged: Vec<ServerId> = self.learners.keys().copied().collect();
        for sid in pinged {
            r.send(
                sid,
                QuorumPacket::Ping {
                    zxid,
                    touches: vec![],
                },
            );
        }
        self.expire_sessions(r)
    }

    /// The session tracker's expiries become closeSession transactions.
    pub(super) fn expire_sessions(&mut self, r: &mut Replica) -> Step {
        for session in self.sessions.expire(r.now) {
            r.event(ServerEvent::SessionExpired { session });
            self.submit(
                r,
                session,
                0,
                ForwardedOp::Client(Request::CloseSession),
                &[],
            )?;
        }
        Ok(())
    }
}
