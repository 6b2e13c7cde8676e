//! Random operation sequences through prepare + apply, compared with a small reference model
//! written independently of `zab_core::tree` (a flat map of paths, ZooKeeper's rules restated).
//! Also: applying the same txns on two trees gives equal digests and snapshots, and
//! snapshot -> restore is the identity.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use zab_core::error::ErrorCode;
use zab_core::ids::{Epoch, Millis, SessionId, Zxid};
use zab_core::peer::ConnId;
use zab_core::request::{Acl, CreateMode, OpResult, Request, Response, Stat};
use zab_core::tree::{DataTree, Preparer};
use zab_core::txn::Txn;

const PATHS: [&str; 7] = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/zookeeper/q"];
const SESSIONS: [SessionId; 2] = [SessionId(0x11), SessionId(0x22)];

/// One generated step.
#[derive(Clone, Debug)]
enum Op {
    Write(usize, Request),
    Open(usize),
}

/// Biased towards one parent and its child, so that sequences touch the same nodes often.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(PATHS[0].to_string()),
        3 => Just(PATHS[2].to_string()),
        3 => (0..PATHS.len()).prop_map(|i| PATHS[i].to_string()),
    ]
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![Just(-1), 0..3i32]
}

fn mode() -> impl Strategy<Value = CreateMode> {
    prop_oneof![
        Just(CreateMode::Persistent),
        Just(CreateMode::Ephemeral),
        Just(CreateMode::PersistentSequential),
        Just(CreateMode::EphemeralSequential),
    ]
}

fn simple_write() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => (path(), prop::collection::vec(any::<u8>(), 0..4), mode(), any::<bool>()).prop_map(
            |(path, data, mode, with_stat)| Request::Create {
                path,
                data,
                acl: Acl::open_unsafe(),
                mode,
                ttl: None,
                with_stat,
            }
        ),
        2 => (path(), version()).prop_map(|(path, version)| Request::Delete { path, version }),
        3 => (path(), prop::collection::vec(any::<u8>(), 0..4), version())
            .prop_map(|(path, data, version)| Request::SetData { path, data, version }),
        1 => (path(), version()).prop_map(|(path, version)| Request::Check { path, version }),
    ]
}

fn write(with_close: bool) -> impl Strategy<Value = Request> {
    let close_weight = if with_close { 1 } else { 0 };
    prop_oneof![
        10 => simple_write(),
        2 => prop::collection::vec(simple_write(), 0..4).prop_map(Request::Multi),
        close_weight => Just(Request::CloseSession),
    ]
}

fn op(with_close: bool) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..SESSIONS.len(), write(with_close)).prop_map(|(s, r)| Op::Write(s, r)),
        1 => (0..SESSIONS.len()).prop_map(Op::Open),
    ]
}

// ---------------------------------------------------------------------------------------------
// The reference model.

#[derive(Clone, Debug)]
struct MNode {
    data: Vec<u8>,
    czxid: u64,
    mzxid: u64,
    pzxid: u64,
    ctime: i64,
    mtime: i64,
    version: i32,
    /// Creates of children ever (ZooKeeper persists this; clients see 2*creates - children).
    creates: i32,
    owner: i64,
}

#[derive(Clone, Debug)]
struct Model {
    nodes: BTreeMap<String, MNode>,
    sessions: BTreeSet<i64>,
}

fn parent_of(p: &str) -> String {
    let i = p.rfind('/').unwrap();
    if i == 0 {
        "/".into()
    } else {
        p[..i].into()
    }
}

impl Model {
    fn new() -> Model {
        let blank = MNode {
            data: vec![],
            czxid: 0,
            mzxid: 0,
            pzxid: 0,
            ctime: 0,
            mtime: 0,
            version: 0,
            creates: 0,
            owner: 0,
        };
        let mut nodes = BTreeMap::new();
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            nodes.insert(p.to_string(), blank.clone());
        }
        Model {
            nodes,
            sessions: BTreeSet::new(),
        }
    }

    fn children(&self, p: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|k| k.as_str() != "/" && parent_of(k) == p)
            .map(|k| k[k.rfind('/').unwrap() + 1..].to_string())
            .collect()
    }

    fn stat(&self, p: &str) -> Stat {
        let n = &self.nodes[p];
        let kids = self.children(p).len() as i32;
        Stat {
            czxid: Zxid(n.czxid),
            mzxid: Zxid(n.mzxid),
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: n.creates * 2 - kids,
            aversion: if p == "/zookeeper/config" { -1 } else { 0 },
            ephemeral_owner: n.owner,
            data_length: n.data.len() as i32,
            num_children: kids,
            pzxid: Zxid(n.pzxid),
        }
    }

    fn session_ok(&self, s: i64, ephemeral: bool) -> Result<(), ErrorCode> {
        if self.sessions.contains(&s) {
            Ok(())
        } else if ephemeral {
            Err(ErrorCode::SessionExpired)
        } else {
            Err(ErrorCode::UnknownSession)
        }
    }

    fn version_ok(current: i32, expected: i32) -> Result<i32, ErrorCode> {
        if expected != -1 && expected != current {
            return Err(ErrorCode::BadVersion);
        }
        Ok(current + 1)
    }

    /// One write; `Err` leaves the model untouched.
    fn write(&mut self, s: i64, r: &Request, zxid: u64, time: i64) -> Result<Response, ErrorCode> {
        match r {
            Request::Create {
                path,
                data,
                mode,
                with_stat,
                ..
            } => {
                self.session_ok(s, mode.is_ephemeral())?;
                let parent = parent_of(path);
                let pnode = self.nodes.get(&parent).ok_or(ErrorCode::NoNode)?;
                let name = if mode.is_sequential() {
                    format!("{path}{:010}", pnode.creates)
                } else {
                    path.clone()
                };
                if self.nodes.contains_key(&name) {
                    return Err(ErrorCode::NodeExists);
                }
                if pnode.owner != 0 {
                    return Err(ErrorCode::NoChildrenForEphemerals);
                }
                let p = self.nodes.get_mut(&parent).unwrap();
                p.creates += 1;
                p.pzxid = zxid;
                let owner = if mode.is_ephemeral() { s } else { 0 };
                self.nodes.insert(
                    name.clone(),
                    MNode {
                        data: data.clone(),
                        czxid: zxid,
                        mzxid: zxid,
                        pzxid: zxid,
                        ctime: time,
                        mtime: time,
                        version: 0,
                        creates: 0,
                        owner,
                    },
                );
                let stat = with_stat.then(|| self.stat(&name));
                Ok(Response::Create { path: name, stat })
            }
            Request::Delete { path, version } => {
                self.session_ok(s, false)?;
                let parent = parent_of(path);
                if !self.nodes.contains_key(&parent) {
                    return Err(ErrorCode::NoNode);
                }
                let n = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
                Self::version_ok(n.version, *version)?;
                if !self.children(path).is_empty() {
                    return Err(ErrorCode::NotEmpty);
                }
                self.nodes.remove(path);
                self.nodes.get_mut(&parent).unwrap().pzxid = zxid;
                Ok(Response::Delete)
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                self.session_ok(s, false)?;
                let n = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
                let v = Self::version_ok(n.version, *version)?;
                let n = self.nodes.get_mut(path).unwrap();
                n.version = v;
                n.data = data.clone();
                n.mzxid = zxid;
                n.mtime = time;
                Ok(Response::SetData {
                    stat: self.stat(path),
                })
            }
            Request::Check { path, version } => {
                self.session_ok(s, false)?;
                let n = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
                Self::version_ok(n.version, *version)?;
                Ok(Response::Check)
            }
            Request::Multi(ops) => {
                let mut scratch = self.clone();
                let mut results = Vec::new();
                let mut failed = None;
                for (i, op) in ops.iter().enumerate() {
                    match scratch.write(s, op, zxid, time) {
                        Ok(r) => results.push(OpResult::Ok(r)),
                        Err(e) => {
                            failed = Some((i, e));
                            break;
                        }
                    }
                }
                match failed {
                    None => {
                        *self = scratch;
                        Ok(Response::Multi(results))
                    }
                    Some((at, e)) => Ok(Response::Multi(
                        (0..ops.len())
                            .map(|i| match i.cmp(&at) {
                                std::cmp::Ordering::Less => OpResult::RolledBack,
                                std::cmp::Ordering::Equal => OpResult::Err(e),
                                std::cmp::Ordering::Greater => {
                                    OpResult::Err(ErrorCode::RuntimeInconsistency)
                                }
                            })
                            .collect(),
                    )),
                }
            }
            Request::CloseSession => {
                let doomed: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.owner == s)
                    .map(|(p, _)| p.clone())
                    .collect();
                for p in doomed {
                    self.nodes.remove(&p);
                    self.nodes.get_mut(&parent_of(&p)).unwrap().pzxid = zxid;
                }
                self.sessions.remove(&s);
                Ok(Response::Empty)
            }
            other => panic!("not generated: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the real tree.

struct Leader {
    tree: DataTree,
    prep: Preparer,
    zxid: Zxid,
    time: Millis,
    log: Vec<Txn>,
}

impl Leader {
    fn new() -> Leader {
        Leader {
            tree: DataTree::new(),
            prep: Preparer::new(),
            zxid: Zxid::new(Epoch(1), 0),
            time: Millis(5_000),
            log: Vec::new(),
        }
    }

    fn next(&mut self) -> (Zxid, Millis) {
        self.zxid = self.zxid.next_in_epoch().unwrap();
        self.time = self.time + 7;
        (self.zxid, self.time)
    }

    fn prepare(&mut self, op: &Op) -> Txn {
        let (zxid, time) = self.next();
        match op {
            Op::Write(s, r) => self
                .prep
                .prepare(&self.tree, SESSIONS[*s], &[], 1, r, zxid, time),
            Op::Open(s) => self
                .prep
                .prepare_create_session(SESSIONS[*s], 10_000, zxid, time),
        }
    }

    fn apply(&mut self, txn: &Txn) -> Result<Response, ErrorCode> {
        let applied = self.tree.apply(txn);
        self.prep.committed(txn.zxid());
        self.log.push(txn.clone());
        applied.result
    }
}

fn model_step(model: &mut Model, op: &Op, zxid: Zxid, time: Millis) -> Result<Response, ErrorCode> {
    match op {
        Op::Write(s, r) => model.write(SESSIONS[*s].0, r, zxid.0, time.0 as i64),
        Op::Open(s) => {
            model.sessions.insert(SESSIONS[*s].0);
            Ok(Response::Empty)
        }
    }
}

/// Every node of the model, and no other, exists in the tree with the same data, Stat and
/// children.
fn same_state(tree: &mut DataTree, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(tree.node_count(), model.nodes.len());
    for p in model.nodes.keys() {
        let got = tree.read(
            ConnId(1),
            &[],
            &Request::GetData {
                path: p.clone(),
                watch: false,
            },
        );
        let want = Response::GetData {
            data: model.nodes[p].data.clone(),
            stat: model.stat(p),
        };
        prop_assert_eq!(got, Ok(want), "node {}", p);
        let kids = tree.read(
            ConnId(1),
            &[],
            &Request::GetChildren {
                path: p.clone(),
                watch: false,
                with_stat: false,
            },
        );
        prop_assert_eq!(
            kids,
            Ok(Response::GetChildren {
                children: model.children(p),
                stat: None
            }),
            "children of {}",
            p
        );
    }
    for s in SESSIONS {
        prop_assert_eq!(
            tree.session_timeout(s).is_some(),
            model.sessions.contains(&s.0)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// One write at a time: prepare, apply, commit.
    #[test]
    fn tree_matches_reference_model(ops in prop::collection::vec(op(true), 1..40)) {
        let mut leader = Leader::new();
        let mut model = Model::new();
        for op in &ops {
            let txn = leader.prepare(op);
            let want = model_step(&mut model, op, txn.zxid(), txn.header.time);
            let got = leader.apply(&txn);
            prop_assert_eq!(got, want, "op {:?}", op);
            same_state(&mut leader.tree, &model)?;
        }
    }

    /// Several writes in flight: each prepared against the outstanding ones, applied later.
    /// Results must be those of doing them one by one.
    #[test]
    fn pipelined_writes_match_the_model(ops in prop::collection::vec(op(false), 1..40), depth in 1usize..6) {
        run_pipelined(&ops, depth)?;
    }

    /// Replicas applying the same log agree bit for bit; a snapshot restores to the same tree,
    /// which then keeps agreeing as the log goes on.
    #[test]
    fn replicas_and_snapshots_agree(ops in prop::collection::vec(op(true), 1..60), cut in 0usize..60) {
        let mut leader = Leader::new();
        for op in &ops {
            let txn = leader.prepare(op);
            let _ = leader.apply(&txn);
        }
        let mut follower = DataTree::new();
        let mut restored: Option<DataTree> = None;
        let cut = cut.min(leader.log.len());
        for (i, txn) in leader.log.iter().enumerate() {
            if i == cut {
                let bytes = follower.snapshot();
                let back = DataTree::restore(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back.digest(), follower.digest());
                prop_assert_eq!(back.snapshot(), bytes);
                restored = Some(back);
            }
            let a = follower.apply(txn);
            if let Some(r) = restored.as_mut() {
                prop_assert_eq!(r.apply(txn).result, a.result);
            }
        }
        prop_assert_eq!(follower.digest(), leader.tree.digest());
        prop_assert_eq!(follower.snapshot(), leader.tree.snapshot());
        prop_assert_eq!(follower.last_applied(), leader.tree.last_applied());
        if let Some(r) = restored {
            prop_assert_eq!(r.digest(), leader.tree.digest());
        }
    }
}

fn run_pipelined(ops: &[Op], depth: usize) -> Result<(), TestCaseError> {
    let mut leader = Leader::new();
    let mut model = Model::new();
    for batch in ops.chunks(depth) {
        let txns: Vec<Txn> = batch.iter().map(|op| leader.prepare(op)).collect();
        for (op, txn) in batch.iter().zip(&txns) {
            let want = model_step(&mut model, op, txn.zxid(), txn.header.time);
            let got = leader.apply(txn);
            prop_assert_eq!(got, want, "op {:?}", op);
        }
        prop_assert_eq!(leader.prep.outstanding(), 0);
        same_state(&mut leader.tree, &model)?;
    }
    Ok(())
}

fn w(s: usize, r: Request) -> Op {
    Op::Write(s, r)
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

/// Sequences random generation reaches rarely, pipelined as deep as they are long.
#[test]
fn pipelined_edge_sequences_match_the_model() {
    let del = |p: &str| Request::Delete {
        path: p.into(),
        version: -1,
    };
    let set = |p: &str, v| Request::SetData {
        path: p.into(),
        data: vec![1],
        version: v,
    };
    let cases: Vec<Vec<Op>> = vec![
        // Delete a child then its parent, both in flight.
        vec![
            Op::Open(0),
            w(0, create("/a", CreateMode::Persistent)),
            w(0, create("/a/x", CreateMode::Persistent)),
            w(0, del("/a/x")),
            w(0, del("/a")),
        ],
        // Create a parent and a sequential child in flight, twice.
        vec![
            Op::Open(0),
            w(0, create("/a", CreateMode::Persistent)),
            w(0, create("/a/x", CreateMode::PersistentSequential)),
            w(0, create("/a/x", CreateMode::PersistentSequential)),
        ],
        // Versioned setData chains, one stale.
        vec![
            Op::Open(1),
            w(1, create("/b", CreateMode::Persistent)),
            w(1, set("/b", 0)),
            w(1, set("/b", 1)),
            w(1, set("/b", 1)),
        ],
        // An ephemeral parent created in flight refuses a child.
        vec![
            Op::Open(0),
            w(0, create("/e", CreateMode::Ephemeral)),
            w(0, create("/e/x", CreateMode::Persistent)),
        ],
        // A failed multi in flight leaves no trace for the next op.
        vec![
            Op::Open(0),
            w(0, create("/a", CreateMode::Persistent)),
            w(
                0,
                Request::Multi(vec![
                    create("/a/x", CreateMode::PersistentSequential),
                    del("/nope"),
                ]),
            ),
            w(0, create("/a/x", CreateMode::PersistentSequential)),
        ],
        // A session opened in flight can write at once.
        vec![Op::Open(1), w(1, create("/s", CreateMode::Ephemeral))],
    ];
    for ops in cases {
        run_pipelined(&ops, ops.len()).unwrap_or_else(|e| panic!("{ops:?}: {e}"));
    }
}
