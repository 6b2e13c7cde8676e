//! A fixed-size bitset over op indices: the "linearised" set of the search, and half of its
//! memoisation key.

/// Bits for `len` ops, packed in words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bitset {
    words: Box<[u64]>,
}

impl Bitset {
    pub fn new(len: usize) -> Bitset {
        Bitset {
            words: vec![0; len.div_ceil(64)].into_boxed_slice(),
        }
    }

    pub fn set(&mut self, index: usize) {
        debug_assert!(!self.get(index), "op {index} linearised twice");
        self.words[index / 64] |= 1 << (index % 64);
    }

    pub fn clear(&mut self, index: usize) {
        debug_assert!(
            self.get(index),
            "op {index} un-linearised but was not linearised"
        );
        self.words[index / 64] &= !(1 << (index % 64));
    }

    pub fn get(&self, index: usize) -> bool {
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_clear_round_trip_across_word_boundaries() {
        let mut b = Bitset::new(130);
        for i in [0, 63, 64, 129] {
            b.set(i);
            assert!(b.get(i));
        }
        assert_eq!(b.count(), 4);
        b.clear(64);
        assert!(!b.get(64));
        assert!(b.get(63) && b.get(129));
        assert_eq!(b.count(), 3);
    }
}
