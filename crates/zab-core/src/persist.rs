//! On-disk formats of the transaction log and snapshots (ZooKeeper's `FileTxnLog` and
//! `FileSnap`, simplified), and reading them back after a crash.
//!
//! The core never touches a disk: it hands encoded records to the driver in
//! `PersistOp::AppendLog` / `PersistOp::Snapshot` and gets the durable bytes back in
//! `Recovered`. What matters for faithfulness is what ZooKeeper does when it reads a log whose
//! tail was being written when the machine died: a zero length means "preallocated space, the
//! log ends here", and a checksum mismatch or a record cut short also ends the log — everything
//! before it is kept, nothing after it is trusted.
//!
//! Log record: `len: u32 LE | crc32(payload): u32 LE | payload (len bytes) | b'B'`, where the
//! payload is the JSON form of a [`Txn`]. ZooKeeper uses Adler32 and jute; we use CRC32 and JSON
//! because both are already dependencies and the layout, not the codec, is what crashes test.
//!
//! Snapshot file: `b"ZSNP" | version: u32 LE | crc32(body): u32 LE | len: u32 LE | body`, body =
//! `zxid: u64 LE | session count: u32 LE | (session: i64 LE, timeout: i32 LE)* | tree bytes`
//! — ZooKeeper's snapshot likewise holds the session table and then the tree.

use crate::ids::{SessionId, Zxid};
use crate::txn::Txn;
use std::collections::BTreeMap;
use thiserror::Error;

/// The byte that ends every log record (ZooKeeper writes `'B'`).
const END_OF_RECORD: u8 = b'B';
const RECORD_HEADER_BYTES: usize = 8;
const SNAPSHOT_MAGIC: &[u8; 4] = b"ZSNP";
const SNAPSHOT_VERSION: u32 = 1;
const SNAPSHOT_HEADER_BYTES: usize = 16;
/// A record longer than this is treated as garbage (ZooKeeper's `jute.maxbuffer` plays the
/// same role when it reads a length).
const RECORD_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Encode one transaction as a log record.
pub fn encode_record(txn: &Txn) -> Vec<u8> {
    let payload = serde_json::to_vec(txn).expect("a Txn always serialises");
    debug_assert!(payload.len() <= RECORD_BYTES_MAX, "record too large");
    let mut record = Vec::with_capacity(payload.len() + RECORD_HEADER_BYTES + 1);
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    record.extend_from_slice(&payload);
    record.push(END_OF_RECORD);
    record
}

/// A stable 64-bit hash of a transaction's content (FNV-1a over its log payload), so the
/// checker can tell two different transactions that carry the same zxid apart.
pub fn txn_hash(txn: &Txn) -> u64 {
    let payload = serde_json::to_vec(txn).expect("a Txn always serialises");
    fnv1a(&payload)
}

/// FNV-1a, 64 bit.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= *byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// How the readable part of a log ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTail {
    /// The bytes ended exactly after a record.
    Clean,
    /// A zero length: preallocated space, the normal end of a ZooKeeper log.
    Zeros,
    /// A record was cut short (a torn write).
    Torn { offset: usize },
    /// A record failed its checksum, its end marker, or did not parse; or its zxid did not
    /// increase. `mid_log` when a valid record follows it (a damaged record inside the log,
    /// not a damaged last write).
    Corrupt { offset: usize, mid_log: bool },
}

/// The result of reading a log back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogScan {
    /// The records before the first bad one, in log order.
    pub txns: Vec<Txn>,
    /// How many bytes those records occupy.
    pub valid_bytes: usize,
    pub tail: LogTail,
}

/// Read a concatenation of log records, stopping at the first torn or corrupt one.
pub fn decode_log(bytes: &[u8]) -> LogScan {
    let mut txns: Vec<Txn> = Vec::new();
    let mut offset = 0usize;
    let tail = loop {
        let rest = &bytes[offset..];
        if rest.is_empty() {
            break LogTail::Clean;
        }
        if rest.len() < RECORD_HEADER_BYTES {
            break if rest.iter().all(|b| *b == 0) {
                LogTail::Zeros
            } else {
                LogTail::Torn { offset }
            };
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        if len == 0 {
            break LogTail::Zeros;
        }
        if len > RECORD_BYTES_MAX {
            break LogTail::Corrupt {
                offset,
                mid_log: false,
            };
        }
        let total = RECORD_HEADER_BYTES + len + 1;
        if rest.len() < total {
            break LogTail::Torn { offset };
        }
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let payload = &rest[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + len];
        let parsed = if crc32fast::hash(payload) != crc || rest[total - 1] != END_OF_RECORD {
            None
        } else {
            serde_json::from_slice::<Txn>(payload).ok()
        };
        let Some(txn) = parsed.filter(|t| txns.last().is_none_or(|last| last.zxid() < t.zxid()))
        else {
            break LogTail::Corrupt {
                offset,
                mid_log: valid_record_at(&rest[total..]),
            };
        };
        txns.push(txn);
        offset += total;
    };
    debug_assert!(
        txns.windows(2).all(|w| w[0].zxid() < w[1].zxid()),
        "recovered log zxids strictly increase"
    );
    LogScan {
        txns,
        valid_bytes: offset,
        tail,
    }
}

/// Does a record with a good checksum follow in `bytes`? Walks record by record over damaged
/// ones as long as their length fields lead somewhere plausible.
fn valid_record_at(mut bytes: &[u8]) -> bool {
    while bytes.len() >= RECORD_HEADER_BYTES {
        let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
        let total = RECORD_HEADER_BYTES + len + 1;
        if len == 0 || len > RECORD_BYTES_MAX || bytes.len() < total {
            return false;
        }
        let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + len]) == crc
            && bytes[total - 1] == END_OF_RECORD
        {
            return true;
        }
        bytes = &bytes[total..];
    }
    false
}

/// What a snapshot holds: the zxid it was taken at, the session table and the tree's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotImage {
    pub zxid: Zxid,
    pub sessions: BTreeMap<SessionId, i32>,
    pub tree: Vec<u8>,
}

/// Why a snapshot could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SnapshotFormatError {
    #[error("snapshot too short ({0} bytes)")]
    TooShort(usize),
    #[error("bad snapshot magic")]
    Magic,
    #[error("unsupported snapshot version {0}")]
    Version(u32),
    #[error("snapshot body length {declared} does not match {actual} bytes present")]
    Length { declared: usize, actual: usize },
    #[error("snapshot checksum mismatch")]
    Checksum,
}

/// Encode a snapshot file.
pub fn encode_snapshot(image: &SnapshotImage) -> Vec<u8> {
    let mut body = Vec::with_capacity(12 + image.sessions.len() * 12 + image.tree.len());
    body.extend_from_slice(&image.zxid.0.to_le_bytes());
    body.extend_from_slice(&(image.sessions.len() as u32).to_le_bytes());
    for (session, timeout) in &image.sessions {
        body.extend_from_slice(&session.0.to_le_bytes());
        body.extend_from_slice(&timeout.to_le_bytes());
    }
    body.extend_from_slice(&image.tree);
    let mut file = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + body.len());
    file.extend_from_slice(SNAPSHOT_MAGIC);
    file.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// Decode a snapshot file, verifying its checksum.
pub fn decode_snapshot(bytes: &[u8]) -> Result<SnapshotImage, SnapshotFormatError> {
    if bytes.len() < SNAPSHOT_HEADER_BYTES + 12 {
        return Err(SnapshotFormatError::TooShort(bytes.len()));
    }
    if &bytes[0..4] != SNAPSHOT_MAGIC {
        return Err(SnapshotFormatError::Magic);
    }
    let read_u32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let version = read_u32(4);
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotFormatError::Version(version));
    }
    let crc = read_u32(8);
    let declared = read_u32(12) as usize;
    let body = &bytes[SNAPSHOT_HEADER_BYTES..];
    if body.len() != declared {
        return Err(SnapshotFormatError::Length {
            declared,
            actual: body.len(),
        });
    }
    if crc32fast::hash(body) != crc {
        return Err(SnapshotFormatError::Checksum);
    }
    let zxid = Zxid(u64::from_le_bytes(body[0..8].try_into().expect("8 bytes")));
    let count = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    let sessions_end = 12usize.saturating_add(count.saturating_mul(12));
    if sessions_end > body.len() {
        return Err(SnapshotFormatError::TooShort(bytes.len()));
    }
    let mut sessions = BTreeMap::new();
    for i in 0..count {
        let at = 12 + i * 12;
        let session = i64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
        let timeout = i32::from_le_bytes(body[at + 8..at + 12].try_into().expect("4 bytes"));
        sessions.insert(SessionId(session), timeout);
    }
    Ok(SnapshotImage {
        zxid,
        sessions,
        tree: body[sessions_end..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Epoch, Millis};
    use crate::txn::{TxnBody, TxnHeader};
    use proptest::prelude::*;

    fn txn(counter: u32, data: &[u8]) -> Txn {
        Txn {
            header: TxnHeader {
                session: SessionId(7),
                cxid: counter as i32,
                zxid: Zxid::new(Epoch(1), counter),
                time: Millis(1000 + counter as u64),
            },
            body: TxnBody::SetData {
                path: "/a".into(),
                data: data.to_vec(),
                version: counter as i32,
            },
        }
    }

    fn log_of(txns: &[Txn]) -> Vec<u8> {
        txns.iter().flat_map(encode_record).collect()
    }

    #[test]
    fn log_round_trips() {
        let txns = vec![txn(1, b"x"), txn(2, b"yy"), txn(3, b"")];
        let bytes = log_of(&txns);
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns, txns);
        assert_eq!(scan.tail, LogTail::Clean);
        assert_eq!(scan.valid_bytes, bytes.len());
    }

    #[test]
    fn torn_tail_ends_the_log() {
        let txns = vec![txn(1, b"x"), txn(2, b"yy")];
        let mut bytes = log_of(&txns);
        let first_len = encode_record(&txns[0]).len();
        bytes.truncate(bytes.len() - 3);
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns, txns[..1].to_vec());
        assert_eq!(scan.tail, LogTail::Torn { offset: first_len });
    }

    #[test]
    fn corrupt_record_ends_the_log_even_if_later_ones_are_fine() {
        let txns = vec![txn(1, b"x"), txn(2, b"yy"), txn(3, b"zzz")];
        let mut bytes = log_of(&txns);
        let first_len = encode_record(&txns[0]).len();
        bytes[first_len + RECORD_HEADER_BYTES + 2] ^= 0xff;
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns, txns[..1].to_vec());
        assert_eq!(
            scan.tail,
            LogTail::Corrupt {
                offset: first_len,
                mid_log: true
            }
        );
    }

    #[test]
    fn a_damaged_last_record_is_a_corrupt_tail() {
        let txns = vec![txn(1, b"x"), txn(2, b"yy")];
        let mut bytes = log_of(&txns);
        let last = bytes.len() - 3;
        bytes[last] ^= 0x5a;
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns, txns[..1].to_vec());
        assert!(matches!(scan.tail, LogTail::Corrupt { mid_log: false, .. }));
    }

    #[test]
    fn zero_filled_tail_is_a_clean_end() {
        let txns = vec![txn(1, b"x")];
        let mut bytes = log_of(&txns);
        bytes.extend_from_slice(&[0u8; 64]);
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns, txns);
        assert_eq!(scan.tail, LogTail::Zeros);
    }

    #[test]
    fn non_increasing_zxid_is_corruption() {
        let bytes = log_of(&[txn(2, b"x"), txn(1, b"y")]);
        let scan = decode_log(&bytes);
        assert_eq!(scan.txns.len(), 1);
        assert!(matches!(scan.tail, LogTail::Corrupt { .. }));
    }

    #[test]
    fn snapshot_round_trips_and_detects_corruption() {
        let image = SnapshotImage {
            zxid: Zxid::new(Epoch(3), 9),
            sessions: [(SessionId(5), 4000), (SessionId(-2), 6000)]
                .into_iter()
                .collect(),
            tree: b"tree bytes".to_vec(),
        };
        let mut bytes = encode_snapshot(&image);
        assert_eq!(decode_snapshot(&bytes), Ok(image));
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(decode_snapshot(&bytes), Err(SnapshotFormatError::Checksum));
        assert!(decode_snapshot(&bytes[..10]).is_err());
        assert_eq!(
            decode_snapshot(b"XXXXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            Err(SnapshotFormatError::Magic)
        );
    }

    proptest! {
        #[test]
        fn any_prefix_of_a_log_decodes_to_a_prefix_of_its_records(
            datas in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..8),
            cut in 0usize..400,
        ) {
            let txns: Vec<Txn> = datas.iter().enumerate().map(|(i, d)| txn(i as u32 + 1, d)).collect();
            let bytes = log_of(&txns);
            let cut = cut.min(bytes.len());
            let scan = decode_log(&bytes[..cut]);
            prop_assert!(scan.txns.len() <= txns.len());
            prop_assert_eq!(&scan.txns[..], &txns[..scan.txns.len()]);
            prop_assert!(scan.valid_bytes <= cut);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_log(&bytes);
            let _ = decode_snapshot(&bytes);
        }
    }
}
