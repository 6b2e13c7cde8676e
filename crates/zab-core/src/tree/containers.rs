//! What the leader's `ContainerManager` would delete: empty containers that have had a child
//! and TTL nodes left unmodified and childless for longer than their TTL. The leader turns
//! each candidate into [`Preparer::prepare_delete_container`](super::Preparer::prepare_delete_container).

use super::DataTree;
use crate::ids::Millis;
use crate::txn::NodeKind;

impl DataTree {
    /// `ContainerManager.getCandidates` at time `now` (the leader's clock, same scale as the
    /// txn times that set mtime). `max_never_used_ms` is `znode.container.maxNeverUsedIntervalMs`
    /// (0 = a container that never had a child is never deleted). Sorted.
    pub fn container_candidates(&self, now: Millis, max_never_used_ms: u64) -> Vec<String> {
        let elapsed = |mtime: i64| (now.0 as i64).saturating_sub(mtime);
        let mut out = Vec::new();
        for p in &self.containers {
            let Some(n) = self.nodes.get(p) else { continue };
            if !n.children.is_empty() {
                continue;
            }
            // cversion > 0: it has had a child, so it is not merely new.
            let used = n.stat.cversion > 0;
            if used || (max_never_used_ms != 0 && elapsed(n.stat.mtime) > max_never_used_ms as i64)
            {
                out.push(p.clone());
            }
        }
        for p in &self.ttls {
            let Some(n) = self.nodes.get(p) else { continue };
            if let NodeKind::Ttl { ttl_ms } = n.kind {
                if n.children.is_empty() && ttl_ms != 0 && elapsed(n.stat.mtime) > ttl_ms {
                    out.push(p.clone());
                }
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::ids::Millis;
    use crate::request::{Acl, CreateMode, Request};
    use crate::tree::tests_support::*;

    #[test]
    fn empty_used_containers_and_expired_ttls_are_candidates() {
        let mut f = Fixture::new();
        f.ok(&create_mode("/c", b"", CreateMode::Container));
        f.ok(&create_mode("/fresh", b"", CreateMode::Container));
        f.ok(&create("/c/kid", b""));
        let t0 = f.time;
        assert!(
            f.tree.container_candidates(t0, 0).is_empty(),
            "a container with a child stays"
        );
        f.ok(&delete("/c/kid", -1));
        assert_eq!(f.tree.container_candidates(f.time, 0), vec!["/c"]);
        // A never-used container goes only with maxNeverUsedIntervalMs.
        let later = Millis(f.time.0 + 60_000);
        assert_eq!(
            f.tree.container_candidates(later, 1000),
            vec!["/c", "/fresh"]
        );
        let ttl = Request::Create {
            path: "/t".into(),
            data: vec![],
            acl: Acl::open_unsafe(),
            mode: CreateMode::PersistentWithTtl,
            ttl: Some(500),
            with_stat: false,
        };
        f.ok(&ttl);
        let created = f.time;
        assert!(!f
            .tree
            .container_candidates(Millis(created.0 + 500), 0)
            .contains(&"/t".to_string()));
        assert!(f
            .tree
            .container_candidates(Millis(created.0 + 501), 0)
            .contains(&"/t".to_string()));
    }

    #[test]
    fn delete_container_refuses_non_empty_and_ephemeral_nodes() {
        let mut f = Fixture::new();
        f.ok(&create_mode("/c", b"", CreateMode::Container));
        f.ok(&create("/c/kid", b""));
        f.ok(&create_mode("/e", b"", CreateMode::Ephemeral));
        let z = f.next_zxid();
        let txn = f.prep.prepare_delete_container(&f.tree, "/c", z, f.time);
        assert_eq!(
            f.commit(&txn).result,
            Err(crate::error::ErrorCode::NotEmpty)
        );
        let z = f.next_zxid();
        let txn = f.prep.prepare_delete_container(&f.tree, "/e", z, f.time);
        assert_eq!(
            f.commit(&txn).result,
            Err(crate::error::ErrorCode::BadVersion)
        );
        f.ok(&delete("/c/kid", -1));
        let z = f.next_zxid();
        let txn = f.prep.prepare_delete_container(&f.tree, "/c", z, f.time);
        assert_eq!(txn.header.session.0, 0);
        assert!(f.commit(&txn).result.is_ok());
        assert!(f.tree.node("/c").is_none());
        let z = f.next_zxid();
        let txn = f
            .prep
            .prepare_delete_container(&f.tree, "/zookeeper", z, f.time);
        assert_eq!(
            f.commit(&txn).result,
            Err(crate::error::ErrorCode::BadArguments)
        );
    }
}
