//! Client partitions in scenario files: a `partition` fault with a `clients` key cuts those
//! clients from servers while the servers still see each other — the incident where a
//! client's route to its server fails (a NAT table, a load balancer, a firewall rule) and the
//! client moves on to another server with the same session.
//!
//! ```toml
//! [[fault]]
//! at = "8s"
//! action = "partition"
//! clients = "connected"   # client ids ([1, 2], "client:1"), "all", or "connected": the clients of `servers`
//! servers = "follower"    # default "all"; the usual server targets
//! direction = "both"      # both | requests (client → server lost) | replies (server → client lost)
//! ```

use super::validate::check_targets;
use super::*;

/// `clients = …`: ids, `"client:N"`, `"all"`, `"connected"`, or a list of them.
#[derive(Clone, Debug)]
pub(super) struct ClientTargets(Vec<ClientTarget>);

const CLIENT_NAMES: &str = "a client id (1, \"client:1\"), \"all\", \"connected\" (the clients connected to `servers`) or a list of them";

fn client_from_str<E: de::Error>(s: &str) -> Result<ClientTarget, E> {
    match s {
        "all" => Ok(ClientTarget::All),
        "connected" => Ok(ClientTarget::Connected),
        other => other
            .strip_prefix("client:")
            .unwrap_or(other)
            .parse::<u64>()
            .map(ClientTarget::Id)
            .map_err(|_| E::custom(format!("unknown client `{other}`; valid: {CLIENT_NAMES}"))),
    }
}

impl<'de> Deserialize<'de> for ClientTargets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClientTargets, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ClientTargets;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(CLIENT_NAMES)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ClientTargets, E> {
                match u64::try_from(v) {
                    Ok(id) => self.visit_u64(id),
                    Err(_) => Err(E::custom(format!("client ids are positive, got {v}"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ClientTargets, E> {
                Ok(ClientTargets(vec![ClientTarget::Id(v)]))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ClientTargets, E> {
                Ok(ClientTargets(vec![client_from_str(s)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ClientTargets, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<ClientTargets>()? {
                    all.extend(one.0);
                }
                Ok(ClientTargets(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// A `partition` fault with `clients`: validate it into [`FaultAction::ClientPartition`].
pub(super) fn validate_client_partition(
    loc: &Locator<'_>,
    section: &str,
    table_offset: usize,
    f: FaultFile,
    servers: &[ServerId],
    client_count: u32,
) -> Result<FaultSpec, ScenarioError> {
    let field = |k: &str| format!("{section}.{k}");
    if f.groups.is_some() || f.from.is_some() || f.to.is_some() || f.target.is_some() {
        return Err(loc.error(
            table_offset,
            field("clients"),
            "a client partition names `clients` and (optionally) `servers` and `direction`; `groups`, `from`, `to` and `target` are for partitions between servers".into(),
        ));
    }
    let spanned = f.clients.expect("the caller checked `clients`");
    let offset = spanned.span().start;
    let clients = spanned.into_inner().0;
    if clients.is_empty() {
        return Err(loc.error(offset, field("clients"), "empty client list".into()));
    }
    for c in &clients {
        if let ClientTarget::Id(id) = c {
            if !(1..=u64::from(client_count)).contains(id) {
                let valid = match client_count {
                    0 => "none: the workload has no clients".to_string(),
                    n => format!("1 to {n} (`workload.clients`), \"all\" or \"connected\""),
                };
                return Err(loc.error(
                    offset,
                    field("clients"),
                    format!("no client {id} in this workload; valid: {valid}"),
                ));
            }
        }
    }
    let servers = match f.servers {
        Some(t) => check_targets(loc, &field("servers"), t, servers)?,
        None => vec![Target::All],
    };
    let direction = f.direction.map_or(CutDirection::Both, |d| d.into_inner());
    Ok(FaultSpec {
        // The caller fills in `at` and `on` (an aimed client partition is allowed).
        at: f.at.map_or(Span::ZERO, |d| d.0),
        on: None,
        action: FaultAction::ClientPartition {
            clients,
            servers,
            direction,
        },
    })
}

/// `servers` and `direction` only mean something next to `clients`.
pub(super) fn reject_stray_client_fields(
    loc: &Locator<'_>,
    section: &str,
    f: &FaultFile,
) -> Result<(), ScenarioError> {
    let stray = [
        ("servers", f.servers.as_ref().map(|s| s.span().start)),
        ("direction", f.direction.as_ref().map(|d| d.span().start)),
        ("clients", f.clients.as_ref().map(|c| c.span().start)),
    ];
    for (key, offset) in stray {
        if let Some(offset) = offset {
            return Err(loc.error(
                offset,
                format!("{section}.{key}"),
                format!(
                    "`{key}` belongs to a client partition: action = \"partition\" with clients = …"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
