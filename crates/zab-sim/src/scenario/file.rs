//! The TOML syntax of scenario files and its validation into [`Scenario`]. Every error carries
//! file, line, column and field, and names the valid values; nothing here panics on bad input.

use super::error::{join, Locator, ScenarioError};
use super::*;
use crate::time::parse_span;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::path::Path;
use toml::Spanned;
use zab_core::Bug;

/// Read and validate a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        column: 0,
        field: String::new(),
        message: format!("cannot read the scenario file: {e}"),
    })?;
    let default_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());
    parse(&file, &default_name, &text)
}

/// Validate scenario text. `file` is only used in error messages; `default_name` names the
/// scenario when the file does not.
pub fn parse(file: &str, default_name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let loc = Locator { file, text };
    let raw: ScenarioFile = toml::from_str(text).map_err(|e| toml_error(&loc, &e))?;
    raw.validate(&loc, default_name)
}

fn toml_error(loc: &Locator<'_>, err: &toml::de::Error) -> ScenarioError {
    let span = err.span().unwrap_or(0..0);
    let offset = span.start;
    let message = friendly_types(err.message().trim());
    // The root table's span is empty or the whole document.
    let section = if span.start == 0 && (span.end == 0 || span.end + 1 >= loc.text.len()) {
        String::new()
    } else {
        loc.section_at(offset)
    };
    // "missing field `x`" points at the table, not at a key: name the missing key.
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        Some(missing) => join(&section, Some(missing)),
        None => loc.field_at(offset),
    };
    loc.error(offset, field, message)
}

/// serde names Rust types; a scenario author thinks in TOML types.
fn friendly_types(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, toml_name) in [
        ("expected u64", "expected an integer"),
        ("expected u32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected usize", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        m = m.replace(rust, toml_name);
    }
    m
}

/// A duration written as a string with a unit.
#[derive(Clone, Copy, Debug)]
struct Dur(Span);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration string with a unit, e.g. \"12s\" or \"200ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_span(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A signed duration (`"-2s"`) for clock jumps, in milliseconds.
#[derive(Clone, Copy, Debug)]
struct SignedMillis(i64);

impl<'de> Deserialize<'de> for SignedMillis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SignedMillis, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SignedMillis;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a signed duration string, e.g. \"-2s\" or \"500ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SignedMillis, E> {
                let (sign, rest) = match s.trim().strip_prefix('-') {
                    Some(rest) => (-1, rest),
                    None => (1, s.trim().trim_start_matches('+')),
                };
                let span = parse_span(rest).map_err(E::custom)?;
                Ok(SignedMillis(sign * span.as_millis() as i64))
            }
        }
        d.deserialize_any(V)
    }
}

/// One target or a list of targets: `2`, `"leader"`, `[1, "leader"]`.
#[derive(Clone, Debug)]
struct Targets(Vec<Target>);

fn target_from_str<E: de::Error>(s: &str) -> Result<Target, E> {
    Ok(match s {
        "leader" => Target::Leader,
        "follower" => Target::Follower,
        "followers" => Target::Followers,
        "observer" => Target::Observer,
        "observers" => Target::Observers,
        "any" | "random" => Target::Any,
        "all" => Target::All,
        "down" => Target::Down,
        "sender" => Target::Sender,
        "receiver" => Target::Receiver,
        other => match other.parse::<u64>() {
            Ok(id) => Target::Id(ServerId(id)),
            Err(_) => {
                return Err(E::custom(format!(
                    "unknown target `{other}`; valid: a server id or one of {}",
                    Target::NAMES.join(", ")
                )))
            }
        },
    })
}

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Targets, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Targets;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(
                    f,
                    "a server id, a role ({}) or a list of them",
                    Target::NAMES.join(", ")
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Targets, E> {
                if v < 0 {
                    return Err(E::custom(format!("server ids are positive, got {v}")));
                }
                Ok(Targets(vec![Target::Id(ServerId(v as u64))]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Targets, E> {
                Ok(Targets(vec![Target::Id(ServerId(v))]))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Targets, E> {
                Ok(Targets(vec![target_from_str(s)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Targets, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<Targets>()? {
                    all.extend(one.0);
                }
                Ok(Targets(all))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    #[serde(default)]
    description: String,
    seed: Option<u64>,
    duration: Dur,
    quiet: Option<Dur>,
    #[serde(default = "yes")]
    recover: bool,
    #[serde(default)]
    bugs: Vec<Bug>,
    cluster: ClusterFile,
    #[serde(default)]
    network: NetworkFile,
    #[serde(default)]
    disk: DiskFile,
    #[serde(default)]
    workload: WorkloadFile,
    #[serde(default)]
    fault: Vec<Spanned<FaultFile>>,
    nemesis: Option<Spanned<NemesisFile>>,
    #[serde(default)]
    expect: ExpectFile,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    voters: Spanned<u64>,
    #[serde(default)]
    observers: u64,
    tick_time: Option<Dur>,
    init_limit: Option<u64>,
    sync_limit: Option<u64>,
    /// Start servers one at a time, in id order, this far apart.
    start_interval: Option<Dur>,
    clock_skew: Option<Dur>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DistFile {
    constant: Option<Dur>,
    min: Option<Dur>,
    mean: Option<Dur>,
    max: Option<Dur>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    latency: Option<Spanned<DistFile>>,
    #[serde(default)]
    duplicate: f64,
    #[serde(default)]
    reorder: f64,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskFile {
    append: Option<Spanned<DistFile>>,
    fsync: Option<Spanned<DistFile>>,
    page_cache_survives_crash: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadFile {
    clients: Option<u32>,
    rate: Option<f64>,
    keys: Option<u32>,
    mix: Option<Mix>,
    watch: Option<f64>,
    session_timeout: Option<Dur>,
    start: Option<Dur>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionName {
    Crash,
    PowerOff,
    Restart,
    Partition,
    Heal,
    Pause,
    DiskFault,
    Drift,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFile {
    /// Required unless `on` is given (then: armed from `at`, default from the start).
    at: Option<Dur>,
    action: ActionName,
    target: Option<Spanned<Targets>>,
    groups: Option<Vec<Spanned<Targets>>>,
    from: Option<Spanned<Targets>>,
    to: Option<Spanned<Targets>>,
    #[serde(rename = "for")]
    for_: Option<Dur>,
    kind: Option<DiskFaultKind>,
    count: Option<u32>,
    ppm: Option<i64>,
    jump: Option<SignedMillis>,
    /// Client partitions (`clients.rs`): who is cut, from which servers, which way.
    clients: Option<Spanned<clients::ClientTargets>>,
    servers: Option<Spanned<Targets>>,
    direction: Option<Spanned<CutDirection>>,
    /// An aimed fault's trigger (`aimed.rs`).
    on: Option<Spanned<aimed::OnFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NemesisFile {
    #[serde(default)]
    crash: f64,
    #[serde(default)]
    power_off: f64,
    #[serde(default)]
    partition: f64,
    #[serde(default)]
    pause: f64,
    #[serde(default)]
    disk_fault: f64,
    #[serde(default)]
    drift: f64,
    #[serde(default)]
    client_partition: f64,
    down_for: Option<Dur>,
    max_down: Option<usize>,
    start: Option<Dur>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    result: Option<Spanned<String>>,
    first_leader: Option<Spanned<u64>>,
    min_acked_writes: Option<u64>,
}

mod aimed;
mod clients;
mod validate;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod aimed_tests;
