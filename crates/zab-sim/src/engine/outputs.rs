//! Feeding a peer and carrying out what it asks: sends, connects, timers, disk requests,
//! client replies and protocol events. Also the process lifecycle (start, stop, restart,
//! pause), since each of those is about which peer receives inputs.

use super::node::NodeState;
use super::{hash_u64s, Event, Process, Sim};
use crate::disk::Stop;
use crate::hash::hash_serialize;
use crate::net::{EndState, Host, LinkKind, Packet, Side};
use crate::time::{SimTime, Span};
use std::panic::{catch_unwind, AssertUnwindSafe};
use zab_check::history::ServerRecord;
use zab_core::ids::{Millis, ServerId};
use zab_core::peer::{Input, Output, Role, ServerEvent, Timer};

impl<P: Process> Sim<P> {
    /// Deliver one input to a node's process (or defer it while paused, or drop it while
    /// down), then carry out everything the peer asked for.
    pub(crate) fn feed(&mut self, at: SimTime, id: ServerId, input: Input) {
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if !node.is_up() {
            return;
        }
        if node.paused_until.is_some() {
            node.deferred.push_back(input);
            return;
        }
        let local = node.local_now(at);
        let peer = node.peer.as_mut().expect("an up node has a process");
        let handled = catch_unwind(AssertUnwindSafe(|| peer.handle(local, input)));
        self.counters.inputs += 1;
        match handled {
            Ok(()) => self.drain(at, id),
            Err(payload) => self.process_panicked(at, id, payload),
        }
    }

    /// The process panicked: a bug in the protocol code, reported as a `panic` fault (which
    /// the verdict turns into a violation) and treated as a crash of that server, so the run
    /// goes on and the seed can be replayed.
    fn process_panicked(
        &mut self,
        at: SimTime,
        id: ServerId,
        payload: Box<dyn std::any::Any + Send>,
    ) {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string());
        self.counters.process_panics += 1;
        self.stop_process(at, id, false);
        self.record_fault(
            at,
            "panic",
            vec![id],
            format!("the process panicked: {message}"),
        );
    }

    /// Carry out every output the peer has queued.
    pub(crate) fn drain(&mut self, at: SimTime, id: ServerId) {
        let mut outputs = std::mem::take(&mut self.scratch);
        if let Some(peer) = self.node_mut(id).and_then(|n| n.peer.as_mut()) {
            let polled = catch_unwind(AssertUnwindSafe(|| {
                while let Some(o) = peer.poll_output() {
                    outputs.push(o);
                }
            }));
            if let Err(payload) = polled {
                outputs.clear();
                self.scratch = outputs;
                return self.process_panicked(at, id, payload);
            }
        }
        // A peer that halts (ZooKeeper exits on a disk error or an unreadable disk) is a
        // process that has exited: its connections reset, and a restart recovers from disk.
        let exits = outputs
            .iter()
            .any(|o| matches!(o, Output::Event(ServerEvent::Halted { .. })));
        let incarnation = self.node(id).map(|n| n.incarnation);
        for o in outputs.drain(..) {
            if self.node(id).map(|n| n.incarnation) != incarnation {
                // An aimed fault stopped the process in the middle of this step: it never got
                // to do the rest.
                break;
            }
            self.carry_out(at, id, o);
        }
        outputs.clear();
        self.scratch = outputs;
        if exits {
            self.stop_process(at, id, false);
        }
    }

    fn carry_out(&mut self, at: SimTime, id: ServerId, output: Output) {
        match output {
            Output::Send { to, msg } => {
                let channel = msg.channel();
                let link = self
                    .node(id)
                    .and_then(|n| n.peers.get(&(to, channel)).copied());
                let packet = crate::scenario::packet_name(&msg);
                match link {
                    Some(link) => self.send_on(at, link, self.side_of(link, id), Packet::Peer(msg)),
                    None => self.counters.sends_without_connection += 1,
                }
                self.aimed_on_send(at, id, to, packet);
            }
            Output::Connect {
                to,
                channel,
                timeout,
            } => {
                let (link, arrivals) = self.net.connect(
                    at,
                    Host::Server(id),
                    Host::Server(to),
                    LinkKind::Peer(channel),
                );
                self.schedule_arrivals(arrivals);
                let node = self.node(id).expect("output from a known node");
                let local = node.local_now(at);
                let deadline = node.clock.global_for(local + timeout, at);
                let incarnation = node.incarnation;
                self.schedule(
                    deadline,
                    Event::ConnectTimeout {
                        node: id,
                        incarnation,
                        link,
                    },
                );
            }
            Output::Disconnect { peer, channel } => {
                let link = self
                    .node_mut(id)
                    .and_then(|n| n.peers.remove(&(peer, channel)));
                if let Some(link) = link {
                    let side = self.side_of(link, id);
                    self.close_end(at, link, side, Packet::Fin);
                }
            }
            Output::SetTimer {
                timer,
                at: local_at,
            } => self.set_timer(at, id, timer, local_at),
            Output::CancelTimer { timer } => {
                if let Some(n) = self.node_mut(id) {
                    n.timers.remove(&timer);
                }
            }
            Output::Persist { token, op } => {
                self.counters.disk_ops += 1;
                let node = self.node_mut(id).expect("output from a known node");
                let done = node.disk.submit(at, token, op);
                let incarnation = node.incarnation;
                self.schedule(
                    done,
                    Event::DiskDone {
                        node: id,
                        incarnation,
                    },
                );
            }
            Output::ClientConnected { conn, response } => {
                let refused = response.is_none();
                self.send_on(
                    at,
                    conn.0,
                    Side::Acceptor,
                    Packet::ClientConnected(response),
                );
                if refused {
                    self.close_end(at, conn.0, Side::Acceptor, Packet::Fin);
                }
            }
            Output::ClientReply {
                conn,
                xid,
                zxid,
                result,
            } => self.send_on(
                at,
                conn.0,
                Side::Acceptor,
                Packet::ClientReply { xid, zxid, result },
            ),
            Output::ClientWatch { conn, event } => {
                self.send_on(at, conn.0, Side::Acceptor, Packet::ClientWatch(event))
            }
            Output::ClientClose { conn } => self.close_end(at, conn.0, Side::Acceptor, Packet::Fin),
            Output::Event(event) => self.server_event(at, id, event),
        }
    }

    fn server_event(&mut self, at: SimTime, id: ServerId, event: ServerEvent) {
        self.trace.record(
            at,
            "server-event",
            id.0,
            |h| hash_serialize(h, &event),
            || format!("{event:?}"),
        );
        if let Some(node) = self.node_mut(id) {
            match &event {
                ServerEvent::RoleChanged { role } => node.role = *role,
                ServerEvent::LeaderEstablished { epoch } => node.established_epoch = Some(*epoch),
                ServerEvent::Committed { zxid, .. } => {
                    node.last_committed = node.last_committed.max(*zxid)
                }
                ServerEvent::Truncated { to } => {
                    node.last_committed = node.last_committed.min(*to);
                }
                ServerEvent::Digest { zxid, digest } => node.last_digest = Some((*zxid, *digest)),
                _ => {}
            }
        }
        self.history.server_events.push(ServerRecord {
            at: Millis(at.as_millis()),
            server: id,
            event,
        });
    }

    fn set_timer(&mut self, at: SimTime, id: ServerId, timer: Timer, local_at: Millis) {
        let Some(node) = self.node_mut(id) else {
            return;
        };
        let generation = node.next_timer_generation;
        node.next_timer_generation += 1;
        node.timers.insert(timer, (local_at, generation));
        let fire = node.clock.global_for(local_at, at);
        let incarnation = node.incarnation;
        self.schedule(
            fire,
            Event::Timer {
                node: id,
                incarnation,
                timer,
                generation,
            },
        );
    }

    /// The clock changed: every pending timer's global time moves.
    pub(crate) fn reschedule_timers(&mut self, at: SimTime, id: ServerId) {
        let pending: Vec<(Timer, Millis)> = match self.node(id) {
            Some(n) => n
                .timers
                .iter()
                .map(|(t, (local, _))| (*t, *local))
                .collect(),
            None => return,
        };
        for (timer, local) in pending {
            self.set_timer(at, id, timer, local);
        }
    }

    pub(crate) fn on_timer(
        &mut self,
        at: SimTime,
        id: ServerId,
        incarnation: u32,
        timer: Timer,
        generation: u64,
    ) {
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.incarnation != incarnation
            || node.timers.get(&timer).map(|t| t.1) != Some(generation)
        {
            self.counters.timers_stale += 1;
            return;
        }
        node.timers.remove(&timer);
        self.counters.timers_fired += 1;
        self.trace.record(
            at,
            "timer",
            id.0,
            |h| hash_serialize(h, &timer),
            || format!("{timer:?}"),
        );
        self.feed(at, id, Input::TimerFired(timer));
    }

    pub(crate) fn on_disk_done(&mut self, at: SimTime, id: ServerId, incarnation: u32) {
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.incarnation != incarnation {
            return;
        }
        if node.disk_held {
            node.held_completions += 1;
            return;
        }
        let Some(done) = node.disk.complete() else {
            return;
        };
        self.trace.record(
            at,
            "disk-done",
            id.0,
            |h| {
                hash_u64s(h, &[done.token.0, done.result.is_ok() as u64]);
                h.write_str(done.note);
            },
            || format!("{:?} {:?} {}", done.token, done.result, done.note),
        );
        self.feed(
            at,
            id,
            Input::PersistDone {
                token: done.token,
                result: done.result,
            },
        );
    }

    /// Start (or restart) a server's process from what its disk holds.
    pub(crate) fn start_process(&mut self, id: ServerId) {
        let at = self.now();
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.is_up() {
            return;
        }
        let recovered = node.disk.recovered();
        let local = node.local_now(at);
        let seed = node.prng.next_u64();
        let config = node.config.clone();
        match catch_unwind(AssertUnwindSafe(|| {
            P::start(config, recovered, local, seed)
        })) {
            Ok(peer) => {
                let node = self.node_mut(id).expect("checked above");
                node.peer = Some(peer);
                node.state = NodeState::Up;
                node.role = Role::Looking;
                self.drain(at, id);
            }
            Err(payload) => {
                if let Some(node) = self.node_mut(id) {
                    node.state = NodeState::Crashed;
                }
                self.process_panicked(at, id, payload);
            }
        }
    }

    /// Stop a server: a process crash (connections reset by the still-running kernel) or a
    /// power-off (connections silently dead). Returns a disk note when a fault struck.
    pub(crate) fn stop_process(
        &mut self,
        at: SimTime,
        id: ServerId,
        power_off: bool,
    ) -> Option<String> {
        let node = self.node_mut(id)?;
        if !power_off && !node.is_up() {
            return None;
        }
        if power_off && node.state == NodeState::Off {
            return None;
        }
        let was_up = node.is_up();
        node.drop_process(if power_off {
            NodeState::Off
        } else {
            NodeState::Crashed
        });
        let _ = was_up;
        let note = node.disk.stop(if power_off {
            Stop::PowerOff
        } else {
            Stop::ProcessCrash
        });
        for link in self.net.links_of(Host::Server(id)) {
            let side = self.side_of(link, id);
            self.net.discard_lost(link, side);
            match self.net.link(link).map(|l| l.end(side)) {
                Some(EndState::Open) if !power_off => {
                    self.counters.connections_reset += 1;
                    self.close_end(at, link, side, Packet::Rst);
                }
                Some(EndState::Open) | Some(EndState::Pending) => {
                    self.net.set_end(link, side, EndState::Closed)
                }
                _ => {}
            }
        }
        note
    }

    /// Bring a stopped server back: power on (retransmissions reach it again) and start its
    /// process from its disk.
    pub(crate) fn restart_process(&mut self, at: SimTime, id: ServerId) -> bool {
        let Some(node) = self.node(id) else {
            return false;
        };
        if !node.state.is_down() {
            return false;
        }
        let was_off = node.state == NodeState::Off;
        if let Some(n) = self.node_mut(id) {
            n.state = NodeState::Crashed;
        }
        if was_off {
            self.retransmit(at);
        }
        self.start_process(id);
        true
    }

    /// Stop delivering to a node for `span` (a GC pause, SIGSTOP).
    pub(crate) fn pause_process(&mut self, at: SimTime, id: ServerId, span: Span) -> bool {
        let Some(node) = self.node_mut(id) else {
            return false;
        };
        if !node.is_up() {
            return false;
        }
        let until = at.plus(span).max(node.paused_until.unwrap_or(at));
        node.paused_until = Some(until);
        let incarnation = node.incarnation;
        self.schedule(
            until,
            Event::Resume {
                node: id,
                incarnation,
            },
        );
        true
    }

    pub(crate) fn on_resume(&mut self, at: SimTime, id: ServerId, incarnation: u32) {
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.incarnation != incarnation || node.paused_until.is_none_or_after(at) {
            return;
        }
        node.paused_until = None;
        let deferred: Vec<Input> = node.deferred.drain(..).collect();
        self.trace.record(
            at,
            "resume",
            id.0,
            |h| h.write_u64(deferred.len() as u64),
            || format!("{} deferred inputs", deferred.len()),
        );
        for input in deferred {
            self.feed(at, id, input);
        }
    }
}

/// `paused_until` is only cleared by the resume event scheduled for exactly that time.
trait PausedUntil {
    fn is_none_or_after(&self, at: SimTime) -> bool;
}

impl PausedUntil for Option<SimTime> {
    fn is_none_or_after(&self, at: SimTime) -> bool {
        self.is_none_or(|until| until > at)
    }
}
