//! The tree digest: an order-independent hash of every node, kept up to date on every change
//! so replicas can compare it after each transaction for free (ZooKeeper's `DigestCalculator`
//! and `NodeHashMapImpl`: a per-node hash summed over the tree).
//!
//! ZooKeeper uses CRC32 per node and leaves `/zookeeper/*` out (its quota nodes are updated
//! locally). Ours is a 64-bit hash of path, data, ACL and persisted stat over every node:
//! all of our tree is replicated, and 64 bits make an accidental match between diverged
//! replicas unlikely.

use super::node::{raw_owner, Node};

/// FNV-1a, 64-bit: tiny, deterministic, no dependency.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_be_bytes());
        self.bytes(bytes);
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }
}

/// splitmix64's finaliser: spreads FNV's output over all 64 bits before the sum.
fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of a node's data, cached in the node.
pub fn data_hash(data: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.field(data);
    h.0
}

/// The digest of one node.
pub fn node_digest(path: &str, node: &Node) -> u64 {
    let mut h = Fnv::new();
    h.field(path.as_bytes());
    h.u64(node.data_hash());
    h.u64(node.acl.len() as u64);
    for a in &node.acl {
        h.u64(a.perms as u32 as u64);
        h.field(a.id.scheme.as_bytes());
        h.field(a.id.id.as_bytes());
    }
    let s = &node.stat;
    for v in [
        s.czxid.0,
        s.mzxid.0,
        s.pzxid.0,
        s.ctime as u64,
        s.mtime as u64,
    ] {
        h.u64(v);
    }
    for v in [s.version, s.cversion, s.aversion] {
        h.u64(v as u32 as u64);
    }
    h.u64(raw_owner(node.kind) as u64);
    finalise(h.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Acl;
    use crate::tree::node::PersistedStat;
    use crate::txn::NodeKind;

    fn node(data: &[u8]) -> Node {
        Node::new(
            data.to_vec(),
            Acl::open_unsafe(),
            NodeKind::Persistent,
            PersistedStat::default(),
        )
    }

    #[test]
    fn digest_sees_path_data_stat_and_acl() {
        let base = node_digest("/a", &node(b"x"));
        assert_ne!(base, node_digest("/b", &node(b"x")));
        assert_ne!(base, node_digest("/a", &node(b"y")));
        let mut n = node(b"x");
        n.stat.version = 1;
        assert_ne!(base, node_digest("/a", &n));
        let mut n = node(b"x");
        n.acl = Acl::read_unsafe();
        assert_ne!(base, node_digest("/a", &n));
        assert_eq!(base, node_digest("/a", &node(b"x")));
    }

    #[test]
    fn field_boundaries_matter() {
        assert_ne!(
            node_digest("/ab", &node(b"c")),
            node_digest("/a", &node(b"bc"))
        );
    }
}
