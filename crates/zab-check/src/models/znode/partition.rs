//! Splitting a tree history into independent parts (P-compositionality).
//!
//! Every write gets a footprint: the objects whose state can decide its outcome or that it
//! changes. An object is a path (the node and its children list, together) or a session
//! (its liveness and its ephemerals). Parts are the connected components of ops that share
//! an object — linearizability is local, so the history is linearizable iff every part is.
//!
//! Creates and deletes touch the parent (existence, ephemeral-ness, cversion, child count),
//! which would glue every key under a common parent into one part. A parent is left out of
//! its children's footprints when it is *quiet*: no write in the history targets it other
//! than one create that completed before any write under it began (plus creates of it that
//! failed with NODEEXISTS), it is persistent, and no child is created sequentially (the
//! sequential suffix reads its cversion). A quiet parent's only observable property for its
//! children's writes is "exists, persistent" — constant over their whole lifetime — so
//! leaving it out cannot change any outcome. Parts then start with their quiet parents in
//! place (`initial_tree`).

use super::state::{parent_of, ZNode, ZState};
use super::{ZInput, ZOutput};
use crate::lin::Operation;
use std::collections::{BTreeMap, BTreeSet};
use zab_core::ids::SessionId;
use zab_core::request::{CreateMode, Request, Response};

type ZOp = Operation<ZInput, ZOutput>;

/// An object a write can touch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Object {
    Path(String),
    Session(SessionId),
}

/// Paths a request targets directly (not parents), with whether each is a create and how.
fn targets(request: &Request, out: &mut Vec<(String, Option<CreateMode>)>) {
    match request {
        Request::Create { path, mode, .. } => out.push((path.clone(), Some(*mode))),
        Request::Delete { path, .. }
        | Request::SetData { path, .. }
        | Request::SetAcl { path, .. }
        | Request::Check { path, .. } => out.push((path.clone(), None)),
        Request::Multi(ops) => ops.iter().for_each(|op| targets(op, out)),
        _ => {}
    }
}

/// The paths a session may own ephemerals at: every ephemeral create it issued (the created
/// path for answered sequential ones; the parent stands in for unanswered sequential ones).
fn ephemeral_paths(ops: &[ZOp]) -> BTreeMap<SessionId, BTreeSet<String>> {
    let mut owned: BTreeMap<SessionId, BTreeSet<String>> = BTreeMap::new();
    for op in ops {
        let mut t = Vec::new();
        targets(&op.input.request, &mut t);
        for (path, mode) in t {
            let Some(mode) = mode.filter(|m| m.is_ephemeral()) else {
                continue;
            };
            let entry = owned.entry(op.input.session).or_default();
            if mode.is_sequential() {
                entry.insert(parent_of(&path).unwrap_or("/").to_string());
            } else {
                entry.insert(path);
            }
            for created in created_paths(op) {
                entry.insert(created);
            }
        }
    }
    owned
}

/// Paths an answered op reports having created (sequential names are only known here).
fn created_paths(op: &ZOp) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ZOutput { result: Ok(r), .. }) = &op.output {
        collect_created(r, &mut out);
    }
    out
}

fn collect_created(response: &Response, out: &mut Vec<String>) {
    match response {
        Response::Create { path, .. } => out.push(path.clone()),
        Response::Multi(results) => {
            for r in results {
                if let zab_core::request::OpResult::Ok(inner) = r {
                    collect_created(inner, out);
                }
            }
        }
        _ => {}
    }
}

/// Which parents may be left out of their children's footprints.
pub(super) fn quiet_parents(ops: &[ZOp]) -> BTreeSet<String> {
    // For each path: ops that target it, split into creates and others.
    let mut creates: BTreeMap<String, Vec<(usize, CreateMode)>> = BTreeMap::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut sequential_parents: BTreeSet<String> = BTreeSet::new();
    let mut ephemeral_owned = BTreeSet::new();
    let mut children_ops: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let mut t = Vec::new();
        targets(&op.input.request, &mut t);
        for (path, mode) in t {
            let parent = parent_of(&path).map(str::to_string);
            if let Some(parent) = &parent {
                children_ops.entry(parent.clone()).or_default().push(i);
            }
            match mode {
                Some(mode) => {
                    if mode.is_sequential() {
                        if let Some(parent) = parent {
                            sequential_parents.insert(parent);
                        }
                    }
                    if mode.is_ephemeral() {
                        ephemeral_owned.insert(path.clone());
                    }
                    creates.entry(path).or_default().push((i, mode));
                }
                None => {
                    touched.insert(path);
                }
            }
        }
    }
    let mut quiet = BTreeSet::new();
    for (parent, child_ops) in &children_ops {
        if parent == "/" {
            if !touched.contains("/") && !sequential_parents.contains("/") {
                quiet.insert(parent.clone());
            }
            continue;
        }
        if touched.contains(parent)
            || sequential_parents.contains(parent)
            || ephemeral_owned.contains(parent)
        {
            continue;
        }
        let Some(parent_creates) = creates.get(parent) else {
            continue;
        };
        let mut established = None;
        let mut ok = true;
        for &(i, mode) in parent_creates {
            let op = &ops[i];
            match &op.output {
                Some(ZOutput { result: Ok(_), .. })
                    if mode == CreateMode::Persistent && established.is_none() =>
                {
                    established = Some(i)
                }
                Some(ZOutput {
                    result: Err(zab_core::error::ErrorCode::NodeExists),
                    ..
                }) => {}
                _ => ok = false,
            }
        }
        let Some(created_by) = established.filter(|_| ok) else {
            continue;
        };
        let Some(done) = ops[created_by].ret else {
            continue;
        };
        if child_ops.iter().all(|&c| ops[c].call > done) {
            quiet.insert(parent.clone());
        }
    }
    quiet
}

/// The objects a write touches.
fn footprint(
    op: &ZOp,
    quiet: &BTreeSet<String>,
    owned: &BTreeMap<SessionId, BTreeSet<String>>,
) -> Vec<Object> {
    let mut objects = Vec::new();
    let mut t = Vec::new();
    targets(&op.input.request, &mut t);
    let with_parent = |path: &str, objects: &mut Vec<Object>| {
        objects.push(Object::Path(path.to_string()));
        if let Some(parent) = parent_of(path) {
            if !quiet.contains(parent) {
                objects.push(Object::Path(parent.to_string()));
            }
        }
    };
    for (path, mode) in &t {
        match mode {
            Some(mode) if mode.is_sequential() => {
                // The created name is decided by the parent: the parent is the object.
                let parent = parent_of(path).unwrap_or("/");
                objects.push(Object::Path(parent.to_string()));
            }
            _ => with_parent(path, &mut objects),
        }
        if mode.is_some_and(|m| m.is_ephemeral()) {
            objects.push(Object::Session(op.input.session));
        }
    }
    for created in created_paths(op) {
        with_parent(&created, &mut objects);
    }
    if matches!(op.input.request, Request::CloseSession) {
        objects.push(Object::Session(op.input.session));
        for path in owned.get(&op.input.session).into_iter().flatten() {
            with_parent(path, &mut objects);
        }
    }
    objects
}

/// Union-find over op indices.
struct Components {
    parent: Vec<usize>,
}

impl Components {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// The parts, each in op order, ordered by their first op.
pub(super) fn split(ops: &[ZOp], quiet: &BTreeSet<String>) -> Vec<Vec<usize>> {
    let owned = ephemeral_paths(ops);
    let mut components = Components {
        parent: (0..ops.len()).collect(),
    };
    let mut first_user: BTreeMap<Object, usize> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        for object in footprint(op, quiet, &owned) {
            match first_user.get(&object) {
                Some(&j) => components.union(i, j),
                None => {
                    first_user.insert(object, i);
                }
            }
        }
    }
    let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..ops.len() {
        let root = components.find(i);
        parts.entry(root).or_default().push(i);
    }
    parts.into_values().collect()
}

/// The tree a part starts from: a fresh tree, plus every quiet parent its ops live under
/// (and their ancestors) unless an op of the part creates that path itself. A quiet parent
/// exists during all its children's writes, so it and its ancestors are in place for them.
pub(super) fn initial_tree(ops: &[&ZOp], quiet: &BTreeSet<String>) -> ZState {
    let owned: Vec<ZOp> = ops.iter().map(|op| (*op).clone()).collect();
    let mut created_here = BTreeSet::new();
    let mut parents = BTreeSet::new();
    for op in &owned {
        let mut t = Vec::new();
        targets(&op.input.request, &mut t);
        for (path, mode) in t {
            if mode.is_some() {
                created_here.insert(path.clone());
            }
            if let Some(parent) = parent_of(&path).filter(|p| quiet.contains(*p)) {
                parents.insert(parent.to_string());
            }
        }
        for created in created_paths(op) {
            if let Some(parent) = parent_of(&created).filter(|p| quiet.contains(*p)) {
                parents.insert(parent.to_string());
            }
        }
    }
    let mut state = ZState::default();
    for parent in parents {
        let mut path = parent.as_str();
        loop {
            if path != "/" && !created_here.contains(path) && !state.nodes.contains_key(path) {
                state.nodes.insert(path.to_string(), ZNode::persistent());
            }
            match parent_of(path) {
                Some(p) => path = p,
                None => break,
            }
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab_core::request::Acl;

    fn op(id: u64, request: Request, call: u64, ret: u64, ok: Option<Response>) -> ZOp {
        Operation {
            id,
            client: id,
            input: ZInput {
                session: SessionId(1),
                request,
            },
            output: ok.map(|r| ZOutput {
                result: Ok(r),
                zxid: None,
            }),
            call,
            ret: Some(ret),
        }
    }

    fn create(path: &str, mode: CreateMode) -> Request {
        Request::Create {
            path: path.into(),
            data: vec![],
            acl: Acl::open_unsafe(),
            mode,
            ttl: None,
            with_stat: false,
        }
    }

    fn created(path: &str) -> Option<Response> {
        Some(Response::Create {
            path: path.into(),
            stat: None,
        })
    }

    fn set(path: &str) -> Request {
        Request::SetData {
            path: path.into(),
            data: vec![1],
            version: -1,
        }
    }

    fn parts(ops: &[ZOp]) -> Vec<Vec<usize>> {
        split(ops, &quiet_parents(ops))
    }

    #[test]
    fn keys_under_a_parent_created_first_are_independent() {
        let ops = vec![
            op(
                0,
                create("/keys", CreateMode::Persistent),
                0,
                5,
                created("/keys"),
            ),
            op(
                1,
                create("/keys/a", CreateMode::Persistent),
                10,
                12,
                created("/keys/a"),
            ),
            op(
                2,
                create("/keys/b", CreateMode::Persistent),
                10,
                12,
                created("/keys/b"),
            ),
            op(3, set("/keys/a"), 20, 22, None),
            op(4, set("/keys/b"), 20, 22, None),
        ];
        assert_eq!(parts(&ops), vec![vec![0], vec![1, 3], vec![2, 4]]);
        let part: Vec<&ZOp> = vec![&ops[1], &ops[3]];
        let start = initial_tree(&part, &quiet_parents(&ops));
        assert!(
            start.nodes.contains_key("/keys"),
            "the quiet parent is in place"
        );
    }

    #[test]
    fn parent_created_concurrently_with_a_child_is_not_quiet() {
        let ops = vec![
            op(
                0,
                create("/keys", CreateMode::Persistent),
                0,
                15,
                created("/keys"),
            ),
            op(1, create("/keys/a", CreateMode::Persistent), 10, 12, None),
            op(2, create("/keys/b", CreateMode::Persistent), 20, 22, None),
        ];
        assert_eq!(parts(&ops), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn sequential_children_share_their_parent() {
        let ops = vec![
            op(0, create("/q", CreateMode::Persistent), 0, 5, created("/q")),
            op(
                1,
                create("/q/n-", CreateMode::PersistentSequential),
                10,
                12,
                created("/q/n-0000000000"),
            ),
            op(
                2,
                create("/q/n-", CreateMode::PersistentSequential),
                10,
                12,
                None,
            ),
            op(
                3,
                Request::Delete {
                    path: "/q/n-0000000000".into(),
                    version: -1,
                },
                20,
                22,
                None,
            ),
        ];
        assert_eq!(parts(&ops), vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn a_session_close_joins_its_ephemerals() {
        let mut close = op(2, Request::CloseSession, 30, 32, None);
        close.input.session = SessionId(1);
        let ops = vec![
            op(
                0,
                create("/e1", CreateMode::Ephemeral),
                0,
                5,
                created("/e1"),
            ),
            op(
                1,
                create("/e2", CreateMode::Ephemeral),
                0,
                5,
                created("/e2"),
            ),
            close,
            op(3, set("/other"), 0, 5, None),
        ];
        assert_eq!(parts(&ops), vec![vec![0, 1, 2], vec![3]]);
    }
}
