//! Watch registrations (`WatchManager`): which connection watches which path in which modes,
//! and who an event goes to.
//!
//! The tree keeps two of these, as `DataTree` does: one for data/exist watches and one for
//! child watches. A connection's entry for a path is a set of modes: a one-shot standard watch,
//! a persistent one, a persistent-recursive one. Triggering a path fires every watcher that has
//! an entry on the path itself (removing its one-shot mode) and every watcher with a recursive
//! entry on an ancestor. A watcher fires at most once per trigger whatever its modes.
//!
//! This is the 3.9 `WatchManager` (with `WatchStats`). 3.8 kept a single mode per (connection,
//! path), so a later one-shot watch replaced a persistent one, and its `containsWatcher`
//! answered for any connection watching the path; we keep the corrected behaviour, which the
//! `Persistent`/`PersistentRecursive` watcher types of removeWatches/checkWatches need.

use crate::peer::ConnId;
use std::collections::{BTreeMap, BTreeSet};

/// Watch modes (`WatcherMode`) as bits of a per-(connection, path) set (`WatchStats`).
pub mod mode {
    pub const STANDARD: u8 = 1;
    pub const PERSISTENT: u8 = 2;
    pub const RECURSIVE: u8 = 4;
}

/// One `WatchManager`.
#[derive(Clone, Debug, Default)]
pub struct WatchManager {
    /// path -> connection -> modes. Never holds an empty set of modes.
    by_path: BTreeMap<String, BTreeMap<ConnId, u8>>,
    /// connection -> paths it has entries on, for `remove_watcher`.
    by_conn: BTreeMap<ConnId, BTreeSet<String>>,
    /// How many entries have the recursive mode: with none, ancestors need not be visited.
    recursive: usize,
}

impl WatchManager {
    /// Add `modes` to a connection's entry for `path`. Returns whether anything changed.
    pub fn add(&mut self, path: &str, conn: ConnId, modes: u8) -> bool {
        debug_assert!(modes != 0, "a watch has at least one mode");
        let entry = self
            .by_path
            .entry(path.to_string())
            .or_default()
            .entry(conn)
            .or_insert(0);
        let before = *entry;
        *entry |= modes;
        if before & mode::RECURSIVE == 0 && *entry & mode::RECURSIVE != 0 {
            self.recursive += 1;
        }
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_string());
        before != *entry
    }

    /// The modes a connection has on `path` (0 if none).
    pub fn modes(&self, path: &str, conn: ConnId) -> u8 {
        self.by_path
            .get(path)
            .and_then(|m| m.get(&conn))
            .copied()
            .unwrap_or(0)
    }

    /// `containsWatcher`: does the connection have an entry on `path` with any of `modes`
    /// (`None` = any entry at all)?
    pub fn contains(&self, path: &str, conn: ConnId, modes: Option<u8>) -> bool {
        let have = self.modes(path, conn);
        match modes {
            None => have != 0,
            Some(m) => have & m != 0,
        }
    }

    /// `removeWatcher(path, watcher, mode)`: take `modes` (`None` = all) off a connection's entry
    /// for `path`. Returns whether anything was removed.
    pub fn remove(&mut self, path: &str, conn: ConnId, modes: Option<u8>) -> bool {
        let before = self.modes(path, conn);
        if before == 0 {
            return false;
        }
        let after = match modes {
            None => 0,
            Some(m) => before & !m,
        };
        if after == before {
            return false;
        }
        self.set(path, conn, before, after);
        true
    }

    /// Drop every entry of a connection (it closed).
    pub fn remove_watcher(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        for path in paths {
            if let Some(conns) = self.by_path.get_mut(&path) {
                if let Some(modes) = conns.remove(&conn) {
                    if modes & mode::RECURSIVE != 0 {
                        self.recursive -= 1;
                    }
                }
                if conns.is_empty() {
                    self.by_path.remove(&path);
                }
            }
        }
    }

    /// Replace a connection's modes on a path, keeping the indexes consistent.
    fn set(&mut self, path: &str, conn: ConnId, before: u8, after: u8) {
        if before & mode::RECURSIVE != 0 && after & mode::RECURSIVE == 0 {
            self.recursive -= 1;
        }
        if after != 0 {
            if let Some(m) = self.by_path.get_mut(path) {
                m.insert(conn, after);
            }
            return;
        }
        if let Some(conns) = self.by_path.get_mut(path) {
            conns.remove(&conn);
            if conns.is_empty() {
                self.by_path.remove(path);
            }
        }
        if let Some(paths) = self.by_conn.get_mut(&conn) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
    }

    /// `triggerWatch`: the connections an event on `path` goes to, in connection order. One-shot
    /// entries on `path` itself are consumed.
    pub fn trigger(&mut self, path: &str) -> BTreeSet<ConnId> {
        let mut fired = BTreeSet::new();
        let exact: Vec<(ConnId, u8)> = self
            .by_path
            .get(path)
            .map(|m| m.iter().map(|(c, m)| (*c, *m)).collect())
            .unwrap_or_default();
        for (conn, modes) in exact {
            fired.insert(conn);
            if modes & mode::STANDARD != 0 {
                self.set(path, conn, modes, modes & !mode::STANDARD);
            }
        }
        if self.recursive > 0 {
            for ancestor in ancestors(path) {
                if let Some(conns) = self.by_path.get(ancestor) {
                    for (conn, modes) in conns {
                        if modes & mode::RECURSIVE != 0 {
                            fired.insert(*conn);
                        }
                    }
                }
            }
        }
        fired
    }

    /// The paths a connection has entries on, sorted.
    pub fn paths_of(&self, conn: ConnId) -> Vec<String> {
        self.by_conn
            .get(&conn)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of (connection, path) entries, as `wchs` counts them.
    pub fn len(&self) -> usize {
        self.by_path.values().map(|m| m.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

/// The proper ancestors of a path, nearest first, ending with "/".
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let current = rest?;
        if current == "/" {
            rest = None;
            return None;
        }
        let parent = match current.rfind('/') {
            Some(0) => "/",
            Some(i) => &current[..i],
            None => {
                rest = None;
                return None;
            }
        };
        rest = Some(parent);
        Some(parent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnId = ConnId(1);
    const B: ConnId = ConnId(2);

    #[test]
    fn ancestors_walk_up_to_root() {
        let v: Vec<&str> = ancestors("/a/b/c").collect();
        assert_eq!(v, vec!["/a/b", "/a", "/"]);
        assert_eq!(ancestors("/").count(), 0);
    }

    #[test]
    fn standard_watch_fires_once() {
        let mut w = WatchManager::default();
        w.add("/a", A, mode::STANDARD);
        assert_eq!(w.trigger("/a"), BTreeSet::from([A]));
        assert!(w.trigger("/a").is_empty());
        assert!(w.is_empty());
    }

    #[test]
    fn persistent_watch_stays_and_standard_mode_is_consumed() {
        let mut w = WatchManager::default();
        w.add("/a", A, mode::PERSISTENT);
        w.add("/a", A, mode::STANDARD);
        assert_eq!(w.trigger("/a"), BTreeSet::from([A]));
        assert_eq!(w.modes("/a", A), mode::PERSISTENT);
        assert_eq!(w.trigger("/a"), BTreeSet::from([A]));
    }

    #[test]
    fn recursive_watch_fires_for_descendants_only_through_recursive_mode() {
        let mut w = WatchManager::default();
        w.add("/a", A, mode::RECURSIVE);
        w.add("/a", B, mode::PERSISTENT);
        assert_eq!(w.trigger("/a/b/c"), BTreeSet::from([A]));
        assert_eq!(w.trigger("/a"), BTreeSet::from([A, B]));
        assert!(w.trigger("/b").is_empty());
    }

    #[test]
    fn remove_by_mode_and_whole_entry() {
        let mut w = WatchManager::default();
        w.add("/a", A, mode::STANDARD | mode::PERSISTENT);
        assert!(w.remove("/a", A, Some(mode::STANDARD)));
        assert!(!w.remove("/a", A, Some(mode::STANDARD)));
        assert!(w.contains("/a", A, Some(mode::PERSISTENT)));
        assert!(w.remove("/a", A, None));
        assert!(!w.contains("/a", A, None));
        assert!(w.is_empty());
    }

    #[test]
    fn remove_watcher_drops_every_entry_of_a_connection() {
        let mut w = WatchManager::default();
        w.add("/a", A, mode::RECURSIVE);
        w.add("/b", A, mode::STANDARD);
        w.add("/b", B, mode::STANDARD);
        w.remove_watcher(A);
        assert_eq!(w.len(), 1);
        assert_eq!(w.recursive, 0);
        assert_eq!(w.trigger("/a/x"), BTreeSet::new());
    }
}
