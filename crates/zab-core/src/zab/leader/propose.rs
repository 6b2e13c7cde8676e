//! Broadcast, the leader's side (`ProposalRequestProcessor`, `Leader.propose`, `processAck`,
//! `commit`, `inform`, `processSync`): propose, ack itself after its fsync, commit on a quorum.

use super::*;

impl Leader {
    pub(super) fn process_ack(&mut self, r: &mut Replica, sid: ServerId, zxid: Zxid) -> Step {
        let Some(proposals) = self.proposals.as_mut() else {
            return Ok(());
        };
        let committed = proposals.ack(sid, zxid);
        for txn in committed {
            self.commit(r, txn);
        }
        Ok(())
    }

    /// Commit: COMMIT to followers, INFORM to observers, apply, release syncs.
    pub(super) fn commit(&mut self, r: &mut Replica, txn: Txn) {
        let zxid = txn.zxid();
        for (sid, h) in &self.learners {
            if !h.forwarding() {
                continue;
            }
            let packet = if h.observer {
                QuorumPacket::Inform(txn.clone())
            } else {
                QuorumPacket::Commit { zxid }
            };
            r.out.push_back(Output::Send {
                to: *sid,
                msg: crate::peer::PeerMessage::Quorum(packet),
            });
        }
        self.preparer.committed(zxid);
        match &txn.body {
            TxnBody::CloseSession { .. } => self.sessions.remove(txn.header.session),
            TxnBody::CreateSession { timeout_ms }
                if self.sessions.check_session(txn.header.session).is_err() =>
            {
                self.sessions
                    .track_session(txn.header.session, *timeout_ms, r.now);
            }
            _ => {}
        }
        if zxid > r.db.last_processed() {
            r.commit(&txn);
        }
        let released = self
            .proposals
            .as_mut()
            .map(|p| p.syncs_released_by(zxid))
            .unwrap_or_default();
        for waiter in released {
            self.sync_done(r, waiter);
        }
    }

    pub(super) fn sync_done(&mut self, r: &mut Replica, waiter: SyncWaiter) {
        match waiter {
            SyncWaiter::Local(session) => {
                r.clients.sync_done(session, &mut r.db.tree, &mut r.out);
            }
            SyncWaiter::Learner(sid) => {
                let zxid = r.db.last_processed();
                r.send(sid, QuorumPacket::Sync { zxid });
            }
        }
    }

    /// A client `sync` (of a local client or forwarded by a learner).
    pub fn sync(&mut self, r: &mut Replica, waiter: SyncWaiter) {
        let ready = match self.proposals.as_mut() {
            Some(p) => p.sync(waiter),
            None => Some(waiter),
        };
        if let Some(waiter) = ready {
            self.sync_done(r, waiter);
        }
    }

    /// `ProposalRequestProcessor` → `Leader.propose`: prepare, assign the next zxid, send
    /// PROPOSAL to every forwarding follower, log it ourselves (we ack ourselves after fsync).
    pub fn submit(
        &mut self,
        r: &mut Replica,
        session: SessionId,
        cxid: i32,
        op: ForwardedOp,
        auth: &[Id],
    ) -> Step {
        if !self.established {
            return Ok(());
        }
        let epoch = self.epoch.expect("established leaders have an epoch");
        let proposals = self
            .proposals
            .as_mut()
            .expect("established leaders propose");
        let Some(zxid) = proposals.next_zxid() else {
            return Err("zxid lower 32 bits have rolled over, forcing re-election".into());
        };
        debug_assert_eq!(
            zxid.epoch(),
            epoch,
            "a leader proposes only in the epoch it established"
        );
        let txn = match op {
            ForwardedOp::CreateSession { timeout_ms } => {
                self.sessions.track_session(session, timeout_ms, r.now);
                let mut txn = self
                    .preparer
                    .prepare_create_session(session, timeout_ms, zxid, r.now);
                txn.header.cxid = cxid;
                txn
            }
            ForwardedOp::Client(request) => {
                if matches!(request, Request::CloseSession) {
                    self.sessions.set_closing(session);
                }
                self.preparer
                    .prepare(&r.db.tree, session, auth, cxid, &request, zxid, r.now)
            }
        };
        debug_assert_eq!(txn.zxid(), zxid);
        proposals.propose(txn.clone());
        r.event(ServerEvent::Proposed { zxid });
        let followers: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, h)| h.forwarding() && !h.observer)
            .map(|(s, _)| *s)
            .collect();
        for sid in followers {
            self.note_sent(r.now, sid, zxid);
            r.send(sid, QuorumPacket::Proposal(txn.clone()));
        }
        r.log_txn(&txn);
        Ok(())
    }

    /// Our log is durable up to `up_to`: ack our own proposals (`AckRequestProcessor`).
    pub fn on_synced(&mut self, r: &mut Replica, up_to: Zxid) -> Step {
        let Some(proposals) = self.proposals.as_ref() else {
            return Ok(());
        };
        let base = Zxid::new(self.epoch.expect("epoch"), 0);
        let from = self.self_acked.max(base);
        let to_ack = proposals.outstanding_zxids(from, up_to);
        for zxid in to_ack {
            self.self_acked = zxid;
            let me = r.me();
            self.process_ack(r, me, zxid)?;
        }
        Ok(())
    }
}
