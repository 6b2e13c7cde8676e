//! Snapshots of the replicated state (ZooKeeper's `FileSnap` of `DataTree` + sessions), in our
//! own deterministic binary format: the same tree always gives the same bytes.
//!
//! Layout (big-endian): magic `ZABTREE1`, last applied zxid, node count, then per node in
//! path order: path, data, ACL list, kind, persisted stat; then the session count and each
//! (id, timeout); then a CRC32 of everything before it. Watches are per connection and never
//! snapshotted.

use super::node::{Node, PersistedStat};
use super::{path, DataTree};
use crate::ids::{SessionId, Zxid};
use crate::request::{Acl, Id};
use crate::txn::NodeKind;
use thiserror::Error;

const MAGIC: &[u8; 8] = b"ZABTREE1";

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error("snapshot is {0} bytes, too short to hold a header and checksum")]
    TooShort(usize),
    #[error("snapshot checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("not a zabsim tree snapshot (bad magic)")]
    BadMagic,
    #[error("snapshot ends inside {0}")]
    Truncated(&'static str),
    #[error("snapshot has {0} bytes after the session table")]
    TrailingBytes(usize),
    #[error("snapshot field {0} is not valid UTF-8")]
    BadUtf8(&'static str),
    #[error("unknown node kind tag {0}")]
    BadKind(u8),
    #[error("snapshot tree is inconsistent: {0}")]
    Inconsistent(String),
}

impl DataTree {
    /// Serialise the nodes, the session table and the last applied zxid.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 * self.nodes.len() + 64);
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&self.last_applied.0.to_be_bytes());
        put_u32(&mut w, self.nodes.len() as u32);
        for (p, n) in &self.nodes {
            put_bytes(&mut w, p.as_bytes());
            put_bytes(&mut w, &n.data);
            put_u32(&mut w, n.acl.len() as u32);
            for a in &n.acl {
                w.extend_from_slice(&a.perms.to_be_bytes());
                put_bytes(&mut w, a.id.scheme.as_bytes());
                put_bytes(&mut w, a.id.id.as_bytes());
            }
            match n.kind {
                NodeKind::Persistent => w.push(0),
                NodeKind::Ephemeral { owner } => {
                    w.push(1);
                    w.extend_from_slice(&owner.0.to_be_bytes());
                }
                NodeKind::Container => w.push(2),
                NodeKind::Ttl { ttl_ms } => {
                    w.push(3);
                    w.extend_from_slice(&ttl_ms.to_be_bytes());
                }
            }
            let s = &n.stat;
            for v in [
                s.czxid.0,
                s.mzxid.0,
                s.pzxid.0,
                s.ctime as u64,
                s.mtime as u64,
            ] {
                w.extend_from_slice(&v.to_be_bytes());
            }
            for v in [s.version, s.cversion, s.aversion] {
                w.extend_from_slice(&v.to_be_bytes());
            }
        }
        put_u32(&mut w, self.sessions.len() as u32);
        for (s, t) in &self.sessions {
            w.extend_from_slice(&s.0.to_be_bytes());
            w.extend_from_slice(&t.to_be_bytes());
        }
        let crc = crc32fast::hash(&w);
        w.extend_from_slice(&crc.to_be_bytes());
        w
    }

    /// Rebuild a tree from [`DataTree::snapshot`]'s bytes. Corruption, truncation and trees
    /// that do not hang together (a node without its parent) are errors, never panics.
    pub fn restore(bytes: &[u8]) -> Result<DataTree, SnapshotError> {
        if bytes.len() < MAGIC.len() + 8 + 4 + 4 + 4 {
            return Err(SnapshotError::TooShort(bytes.len()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(SnapshotError::Checksum { stored, computed });
        }
        let mut r = Reader { buf: body, at: 0 };
        if r.take(MAGIC.len(), "magic")? != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let mut tree = DataTree::empty();
        tree.last_applied = Zxid(r.u64("last zxid")?);
        let count = r.u32("node count")?;
        let mut paths = Vec::new();
        for _ in 0..count {
            let p = r.string("path")?;
            let data = r.bytes("data")?.to_vec();
            let acl_count = r.u32("acl count")?;
            let mut acl = Vec::new();
            for _ in 0..acl_count {
                let perms = r.u32("acl perms")? as i32;
                let scheme = r.string("acl scheme")?;
                let id = r.string("acl id")?;
                acl.push(Acl {
                    perms,
                    id: Id { scheme, id },
                });
            }
            let kind = match r.u8("kind")? {
                0 => NodeKind::Persistent,
                1 => NodeKind::Ephemeral {
                    owner: SessionId(r.u64("owner")? as i64),
                },
                2 => NodeKind::Container,
                3 => NodeKind::Ttl {
                    ttl_ms: r.u64("ttl")? as i64,
                },
                other => return Err(SnapshotError::BadKind(other)),
            };
            let stat = PersistedStat {
                czxid: Zxid(r.u64("czxid")?),
                mzxid: Zxid(r.u64("mzxid")?),
                pzxid: Zxid(r.u64("pzxid")?),
                ctime: r.u64("ctime")? as i64,
                mtime: r.u64("mtime")? as i64,
                version: r.u32("version")? as i32,
                cversion: r.u32("cversion")? as i32,
                aversion: r.u32("aversion")? as i32,
            };
            if tree.nodes.contains_key(&p) {
                return Err(SnapshotError::Inconsistent(format!("{p} appears twice")));
            }
            tree.insert_node(&p, Node::new(data, acl, kind, stat));
            paths.push(p);
        }
        if !tree.nodes.contains_key(path::ROOT) {
            return Err(SnapshotError::Inconsistent("no root".to_string()));
        }
        for p in paths.iter().filter(|p| p.as_str() != path::ROOT) {
            match path::parent(p) {
                Some(parent) if tree.nodes.contains_key(parent) => tree.link_child(p),
                _ => return Err(SnapshotError::Inconsistent(format!("{p} has no parent"))),
            }
        }
        let sessions = r.u32("session count")?;
        for _ in 0..sessions {
            let id = SessionId(r.u64("session id")? as i64);
            let timeout = r.u32("session timeout")? as i32;
            tree.sessions.insert(id, timeout);
        }
        if r.at != r.buf.len() {
            return Err(SnapshotError::TrailingBytes(r.buf.len() - r.at));
        }
        tree.rebuild_quotas();
        Ok(tree)
    }
}

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_be_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_u32(w, b.len() as u32);
    w.extend_from_slice(b);
}

/// A bounds-checked cursor.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SnapshotError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or(SnapshotError::Truncated(what))?;
        let slice = self
            .buf
            .get(self.at..end)
            .ok_or(SnapshotError::Truncated(what))?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, SnapshotError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, SnapshotError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, SnapshotError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], SnapshotError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn string(&mut self, what: &'static str) -> Result<String, SnapshotError> {
        let b = self.bytes(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| SnapshotError::BadUtf8(what))
    }
}
