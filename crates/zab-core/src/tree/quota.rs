//! Quota bookkeeping as `DataTree` does it: a path `P` has a quota once
//! `/zookeeper/quota/P/zookeeper_limits` is created, and every create, delete and setData under
//! `P` then rewrites the data of `/zookeeper/quota/P/zookeeper_stats` (`count=N,bytes=M`) in
//! place, without a Stat change or a watch, on every replica as it applies the txn. Only the
//! deepest quota path above a node is charged (`PathTrie.findMaxPrefix`).
//!
//! Enforcement (`zookeeper.enforceQuota`, QUOTAEXCEEDED) is off by default in ZooKeeper and not
//! modelled. Where ZooKeeper would throw an unchecked exception (an unparsable stats node, a
//! limits node directly under `/zookeeper/quota`) we leave the stats alone.

use super::{path, DataTree};
use std::collections::{BTreeMap, BTreeSet};

/// `Quotas.limitNode`.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// `Quotas.statNode`.
pub const STAT_NODE: &str = "zookeeper_stats";

/// `PathTrie`'s key for a path: its non-empty components under "/". `None` for no components
/// (ZooKeeper either throws or never matches such a path).
fn trie_key(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
    (!parts.is_empty()).then(|| format!("/{}", parts.join("/")))
}

/// `Quotas.trimQuotaPath`: the real path a quota subtree node speaks for.
fn trim_quota_path(quota_path: &str) -> Option<&str> {
    quota_path.get(path::QUOTA.len()..)
}

fn stat_path(real: &str) -> String {
    format!("{}{real}/{STAT_NODE}", path::QUOTA)
}

/// `StatsTrack`: `key=value` pairs separated by `,` or `;`. `None` where ZooKeeper's parser
/// would throw.
fn parse_stats(data: &[u8]) -> Option<BTreeMap<String, i64>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Some(out);
    }
    let mut pieces: Vec<&str> = text.split([',', ';']).collect();
    while pieces.last() == Some(&"") {
        pieces.pop();
    }
    // Java's split on "[,;]+" merges runs of separators except at the start.
    let mut first = true;
    for piece in pieces {
        if piece.is_empty() && !first {
            continue;
        }
        first = false;
        let mut kv: Vec<&str> = piece.split('=').collect();
        while kv.last() == Some(&"") {
            kv.pop();
        }
        let (key, value) = match kv.as_slice() {
            [k, v, ..] => (*k, *v),
            _ => return None,
        };
        out.insert(key.to_string(), value.parse::<i64>().ok()?);
    }
    Some(out)
}

/// `StatsTrack.toString`, including its stray '=' before any extra keys.
fn format_stats(stats: &BTreeMap<String, i64>) -> Vec<u8> {
    let get = |k: &str| stats.get(k).copied().unwrap_or(-1);
    let mut s = format!("count={},bytes={}", get("count"), get("bytes"));
    let extra: Vec<_> = stats
        .iter()
        .filter(|(k, _)| *k != "count" && *k != "bytes")
        .collect();
    if !extra.is_empty() {
        s.push('=');
        for (k, v) in extra {
            s.push_str(&format!(";{k}={v}"));
        }
    }
    s.into_bytes()
}

impl DataTree {
    /// The deepest quota path at or above `p` (`getMaxPrefixWithQuota`); never "/".
    fn quota_prefix(&self, p: &str) -> Option<String> {
        if self.quotas.is_empty() {
            return None;
        }
        let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| format!("/{}", parts[..n].join("/")))
            .find(|candidate| self.quotas.contains(candidate))
    }

    /// `updateQuotaStat`: adjust the stats node of quota path `prefix`.
    fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let sp = stat_path(prefix);
        let Some(mut stats) = self.nodes.get(&sp).and_then(|n| parse_stats(&n.data)) else {
            return;
        };
        let count = stats.get("count").copied().unwrap_or(-1);
        let bytes = stats.get("bytes").copied().unwrap_or(-1);
        stats.insert("count".into(), count.wrapping_add(count_diff));
        stats.insert("bytes".into(), bytes.wrapping_add(bytes_diff));
        self.update_node(&sp, |n| n.set_data(format_stats(&stats)));
    }

    /// `updateQuotaForPath`: recount the subtree under `real` into its stats node (which keeps
    /// only count and bytes).
    fn update_quota_for_path(&mut self, real: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        if let Some(start) = self.nodes.get(real).map(|_| real.to_string()) {
            let mut stack = vec![start];
            while let Some(p) = stack.pop() {
                let Some(n) = self.nodes.get(&p) else {
                    continue;
                };
                count += 1;
                bytes += n.data.len() as i64;
                stack.extend(n.children.iter().map(|c| path::join(&p, c)));
            }
        }
        let stats = BTreeMap::from([("count".to_string(), count), ("bytes".to_string(), bytes)]);
        self.update_node(&stat_path(real), |n| n.set_data(format_stats(&stats)));
    }

    /// Quota side effects of creating `p` (with `data_len` bytes) under `parent`.
    pub(super) fn quota_on_create(&mut self, parent: &str, p: &str, data_len: usize) {
        if parent.starts_with(path::QUOTA) {
            let real = trim_quota_path(parent).and_then(trie_key);
            match (path::name(p), real) {
                (LIMIT_NODE, Some(real)) => {
                    self.quotas.insert(real);
                }
                (STAT_NODE, Some(real)) => self.update_quota_for_path(&real),
                _ => {}
            }
        }
        if let Some(prefix) = self.quota_prefix(p) {
            self.update_quota_stat(&prefix, data_len as i64, 1);
        }
    }

    /// Quota side effects of deleting `p` (which held `data_len` bytes) from `parent`.
    pub(super) fn quota_on_delete(&mut self, parent: &str, p: &str, data_len: usize) {
        if parent.starts_with(path::ZOOKEEPER) && path::name(p) == LIMIT_NODE {
            if let Some(real) = trim_quota_path(parent).and_then(trie_key) {
                // PathTrie.deletePath drops the trie node with everything beneath it.
                let below = format!("{real}/");
                self.quotas.retain(|q| *q != real && !q.starts_with(&below));
            }
        }
        if let Some(prefix) = self.quota_prefix(p) {
            self.update_quota_stat(&prefix, -(data_len as i64), -1);
        }
    }

    /// Quota side effects of a setData on `p` changing its size by `bytes_diff`.
    pub(super) fn quota_on_set_data(&mut self, p: &str, bytes_diff: i64) {
        if let Some(prefix) = self.quota_prefix(p) {
            self.update_quota_stat(&prefix, bytes_diff, 0);
        }
    }

    /// Rebuild the quota paths from the nodes after a restore: every limits node under
    /// `/zookeeper/quota` that has no children (ZooKeeper's `setupQuota` also recounts the
    /// stats; ours are exact already, so a restore changes nothing).
    pub(super) fn rebuild_quotas(&mut self) {
        let prefix = format!("{}/", path::QUOTA);
        let suffix = format!("/{LIMIT_NODE}");
        let found: BTreeSet<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, n)| n.children.is_empty() && p.ends_with(&suffix))
            .filter_map(|(p, _)| trie_key(&p[path::QUOTA.len()..p.len() - suffix.len()]))
            .collect();
        self.quotas = found;
    }

    /// The paths with a quota, sorted.
    pub fn quota_paths(&self) -> impl Iterator<Item = &str> {
        self.quotas.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_parse_and_format_like_stats_track() {
        let s = parse_stats(b"count=3,bytes=10").unwrap();
        assert_eq!(format_stats(&s), b"count=3,bytes=10");
        let s = parse_stats(b"count=3,bytes=10=;countHardLimit=7").unwrap();
        assert_eq!(s["countHardLimit"], 7);
        assert_eq!(format_stats(&s), b"count=3,bytes=10=;countHardLimit=7");
        assert_eq!(
            format_stats(&parse_stats(b"").unwrap()),
            b"count=-1,bytes=-1"
        );
        assert!(parse_stats(b"count=").is_none());
        assert!(parse_stats(b"count=x").is_none());
        assert!(parse_stats(b",count=1").is_none());
        assert_eq!(parse_stats(b"count=1,,;bytes=2").unwrap()["bytes"], 2);
    }

    #[test]
    fn trie_keys_ignore_empty_components() {
        assert_eq!(trie_key("/a//b/"), Some("/a/b".to_string()));
        assert_eq!(trie_key("/"), None);
        assert_eq!(trie_key(""), None);
    }
}
