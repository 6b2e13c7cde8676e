//! Latency distributions for the network and the disk.

use crate::prng::Prng;
use crate::time::Span;
use serde::{Deserialize, Serialize};

/// How long something takes. Every variant is bounded so a run's timeline stays finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    /// Always the same.
    Constant(Span),
    /// Uniform in `[min, max]`.
    Uniform { min: Span, max: Span },
    /// `min` plus an exponential with mean `mean - min`, cut at `max` (a long tail, as fsync
    /// and WAN latencies have).
    Exponential { min: Span, mean: Span, max: Span },
}

impl Dist {
    pub fn sample(&self, prng: &mut Prng) -> Span {
        match *self {
            Dist::Constant(s) => s,
            Dist::Uniform { min, max } => Span(prng.between(min.0, max.0.max(min.0))),
            Dist::Exponential { min, mean, max } => {
                let extra_mean = mean.0.saturating_sub(min.0) as f64;
                // 1 - unit() is in (0, 1]: ln is finite.
                let draw = -(1.0 - prng.unit()).ln() * extra_mean;
                let value = min.0 as f64 + draw;
                Span((value as u64).clamp(min.0, max.0.max(min.0)))
            }
        }
    }

    /// The smallest value this distribution can produce.
    pub fn min(&self) -> Span {
        match *self {
            Dist::Constant(s) => s,
            Dist::Uniform { min, .. } | Dist::Exponential { min, .. } => min,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_stay_within_bounds() {
        let mut p = Prng::root(1).fork("t");
        let u = Dist::Uniform {
            min: Span(10),
            max: Span(20),
        };
        let e = Dist::Exponential {
            min: Span(100),
            mean: Span(200),
            max: Span(1000),
        };
        for _ in 0..10_000 {
            let s = u.sample(&mut p);
            assert!((10..=20).contains(&s.0));
            let s = e.sample(&mut p);
            assert!((100..=1000).contains(&s.0));
        }
    }

    #[test]
    fn exponential_mean_is_roughly_the_requested_one() {
        let mut p = Prng::root(2).fork("t");
        let e = Dist::Exponential {
            min: Span(0),
            mean: Span(1000),
            max: Span(1_000_000),
        };
        let n = 20_000;
        let total: u64 = (0..n).map(|_| e.sample(&mut p).0).sum();
        let mean = total / n;
        assert!((900..1100).contains(&mean), "mean {mean}");
    }
}
