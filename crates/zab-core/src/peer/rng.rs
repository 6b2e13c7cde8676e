//! The peer's only source of randomness: a small deterministic generator seeded by the
//! driver (splitmix64). No ambient randomness may reach the protocol.

/// splitmix64: tiny, fast, and good enough for protocol jitter and ids; not for secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prng {
    state: u64,
}

impl Prng {
    pub fn new(seed: u64) -> Prng {
        Prng { state: seed }
    }

    /// An independent stream named `name`, so that adding a consumer of randomness does not
    /// shift the numbers another consumer sees.
    pub fn fork(&self, name: &str) -> Prng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut child = Prng::new(self.state ^ h);
        child.next_u64();
        child
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0), by rejection so there is no modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        if bound <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let mut a = Prng::new(42);
        let mut b = Prng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn forks_are_independent_of_each_other_and_the_parent() {
        let p = Prng::new(7);
        let mut x = p.fork("network");
        let mut y = p.fork("disk");
        assert_ne!(x.next_u64(), y.next_u64());
        assert_eq!(
            p.fork("network").next_u64(),
            Prng::new(7).fork("network").next_u64()
        );
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Prng::new(1);
        for bound in [1, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(r.below(bound) < bound);
            }
        }
    }
}
