//! The tree's structural invariants, checkable from outside (the simulator's auditor, tests):
//! what must hold after any sequence of applied transactions, however wrong.

use super::{digest, path, DataTree};
use crate::ids::SessionId;
use crate::txn::NodeKind;
use std::collections::{BTreeMap, BTreeSet};

impl DataTree {
    /// Check every structural invariant; the first violation is described in the error.
    /// Costs a full walk of the tree: for audits and tests, not for every step of a run.
    pub fn check_invariants(&self) -> Result<(), String> {
        if !self.nodes.contains_key(path::ROOT) {
            return Err("no root".into());
        }
        let mut sum = 0u64;
        let mut ephemerals: BTreeMap<SessionId, BTreeSet<String>> = BTreeMap::new();
        let mut containers = BTreeSet::new();
        let mut ttls = BTreeSet::new();
        for (p, n) in &self.nodes {
            if !n.data_hash_is_current() {
                return Err(format!("{p}'s cached data hash is stale"));
            }
            sum = sum.wrapping_add(digest::node_digest(p, n));
            for child in &n.children {
                let c = path::join(p, child);
                if !self.nodes.contains_key(&c) {
                    return Err(format!("{p} lists missing child {child}"));
                }
            }
            if p != path::ROOT {
                let parent = path::parent(p).ok_or_else(|| format!("{p} has no '/'"))?;
                let listed = self
                    .nodes
                    .get(parent)
                    .is_some_and(|q| q.children.contains(path::name(p)));
                if !listed {
                    return Err(format!("{p} is not listed by its parent {parent}"));
                }
            }
            match n.kind {
                NodeKind::Ephemeral { owner } => {
                    if !n.children.is_empty() {
                        return Err(format!("ephemeral {p} has children"));
                    }
                    ephemerals.entry(owner).or_default().insert(p.clone());
                }
                NodeKind::Container => {
                    containers.insert(p.clone());
                }
                NodeKind::Ttl { .. } => {
                    ttls.insert(p.clone());
                }
                NodeKind::Persistent => {}
            }
        }
        if sum != self.digest {
            return Err(format!(
                "digest {:#x} but nodes sum to {sum:#x}",
                self.digest
            ));
        }
        if ephemerals != self.ephemerals {
            return Err("ephemerals-by-owner index disagrees with the nodes".into());
        }
        if containers != self.containers || ttls != self.ttls {
            return Err("container/TTL index disagrees with the nodes".into());
        }
        Ok(())
    }
}
