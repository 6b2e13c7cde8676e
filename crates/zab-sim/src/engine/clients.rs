//! Glue between the simulated clients and the network: carrying out their actions and handing
//! them what arrives on their connection.

use super::{Event, Process, Sim};
use crate::client::ClientAction;
use crate::net::{EndState, Host, LinkId, LinkKind, Packet, Side};
use crate::time::SimTime;

impl<P: Process> Sim<P> {
    fn client_index(&self, id: u64) -> Option<usize> {
        let i = (id as usize).checked_sub(1)?;
        (i < self.clients.len()).then_some(i)
    }

    pub(crate) fn on_client_wake(&mut self, at: SimTime, client: usize, generation: u64) {
        let Some(slot) = self.clients.get_mut(client) else {
            return;
        };
        if slot.wake_generation != generation {
            return;
        }
        self.trace
            .record(at, "client-wake", client as u64 + 1, |_| {}, String::new);
        let actions = slot.client.wake(at, &mut self.history.ops);
        self.client_actions(at, client, actions);
    }

    fn client_actions(&mut self, at: SimTime, i: usize, actions: Vec<ClientAction>) {
        for action in actions {
            match action {
                ClientAction::Connect(server) => {
                    let host = Host::Client(self.clients[i].client.id);
                    let (link, arrivals) =
                        self.net
                            .connect(at, host, Host::Server(server), LinkKind::Client);
                    self.clients[i].link = Some(link);
                    self.schedule_arrivals(arrivals);
                }
                ClientAction::Send(packet) => {
                    if let Some(link) = self.clients[i].link {
                        self.send_on(at, link, Side::Initiator, packet);
                    }
                }
                ClientAction::Close => {
                    if let Some(link) = self.clients[i].link.take() {
                        self.close_end(at, link, Side::Initiator, Packet::Fin);
                    }
                }
                ClientAction::WakeAt(when) => {
                    let slot = &mut self.clients[i];
                    slot.wake_generation += 1;
                    let generation = slot.wake_generation;
                    self.schedule(
                        when,
                        Event::ClientWake {
                            client: i,
                            generation,
                        },
                    );
                }
            }
        }
    }

    /// A packet reached client `id` on `link`.
    pub(crate) fn client_packet(
        &mut self,
        at: SimTime,
        id: u64,
        link: LinkId,
        side: Side,
        end: EndState,
        packet: Packet,
    ) {
        let Some(i) = self.client_index(id) else {
            return;
        };
        let current = self.clients[i].link == Some(link);
        match (end, packet) {
            (EndState::Pending, Packet::SynAck) if current => {
                self.net.set_end(link, side, EndState::Open);
                let actions = self.clients[i].client.on_tcp_open(at);
                self.client_actions(at, i, actions);
            }
            (EndState::Pending | EndState::Open, Packet::Rst | Packet::Fin) => {
                self.net.set_end(link, side, EndState::Closed);
                if current {
                    self.clients[i].link = None;
                    let actions = self.clients[i].client.on_closed(at, &mut self.history.ops);
                    self.client_actions(at, i, actions);
                }
            }
            (EndState::Closed, Packet::Rst | Packet::Fin) => {}
            (EndState::Open, packet) if current => {
                let actions = self.clients[i]
                    .client
                    .on_packet(at, packet, &mut self.history.ops);
                let handshakes = self.clients[i].client.take_handshakes();
                self.history.handshakes.extend(handshakes);
                self.client_actions(at, i, actions);
            }
            (_, _) => {
                // A stale connection: reset it.
                let arrivals = self.net.send(at, link, side, Packet::Rst);
                self.schedule_arrivals(arrivals);
                self.net.set_end(link, side, EndState::Closed);
            }
        }
    }

    /// The client's connection closed under it (its kernel gave up).
    pub(crate) fn client_closed(&mut self, at: SimTime, id: u64, link: LinkId) {
        let Some(i) = self.client_index(id) else {
            return;
        };
        if self.clients[i].link != Some(link) {
            return;
        }
        self.clients[i].link = None;
        let actions = self.clients[i].client.on_closed(at, &mut self.history.ops);
        self.client_actions(at, i, actions);
    }
}
