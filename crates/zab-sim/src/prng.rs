//! The run's randomness: one seed, one ChaCha generator per named sub-stream.
//!
//! Each sub-stream's key is derived from the run seed and the stream's name with a stable hash,
//! so streams are independent: a scenario that adds a client draws more from `clients` but the
//! `network` stream makes exactly the same decisions as before.

use crate::hash::StableHasher;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic generator for one named purpose.
#[derive(Clone, Debug)]
pub struct Prng {
    seed: u64,
    name: String,
    rng: ChaCha8Rng,
}

impl Prng {
    /// The root generator of a run.
    pub fn root(seed: u64) -> Prng {
        Prng::derive(seed, "root")
    }

    fn derive(seed: u64, name: &str) -> Prng {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut h = StableHasher::new();
            h.write_u64(seed);
            h.write_u64(i as u64);
            h.write_str(name);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        Prng {
            seed,
            name: name.to_string(),
            rng: ChaCha8Rng::from_seed(key),
        }
    }

    /// An independent sub-stream named `name` (e.g. `"network"`, `"disk/3"`). Forking does not
    /// consume anything from `self`, so the order in which streams are created is irrelevant.
    pub fn fork(&self, name: &str) -> Prng {
        let full = if self.name == "root" {
            name.to_string()
        } else {
            format!("{}/{}", self.name, name)
        };
        Prng::derive(self.seed, &full)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in `[0, bound)`; `bound` 0 yields 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.rng.gen_range(0..bound)
        }
    }

    /// Uniform in `[low, high]`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high, "empty range");
        self.rng.gen_range(low..=high)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.rng.gen::<f64>()
    }

    /// True with probability `p` (clamped to [0, 1]). `p` 0 consumes nothing, so a disabled
    /// fault never perturbs its stream.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.unit() < p.min(1.0)
    }

    /// Pick an index with the given weights; `None` when all weights are zero.
    pub fn weighted(&mut self, weights: &[u64]) -> Option<usize> {
        let total: u64 = weights.iter().sum();
        if total == 0 {
            return None;
        }
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
        unreachable!("x < total")
    }

    /// Pick one element uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len() as u64) as usize])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_name_give_the_same_stream() {
        let mut a = Prng::root(7).fork("network");
        let mut b = Prng::root(7).fork("network");
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn streams_are_independent_of_each_other_and_of_fork_order() {
        let root = Prng::root(7);
        let mut clients = root.fork("clients");
        for _ in 0..1000 {
            clients.next_u64();
        }
        let mut net_after = root.fork("network");
        let mut net_fresh = Prng::root(7).fork("network");
        assert_eq!(net_after.next_u64(), net_fresh.next_u64());
        let mut disk = root.fork("disk/1");
        let mut net = root.fork("network");
        assert_ne!(disk.next_u64(), net.next_u64());
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(
            Prng::root(1).fork("network").next_u64(),
            Prng::root(2).fork("network").next_u64()
        );
    }

    #[test]
    fn nested_forks_are_named_by_path() {
        let node = Prng::root(1).fork("node/3");
        assert_eq!(node.fork("incarnation/2").name(), "node/3/incarnation/2");
    }

    #[test]
    fn weighted_never_picks_zero_weight() {
        let mut p = Prng::root(3).fork("t");
        for _ in 0..1000 {
            assert_ne!(p.weighted(&[1, 0, 5]), Some(1));
        }
        assert_eq!(p.weighted(&[0, 0]), None);
    }
}
