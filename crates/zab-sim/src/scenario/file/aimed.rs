//! The `on = { … }` table of an aimed `[[fault]]` and its validation (see
//! [`crate::scenario::Trigger`]); also the rule that `sender` / `receiver` only name a server
//! in a fault that has one.

use super::*;
use crate::scenario::{Endpoint, Trigger, PACKET_NAMES};

/// `on = { sent = "ACKEPOCH", by = "follower", to = "leader", skip = 0, times = 1, delay = "0ms" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OnFile {
    sent: Spanned<String>,
    by: Option<Spanned<EndpointFile>>,
    to: Option<Spanned<EndpointFile>>,
    #[serde(default)]
    skip: u32,
    times: Option<Spanned<u32>>,
    delay: Option<Dur>,
}

/// A server id or a role name, checked in [`validate_on`].
#[derive(Clone, Debug)]
enum EndpointFile {
    Id(u64),
    Name(String),
}

impl<'de> Deserialize<'de> for EndpointFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EndpointFile, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EndpointFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a server id or one of {}", Endpoint::NAMES.join(", "))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EndpointFile, E> {
                u64::try_from(v)
                    .map(EndpointFile::Id)
                    .map_err(|_| E::custom(format!("server ids are positive, got {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EndpointFile, E> {
                Ok(EndpointFile::Id(v))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EndpointFile, E> {
                Ok(EndpointFile::Name(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

fn endpoint(
    loc: &Locator<'_>,
    field: String,
    spanned: Option<Spanned<EndpointFile>>,
    servers: &[ServerId],
) -> Result<Endpoint, ScenarioError> {
    let Some(spanned) = spanned else {
        return Ok(Endpoint::Any);
    };
    let offset = spanned.span().start;
    let valid = || {
        let ids: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
        format!(
            "valid: a server id ({}) or one of {}",
            ids.join(", "),
            Endpoint::NAMES.join(", ")
        )
    };
    Ok(match spanned.into_inner() {
        EndpointFile::Id(id) if servers.contains(&ServerId(id)) => Endpoint::Id(ServerId(id)),
        EndpointFile::Id(id) => {
            return Err(loc.error(
                offset,
                field,
                format!("no server {id} in this cluster; {}", valid()),
            ))
        }
        EndpointFile::Name(name) => match name.as_str() {
            "any" => Endpoint::Any,
            "leader" => Endpoint::Leader,
            "follower" => Endpoint::Follower,
            "observer" => Endpoint::Observer,
            "learner" => Endpoint::Learner,
            other => {
                return Err(loc.error(
                    offset,
                    field,
                    format!("unknown sender/receiver `{other}`; {}", valid()),
                ))
            }
        },
    })
}

/// Validate `fault[n].on`.
pub(super) fn validate_on(
    loc: &Locator<'_>,
    section: &str,
    spanned: Spanned<OnFile>,
    servers: &[ServerId],
) -> Result<Trigger, ScenarioError> {
    let on = spanned.into_inner();
    let field = |k: &str| format!("{section}.on.{k}");
    let sent = on.sent.get_ref().trim().to_ascii_uppercase();
    let Some(packet) = PACKET_NAMES.iter().copied().find(|p| *p == sent) else {
        return Err(loc.error(
            on.sent.span().start,
            field("sent"),
            format!(
                "unknown packet `{}`; valid: {}",
                on.sent.get_ref(),
                PACKET_NAMES.join(", ")
            ),
        ));
    };
    let times = match on.times {
        None => 1,
        Some(t) if *t.get_ref() >= 1 => *t.get_ref(),
        Some(t) => {
            return Err(loc.error(
                t.span().start,
                field("times"),
                "times = 0 would never fire; valid: 1 or more (default 1)".into(),
            ))
        }
    };
    Ok(Trigger {
        packet,
        by: endpoint(loc, field("by"), on.by, servers)?,
        to: endpoint(loc, field("to"), on.to, servers)?,
        skip: on.skip,
        times,
        delay: on.delay.map_or(Span::ZERO, |d| d.0),
    })
}

/// `sender` and `receiver` only mean something for a fault fired by a send.
pub(super) fn reject_endpoint_targets(
    loc: &Locator<'_>,
    section: &str,
    offset: usize,
    action: &FaultAction,
) -> Result<(), ScenarioError> {
    let named = action
        .target_lists()
        .into_iter()
        .flatten()
        .any(|t| matches!(t, Target::Sender | Target::Receiver));
    if named {
        return Err(loc.error(
            offset,
            format!("{section}.target"),
            "`sender` and `receiver` only name a server in an aimed fault: add `on = { sent = \"…\" }` (or name a server or role)".into(),
        ));
    }
    Ok(())
}
