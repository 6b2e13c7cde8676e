//! The event queue: a min-heap ordered by (virtual time, sequence number). The sequence number
//! is assigned at scheduling, so two events at the same instant run in the order they were
//! scheduled — never in an order that depends on memory addresses or hashing.
//!
//! Events themselves live in a slab; the heap only moves 24-byte keys, which matters because
//! an event can carry a whole protocol message (a couple of hundred bytes).

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry {
    at: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap, we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending events. Bounded by `capacity_max`: scheduling past it is a simulator bug (a
/// runaway feedback loop), reported by `schedule` returning `false`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
    now: SimTime,
    capacity_max: usize,
}

impl<E> EventQueue<E> {
    pub fn new(capacity_max: usize) -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            now: SimTime::ZERO,
            capacity_max,
        }
    }

    /// The time of the last popped event.
    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedule `event` at `at` (clamped to now: the past cannot be scheduled). Returns false
    /// (and drops the event) when the queue is full.
    pub fn schedule(&mut self, at: SimTime, event: E) -> bool {
        if self.heap.len() >= self.capacity_max.min(u32::MAX as usize) {
            return false;
        }
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slots[slot as usize].is_none(), "free slots are empty");
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Entry { at, seq, slot });
        true
    }

    /// The earliest event's time, without removing it.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.at)
    }

    /// Move `now` forward to `at` without an event (a driver that stops between events and
    /// acts "at" a time of its choosing). Nothing pending may be earlier than `at`: the past
    /// cannot be skipped over.
    pub fn advance_to(&mut self, at: SimTime) {
        debug_assert!(
            self.peek_time().is_none_or(|next| next >= at),
            "advance_to({at:?}) would skip a pending event"
        );
        self.now = self.now.max(at);
    }

    /// Remove the earliest event and advance `now` to its time.
    pub fn pop(&mut self) -> Option<(SimTime, u64, E)> {
        let entry = self.heap.pop()?;
        debug_assert!(entry.at >= self.now, "time never goes backwards");
        self.now = entry.at;
        let event = self.slots[entry.slot as usize]
            .take()
            .expect("a scheduled slot holds its event");
        self.free.push(entry.slot);
        Some((entry.at, entry.seq, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::new(100);
        q.schedule(SimTime(5), "b");
        q.schedule(SimTime(1), "a");
        q.schedule(SimTime(5), "c");
        q.schedule(SimTime(3), "x");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| e.2)).collect();
        assert_eq!(order, vec!["a", "x", "b", "c"]);
    }

    #[test]
    fn past_events_are_clamped_to_now() {
        let mut q = EventQueue::new(100);
        q.schedule(SimTime(10), 1);
        q.pop();
        q.schedule(SimTime(3), 2);
        assert_eq!(q.pop().map(|e| e.0), Some(SimTime(10)));
    }

    #[test]
    fn full_queue_refuses() {
        let mut q = EventQueue::new(2);
        assert!(q.schedule(SimTime(1), ()));
        assert!(q.schedule(SimTime(1), ()));
        assert!(!q.schedule(SimTime(1), ()));
    }
}
