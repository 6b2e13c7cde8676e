//! The election notification's bytes (`FastLeaderElection.buildMsg` and the parsing in
//! `WorkerReceiver`), for the real server. The simulator passes `Notification` values and
//! never needs this.
//!
//! Body, big-endian (the connection manager frames it with an `int` length), 44 bytes plus
//! the configuration in 3.5+:
//! `int state, long leader, long zxid, long electionEpoch, long peerEpoch, int version`
//! and, from version 2 on, `int configLength, byte[configLength] config`. Bodies of 28 bytes
//! (before peerEpoch; it is then the zxid's epoch) and 40 bytes (3.4's, read without a
//! version) are the older formats a receiver still accepts.

use super::{Notification, ServerState};
use crate::ids::{Epoch, ServerId, Zxid};
use thiserror::Error;

/// The version 3.5+ sends. Our configuration is static, so we send an empty one, which a
/// receiver's reconfiguration check ignores.
pub const NOTIFICATION_VERSION: i32 = 2;

/// The size of a body with an empty configuration.
pub const BODY_BYTES: usize = 44;

/// The shortest body any version of the protocol sends.
pub const MIN_BODY_BYTES: usize = 28;

/// Why a notification body could not be read. The receiver drops such a message, as
/// ZooKeeper does.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NotificationError {
    #[error("notification of {len} bytes is shorter than the {MIN_BODY_BYTES}-byte minimum")]
    TooShort { len: usize },
    #[error("notification ends inside its fields ({len} bytes)")]
    Truncated { len: usize },
    #[error("unknown server state {0} in notification (valid: 0..=3)")]
    UnknownState(i32),
    #[error("invalid config length {config_len} in a {len}-byte notification")]
    BadConfigLength { config_len: i32, len: usize },
    #[error("peer epoch {0} does not fit in 32 bits")]
    EpochOutOfRange(i64),
}

/// Encode the body of `n` (version 2, empty configuration).
pub fn encode(n: &Notification) -> Vec<u8> {
    let mut out = Vec::with_capacity(BODY_BYTES);
    out.extend_from_slice(&n.state.ordinal().to_be_bytes());
    out.extend_from_slice(&(n.leader.0 as i64).to_be_bytes());
    out.extend_from_slice(&n.zxid.as_i64().to_be_bytes());
    out.extend_from_slice(&(n.election_epoch as i64).to_be_bytes());
    out.extend_from_slice(&i64::from(n.peer_epoch.0).to_be_bytes());
    out.extend_from_slice(&NOTIFICATION_VERSION.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    debug_assert_eq!(out.len(), BODY_BYTES);
    out
}

/// Decode a body received from `sid` (the connection's server, which the receiver trusts
/// over anything in the message). Negative leader, zxid or epoch values — ZooKeeper's
/// observers send `Long.MIN_VALUE` — read as zero, our "nobody" vote.
pub fn decode(sid: ServerId, body: &[u8]) -> Result<Notification, NotificationError> {
    let len = body.len();
    if len < MIN_BODY_BYTES {
        return Err(NotificationError::TooShort { len });
    }
    let mut r = Reader { body, at: 0 };
    let state_code = r.i32()?;
    let leader = r.i64()?;
    let zxid = r.i64()?;
    let election_epoch = r.i64()?;
    let peer_epoch = if len == MIN_BODY_BYTES {
        i64::from(Zxid::from_i64(zxid).epoch().0)
    } else {
        r.i64()?
    };
    if len > 40 {
        let version = r.i32()?;
        if version > 1 {
            let config_len = r.i32()?;
            let fits = usize::try_from(config_len).is_ok_and(|c| c <= len - r.at);
            if !fits {
                return Err(NotificationError::BadConfigLength { config_len, len });
            }
            // The configuration serves dynamic reconfiguration, which we do not model; its
            // bytes are only checked to be there.
        }
    }
    let state =
        ServerState::from_ordinal(state_code).ok_or(NotificationError::UnknownState(state_code))?;
    let peer_epoch = if peer_epoch < 0 {
        Epoch::ZERO
    } else {
        Epoch(
            u32::try_from(peer_epoch)
                .map_err(|_| NotificationError::EpochOutOfRange(peer_epoch))?,
        )
    };
    Ok(Notification {
        leader: ServerId(leader.max(0) as u64),
        zxid: Zxid(zxid.max(0) as u64),
        election_epoch: election_epoch.max(0) as u64,
        state,
        sid,
        peer_epoch,
    })
}

struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], NotificationError> {
        let end = self.at + N;
        let bytes = self
            .body
            .get(self.at..end)
            .ok_or(NotificationError::Truncated {
                len: self.body.len(),
            })?;
        self.at = end;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn i32(&mut self) -> Result<i32, NotificationError> {
        self.take::<4>().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64, NotificationError> {
        self.take::<8>().map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = ServerState> {
        prop_oneof![
            Just(ServerState::Looking),
            Just(ServerState::Following),
            Just(ServerState::Leading),
            Just(ServerState::Observing),
        ]
    }

    proptest! {
        #[test]
        fn encoding_round_trips(
            leader in 0u64..i64::MAX as u64,
            zxid in 0u64..i64::MAX as u64,
            round in 0u64..i64::MAX as u64,
            epoch in any::<u32>(),
            state in state(),
            sid in any::<u64>(),
        ) {
            let n = Notification {
                leader: ServerId(leader),
                zxid: Zxid(zxid),
                election_epoch: round,
                state,
                sid: ServerId(sid),
                peer_epoch: Epoch(epoch),
            };
            prop_assert_eq!(decode(ServerId(sid), &encode(&n)), Ok(n));
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode(ServerId(1), &body);
        }
    }

    fn body(fields: &[&[u8]]) -> Vec<u8> {
        fields.concat()
    }

    #[test]
    fn the_28_byte_format_takes_the_epoch_from_the_zxid() {
        let zxid = Zxid::new(Epoch(7), 3);
        let b = body(&[
            &1i32.to_be_bytes(),
            &3i64.to_be_bytes(),
            &zxid.as_i64().to_be_bytes(),
            &9i64.to_be_bytes(),
        ]);
        let n = decode(ServerId(2), &b).unwrap();
        assert_eq!(n.peer_epoch, Epoch(7));
        assert_eq!(n.state, ServerState::Following);
        assert_eq!(n.sid, ServerId(2));
    }

    #[test]
    fn a_version_2_config_is_skipped_and_its_length_checked() {
        let head = [
            &0i32.to_be_bytes()[..],
            &3i64.to_be_bytes(),
            &0i64.to_be_bytes(),
            &1i64.to_be_bytes(),
            &0i64.to_be_bytes(),
            &2i32.to_be_bytes(),
        ]
        .concat();
        let ok = [&head[..], &5i32.to_be_bytes(), b"v=1\nx"].concat();
        assert_eq!(decode(ServerId(1), &ok).unwrap().leader, ServerId(3));
        let bad = [&head[..], &500i32.to_be_bytes(), b"v=1"].concat();
        assert!(matches!(
            decode(ServerId(1), &bad),
            Err(NotificationError::BadConfigLength {
                config_len: 500,
                ..
            })
        ));
        let negative = [&head[..], &(-1i32).to_be_bytes()].concat();
        assert!(decode(ServerId(1), &negative).is_err());
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert_eq!(
            decode(ServerId(1), &[0; 10]),
            Err(NotificationError::TooShort { len: 10 })
        );
        let mut b = encode(&Notification {
            leader: ServerId(1),
            zxid: Zxid::ZERO,
            election_epoch: 1,
            state: ServerState::Looking,
            sid: ServerId(1),
            peer_epoch: Epoch::ZERO,
        });
        b[3] = 9;
        assert_eq!(
            decode(ServerId(1), &b),
            Err(NotificationError::UnknownState(9))
        );
        assert!(matches!(
            decode(ServerId(1), &b[..42]),
            Err(NotificationError::Truncated { .. })
        ));
    }

    #[test]
    fn an_observers_minimum_values_read_as_nobody() {
        let b = body(&[
            &0i32.to_be_bytes(),
            &i64::MIN.to_be_bytes(),
            &i64::MIN.to_be_bytes(),
            &1i64.to_be_bytes(),
            &i64::MIN.to_be_bytes(),
            &2i32.to_be_bytes(),
            &0i32.to_be_bytes(),
        ]);
        let n = decode(ServerId(9), &b).unwrap();
        assert_eq!(
            (n.leader, n.zxid, n.peer_epoch),
            (ServerId(0), Zxid::ZERO, Epoch::ZERO)
        );
    }
}
