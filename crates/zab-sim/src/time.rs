//! Virtual time. The engine keeps microseconds so that sub-millisecond network latencies still
//! order events; the peer sees milliseconds of its own (drifting) clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point on the simulation's global timeline, in microseconds since the run started.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn from_millis(ms: u64) -> SimTime {
        SimTime(ms.saturating_mul(1000))
    }

    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    pub fn plus(self, span: Span) -> SimTime {
        SimTime(self.0.saturating_add(span.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// A length of virtual time, in microseconds.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span(pub u64);

impl Span {
    pub const ZERO: Span = Span(0);

    pub fn from_millis(ms: u64) -> Span {
        Span(ms.saturating_mul(1000))
    }

    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1_000_000) {
            write!(f, "{}s", self.0 / 1_000_000)
        } else if self.0.is_multiple_of(1000) {
            write!(f, "{}ms", self.0 / 1000)
        } else {
            write!(f, "{}us", self.0)
        }
    }
}

/// Parse a human duration: a non-negative number followed by `us`, `ms`, `s`, `m` or `h`
/// (`"12s"`, `"200ms"`, `"1.5s"`). Returns a message naming the valid forms on failure.
pub fn parse_span(text: &str) -> Result<Span, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let hint = "expected a number followed by a unit: us, ms, s, m or h (e.g. \"12s\", \"200ms\", \"1.5s\")";
    if number.is_empty() {
        return Err(format!("invalid duration `{text}`: {hint}"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: {hint}"))?;
    let per_unit = match unit.trim() {
        "us" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        "m" | "min" => 60_000_000.0,
        "h" => 3_600_000_000.0,
        "" => return Err(format!("invalid duration `{text}`: missing unit; {hint}")),
        other => {
            return Err(format!(
                "invalid duration `{text}`: unknown unit `{other}`; {hint}"
            ))
        }
    };
    let micros = value * per_unit;
    if !micros.is_finite() || micros > 1e15 {
        return Err(format!("invalid duration `{text}`: too large"));
    }
    Ok(Span(micros.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_span("12s"), Ok(Span(12_000_000)));
        assert_eq!(parse_span("200ms"), Ok(Span(200_000)));
        assert_eq!(parse_span("1.5s"), Ok(Span(1_500_000)));
        assert_eq!(parse_span("2m"), Ok(Span(120_000_000)));
        assert_eq!(parse_span("250us"), Ok(Span(250)));
    }

    #[test]
    fn bad_durations_name_the_valid_units() {
        let err = parse_span("12x").unwrap_err();
        assert!(
            err.contains("unknown unit `x`") && err.contains("ms"),
            "{err}"
        );
        assert!(parse_span("12").unwrap_err().contains("missing unit"));
        assert!(parse_span("s").is_err());
        assert!(parse_span("-3s").is_err());
    }

    #[test]
    fn span_displays_in_the_largest_exact_unit() {
        assert_eq!(Span(3_000_000).to_string(), "3s");
        assert_eq!(Span(3_000).to_string(), "3ms");
        assert_eq!(Span(3).to_string(), "3us");
    }
}
