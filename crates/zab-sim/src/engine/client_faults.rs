//! Client partitions: cutting clients from servers while the servers still see each other.
//!
//! The cut works like a partition between servers (`net.rs`'s `path_blocked`): packets on a
//! cut path are lost and retransmitted at the heal, so a client hears nothing, declares
//! connection loss after its read timeout and reconnects to the next server with its session,
//! as `ClientCnxn` does — while the server it left keeps serving the ensemble and knows
//! nothing of the move (the connection only dies when the client's FIN gets through, or the
//! session closes). Random choices (which server the nemesis cuts, which way, for how long)
//! come from the `client-faults` stream, so the other streams decide exactly as before.

use super::faults::Recovery;
use super::{Event, Process, Sim};
use crate::net::{CutDirection, Host};
use crate::scenario::{ClientTarget, NemesisSpec, Target};
use crate::time::{SimTime, Span};
use zab_core::ids::ServerId;

impl<P: Process> Sim<P> {
    /// Cut `clients` from `servers` now.
    pub(crate) fn apply_client_partition(
        &mut self,
        at: SimTime,
        clients: &[ClientTarget],
        servers: &[Target],
        direction: CutDirection,
        origin: &str,
    ) {
        // `resolve` draws random picks ("follower", "any") from the nemesis stream; a client
        // partition draws them from its own.
        std::mem::swap(&mut self.nemesis, &mut self.client_faults);
        let servers = self.resolve(servers);
        std::mem::swap(&mut self.nemesis, &mut self.client_faults);
        let clients = self.resolve_clients(clients, &servers);
        self.net
            .partitions
            .cut_clients(&clients, &servers, direction);
        let detail = if clients.is_empty() || servers.is_empty() {
            format!("{origin}: no client or server matched (skipped)")
        } else {
            let servers: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
            let way = match direction {
                CutDirection::Both => "both ways",
                CutDirection::Requests => "requests only",
                CutDirection::Replies => "replies only",
            };
            format!(
                "{origin}: clients {clients:?} cut from servers [{}], {way}",
                servers.join(", ")
            )
        };
        self.record_fault(at, "client_partition", servers, detail);
    }

    /// Client ids (1-based, sorted) that `targets` name now; `Connected` means the clients
    /// whose current connection, or connection attempt, is to one of `servers`.
    fn resolve_clients(&self, targets: &[ClientTarget], servers: &[ServerId]) -> Vec<u64> {
        let mut out = Vec::new();
        for t in targets {
            match t {
                ClientTarget::Id(id) => out.push(*id),
                ClientTarget::All => out.extend(self.clients.iter().map(|s| s.client.id)),
                ClientTarget::Connected => out.extend(
                    self.clients
                        .iter()
                        .filter(|slot| {
                            slot.link.and_then(|l| self.net.link(l)).is_some_and(|l| {
                                match l.acceptor {
                                    Host::Server(s) => servers.contains(&s),
                                    Host::Client(_) => false,
                                }
                            })
                        })
                        .map(|slot| slot.client.id),
                ),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Heal the client cuts only; what they held back is retransmitted.
    pub(crate) fn heal_clients(&mut self, at: SimTime, origin: &str) {
        if self.net.partitions.clients_whole() {
            return;
        }
        let was = self.net.partitions.describe_clients();
        self.net.partitions.heal_clients();
        self.retransmit(at);
        self.record_fault(at, "heal", Vec::new(), format!("{origin}: was {was}"));
    }

    /// The nemesis chose a client partition: cut every client from one live server, usually
    /// both ways, sometimes only requests or only replies, and schedule the heal.
    pub(crate) fn nemesis_client_partition(&mut self, at: SimTime, spec: &NemesisSpec) {
        if !self.net.partitions.clients_whole() {
            return;
        }
        let live = self.live_servers();
        let Some(server) = self.client_faults.pick(&live).copied() else {
            return;
        };
        let direction = match self.client_faults.below(4) {
            0 => CutDirection::Requests,
            1 => CutDirection::Replies,
            _ => CutDirection::Both,
        };
        self.apply_client_partition(
            at,
            &[ClientTarget::All],
            &[Target::Id(server)],
            direction,
            "nemesis",
        );
        let hold = Span(self.client_faults.below(spec.down_for.0.max(1) * 2));
        self.schedule(at.plus(hold), Event::Recover(Recovery::HealClients));
    }
}
