//! `ExpiryQueue`: elements expire in buckets at multiples of an interval (tickTime), so that
//! a server wakes once per tick rather than once per session.
//!
//! An element touched at `now` with timeout `t` lands in the bucket at the first multiple of
//! the interval strictly after `now + t`. The queue's cursor starts at the first boundary after
//! its creation and advances one interval per poll.

use crate::ids::Millis;
use std::collections::{BTreeMap, BTreeSet};

/// Buckets of elements by expiry time.
#[derive(Clone, Debug)]
pub struct ExpiryQueue<E: Ord + Copy> {
    interval_ms: u64,
    /// element -> its bucket.
    expiry: BTreeMap<E, Millis>,
    /// bucket -> elements. Emptied buckets are dropped at once, so the first key is the next
    /// time anything can expire.
    buckets: BTreeMap<Millis, BTreeSet<E>>,
    /// The next bucket `poll` will hand out.
    next: Millis,
}

impl<E: Ord + Copy> ExpiryQueue<E> {
    /// A queue with buckets every `interval_ms` (> 0), created at `now`.
    pub fn new(interval_ms: u64, now: Millis) -> ExpiryQueue<E> {
        let interval_ms = interval_ms.max(1);
        ExpiryQueue {
            interval_ms,
            expiry: BTreeMap::new(),
            buckets: BTreeMap::new(),
            next: Millis(round_up(now.0, interval_ms)),
        }
    }

    /// Put (or move) `elem` in the bucket for `now + timeout_ms`. Returns the new expiry time,
    /// or `None` when it was already in that bucket.
    pub fn update(&mut self, elem: E, timeout_ms: u64, now: Millis) -> Option<Millis> {
        let at = Millis(round_up(now.0.saturating_add(timeout_ms), self.interval_ms));
        let previous = self.expiry.insert(elem, at);
        if previous == Some(at) {
            return None;
        }
        if let Some(prev) = previous {
            self.take_from_bucket(prev, elem);
        }
        self.buckets.entry(at).or_default().insert(elem);
        debug_assert!(
            at.0.is_multiple_of(self.interval_ms) || at.0 == u64::MAX,
            "buckets sit on interval boundaries"
        );
        Some(at)
    }

    /// Take `elem` out. Returns the expiry time it had.
    pub fn remove(&mut self, elem: E) -> Option<Millis> {
        let at = self.expiry.remove(&elem)?;
        self.take_from_bucket(at, elem);
        Some(at)
    }

    fn take_from_bucket(&mut self, at: Millis, elem: E) {
        if let Some(set) = self.buckets.get_mut(&at) {
            set.remove(&elem);
            if set.is_empty() {
                self.buckets.remove(&at);
            }
        }
    }

    /// The expiry time of `elem`.
    pub fn expiry_of(&self, elem: E) -> Option<Millis> {
        self.expiry.get(&elem).copied()
    }

    /// The next bucket boundary the cursor will reach (`nextExpirationTime`).
    pub fn next_expiration(&self) -> Millis {
        self.next
    }

    /// The earliest time anything can expire: the first non-empty bucket. A driver that sleeps
    /// until then expires exactly what one waking every tick would.
    pub fn next_due(&self) -> Option<Millis> {
        self.buckets.keys().next().map(|at| (*at).max(self.next))
    }

    /// Every element whose bucket is due at `now`, in order; the cursor moves to the first
    /// boundary after `now`. Same result as polling once per elapsed interval.
    pub fn poll_all(&mut self, now: Millis) -> Vec<E> {
        if now < self.next {
            return Vec::new();
        }
        let later = match now.0.checked_add(1) {
            Some(after) => self.buckets.split_off(&Millis(after)),
            None => BTreeMap::new(),
        };
        let due = std::mem::replace(&mut self.buckets, later);
        self.next = Millis(round_up(now.0, self.interval_ms));
        let mut out = Vec::new();
        for (_, set) in due {
            for e in set {
                self.expiry.remove(&e);
                out.push(e);
            }
        }
        out
    }

    /// If the next bucket is due at `now`, hand out its elements (in order) and advance by one
    /// interval; otherwise nothing. Expired elements leave the queue.
    pub fn poll(&mut self, now: Millis) -> Vec<E> {
        if now < self.next {
            return Vec::new();
        }
        let due = self.next;
        self.next = Millis(due.0.saturating_add(self.interval_ms));
        let set = self.buckets.remove(&due).unwrap_or_default();
        for e in &set {
            self.expiry.remove(e);
        }
        set.into_iter().collect()
    }

    pub fn len(&self) -> usize {
        self.expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }
}

/// The first multiple of `interval` strictly after `t` (`roundToNextInterval`).
fn round_up(t: u64, interval: u64) -> u64 {
    (t / interval).saturating_add(1).saturating_mul(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_up_to_the_next_interval() {
        let mut q = ExpiryQueue::new(2000, Millis(0));
        assert_eq!(q.next_expiration(), Millis(2000));
        assert_eq!(q.update(1u32, 4000, Millis(100)), Some(Millis(6000)));
        // Exactly on a boundary still goes to the next one.
        assert_eq!(q.update(2u32, 4000, Millis(0)), Some(Millis(6000)));
        assert_eq!(
            q.update(1u32, 4000, Millis(500)),
            None,
            "same bucket: no move"
        );
    }

    #[test]
    fn poll_hands_out_one_bucket_per_interval() {
        let mut q = ExpiryQueue::new(1000, Millis(0));
        q.update(7u32, 1500, Millis(0)); // bucket 2000
        assert!(q.poll(Millis(999)).is_empty());
        assert!(q.poll(Millis(1000)).is_empty()); // bucket 1000: empty
        assert_eq!(q.next_expiration(), Millis(2000));
        assert_eq!(q.poll(Millis(2500)), vec![7]);
        assert!(q.is_empty());
    }

    #[test]
    fn touch_moves_an_element_later() {
        let mut q = ExpiryQueue::new(1000, Millis(0));
        q.update(7u32, 1500, Millis(0)); // 2000
        q.update(7u32, 1500, Millis(1200)); // 3000
        assert!(q.poll(Millis(1000)).is_empty());
        assert!(q.poll(Millis(2000)).is_empty());
        assert_eq!(q.poll(Millis(3000)), vec![7]);
    }

    #[test]
    fn poll_all_equals_polling_every_interval() {
        let mut a = ExpiryQueue::new(1000, Millis(0));
        let mut b = ExpiryQueue::new(1000, Millis(0));
        for (e, t) in [(1u32, 500u64), (2, 2500), (3, 4000), (4, 9000)] {
            a.update(e, t, Millis(0));
            b.update(e, t, Millis(0));
        }
        let mut stepped = Vec::new();
        for t in (0..=5200).step_by(100) {
            stepped.extend(a.poll(Millis(t)));
        }
        assert_eq!(b.next_due(), Some(Millis(1000)));
        assert_eq!(b.poll_all(Millis(5200)), stepped);
        assert_eq!(stepped, vec![1, 2, 3]);
        assert_eq!(a.next_expiration(), b.next_expiration());
        assert_eq!(b.next_due(), Some(Millis(10000)));
    }

    #[test]
    fn the_end_of_time_does_not_overflow() {
        let mut q = ExpiryQueue::new(1000, Millis(u64::MAX - 10));
        q.update(1u32, 5000, Millis(u64::MAX - 5));
        assert_eq!(
            q.poll_all(Millis(u64::MAX)),
            vec![1u32],
            "saturated at the last instant"
        );
        assert!(q.poll(Millis(u64::MAX)).is_empty());
    }

    #[test]
    fn removed_elements_do_not_expire() {
        let mut q = ExpiryQueue::new(1000, Millis(0));
        q.update(7u32, 500, Millis(0));
        assert_eq!(q.remove(7), Some(Millis(1000)));
        assert!(q.poll(Millis(1000)).is_empty());
    }
}
