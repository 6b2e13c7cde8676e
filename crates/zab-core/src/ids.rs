//! Identity and time newtypes shared by every part of the protocol.
//!
//! ZooKeeper passes all of these around as bare `long`s; we give each its own type so that an
//! epoch can never be compared with a counter or a session id with a server id by accident.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Virtual (or, in the real server, monotonic) time in milliseconds. The core never reads a
/// clock: every `handle` call is given `now`.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Millis(pub u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub fn saturating_sub(self, other: Millis) -> Millis {
        Millis(self.0.saturating_sub(other.0))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl std::ops::Add<u64> for Millis {
    type Output = Millis;
    fn add(self, ms: u64) -> Millis {
        Millis(self.0 + ms)
    }
}

impl std::ops::Add<Millis> for Millis {
    type Output = Millis;
    fn add(self, other: Millis) -> Millis {
        Millis(self.0 + other.0)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A ZAB epoch: the high 32 bits of a zxid. Stored in the `acceptedEpoch` / `currentEpoch`
/// files and carried as `peerEpoch` in election notifications.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Epoch(pub u32);

impl Epoch {
    pub const ZERO: Epoch = Epoch(0);

    /// The epoch after this one. Epoch exhaustion (2^32 epochs) is not a real-world concern;
    /// we assert rather than wrap.
    pub fn next(self) -> Epoch {
        debug_assert!(self.0 < u32::MAX, "epoch space exhausted");
        Epoch(self.0 + 1)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// ZooKeeper transaction id: `epoch << 32 | counter`. Totally ordered as a `u64`, which is
/// exactly ZooKeeper's order (it compares the longs).
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Zxid(pub u64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);
    /// The largest counter a leader may assign; reaching it forces a new election.
    pub const MAX_COUNTER: u32 = u32::MAX;

    pub fn new(epoch: Epoch, counter: u32) -> Zxid {
        Zxid(((epoch.0 as u64) << 32) | counter as u64)
    }

    pub fn epoch(self) -> Epoch {
        Epoch((self.0 >> 32) as u32)
    }

    pub fn counter(self) -> u32 {
        self.0 as u32
    }

    /// The next zxid in the same epoch, or `None` when the counter is exhausted (ZooKeeper
    /// then forces a re-election rather than wrapping into the next epoch).
    pub fn next_in_epoch(self) -> Option<Zxid> {
        self.counter()
            .checked_add(1)
            .map(|c| Zxid::new(self.epoch(), c))
    }

    /// ZooKeeper writes zxids as signed longs on the wire.
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    pub fn from_i64(v: i64) -> Zxid {
        Zxid(v as u64)
    }
}

/// Hex like ZooKeeper's logs and `srvr` output: `0x100000003`.
impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A server's `myid`. Election ties are broken by the highest id.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ServerId(pub u64);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A client session id. ZooKeeper puts the creating server's id in the top byte and a
/// timestamp-derived value below it, then increments per session (`SessionTrackerImpl.initializeNextSessionId`).
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SessionId(pub i64);

impl SessionId {
    /// The first session id a server hands out, derived from its id and the time (passed in,
    /// never read from a clock): `(time_ms << 24 >>> 8) | (server_id << 56)`, as ZooKeeper does.
    pub fn initial(server: ServerId, now: Millis) -> SessionId {
        let low = ((now.0 << 24) >> 8) as i64;
        let high = (server.0 as i64) << 56;
        SessionId(high | low)
    }

    /// The server id encoded in the top byte.
    pub fn server(self) -> ServerId {
        ServerId(((self.0 as u64) >> 56) & 0xff)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0 as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_splits_into_epoch_and_counter() {
        let z = Zxid::new(Epoch(1), 3);
        assert_eq!(z.0, 0x1_0000_0003);
        assert_eq!(z.epoch(), Epoch(1));
        assert_eq!(z.counter(), 3);
        assert_eq!(z.to_string(), "0x100000003");
    }

    #[test]
    fn zxid_order_is_epoch_then_counter() {
        assert!(Zxid::new(Epoch(2), 0) > Zxid::new(Epoch(1), u32::MAX));
        assert!(Zxid::new(Epoch(1), 2) > Zxid::new(Epoch(1), 1));
    }

    #[test]
    fn zxid_counter_exhaustion_is_reported() {
        assert_eq!(Zxid::new(Epoch(1), u32::MAX).next_in_epoch(), None);
        assert_eq!(
            Zxid::new(Epoch(1), 7).next_in_epoch(),
            Some(Zxid::new(Epoch(1), 8))
        );
    }

    #[test]
    fn session_id_carries_server_in_top_byte() {
        let s = SessionId::initial(ServerId(3), Millis(1_700_000_000_123));
        assert_eq!(s.server(), ServerId(3));
        let t = SessionId::initial(ServerId(255), Millis(1_700_000_000_123));
        assert_eq!(t.server(), ServerId(255));
    }
}
