//! What a simulated application does with its session: registers (read, write, compare-and-set,
//! multi), a queue of sequential nodes, an ephemeral-sequential lock, watches and syncs — in
//! the proportions of the scenario's `mix`, over `keys` top-level registers.

use crate::prng::Prng;
use crate::scenario::WorkloadSpec;
use std::collections::BTreeMap;
use zab_core::error::ErrorCode;
use zab_core::request::{Acl, CreateMode, Request, Response};

const QUEUE: &str = "/queue";
const LOCKS: &str = "/locks";

/// One client's application state.
pub struct Workload {
    client: u64,
    keys: u32,
    weights: [u64; 8],
    watch: f64,
    /// Known registers: `Some(version)` or `None` when it exists with an unknown version.
    versions: BTreeMap<String, Option<i32>>,
    lock_held: Option<String>,
    dequeue: Option<String>,
    queue_parent: bool,
    lock_parent: bool,
    counter: u64,
}

fn create(path: &str, data: Vec<u8>, mode: CreateMode) -> Request {
    Request::Create {
        path: path.to_string(),
        data,
        acl: Acl::open_unsafe(),
        mode,
        ttl: None,
        with_stat: false,
    }
}

impl Workload {
    pub fn new(client: u64, spec: &WorkloadSpec) -> Workload {
        Workload {
            client,
            keys: spec.keys.max(1),
            weights: spec.mix.weights(),
            watch: spec.watch,
            versions: BTreeMap::new(),
            lock_held: None,
            dequeue: None,
            queue_parent: false,
            lock_parent: false,
            counter: 0,
        }
    }

    fn key(&self, prng: &mut Prng) -> String {
        format!("/k{}", prng.below(self.keys as u64))
    }

    /// A value no other write in the run uses, so the checker can tell writes apart.
    fn value(&mut self) -> Vec<u8> {
        self.counter += 1;
        format!("c{}-{}", self.client, self.counter).into_bytes()
    }

    pub fn next_request(&mut self, prng: &mut Prng) -> Request {
        let kind = prng.weighted(&self.weights).unwrap_or(0);
        match kind {
            0 => Request::GetData {
                path: self.key(prng),
                watch: prng.chance(self.watch),
            },
            1 => {
                let path = self.key(prng);
                let data = self.value();
                if self.versions.contains_key(&path) {
                    Request::SetData {
                        path,
                        data,
                        version: -1,
                    }
                } else {
                    create(&path, data, CreateMode::Persistent)
                }
            }
            2 => {
                let path = self.key(prng);
                match self.versions.get(&path) {
                    Some(Some(version)) => Request::SetData {
                        version: *version,
                        data: self.value(),
                        path,
                    },
                    _ => Request::GetData { path, watch: false },
                }
            }
            3 => {
                if let Some(path) = self.dequeue.clone() {
                    Request::Delete { path, version: -1 }
                } else if !self.queue_parent {
                    create(QUEUE, Vec::new(), CreateMode::Persistent)
                } else if prng.chance(0.3) {
                    // Enqueue less often than the two-step dequeue (list, delete the head) runs,
                    // so the queue stays short, as a healthy consumer keeps it.
                    let data = self.value();
                    create(
                        &format!("{QUEUE}/item-"),
                        data,
                        CreateMode::PersistentSequential,
                    )
                } else {
                    Request::GetChildren {
                        path: QUEUE.to_string(),
                        watch: prng.chance(self.watch),
                        with_stat: false,
                    }
                }
            }
            4 => {
                if let Some(path) = self.lock_held.clone() {
                    Request::Delete { path, version: -1 }
                } else if !self.lock_parent {
                    create(LOCKS, Vec::new(), CreateMode::Persistent)
                } else {
                    let data = self.value();
                    create(
                        &format!("{LOCKS}/lock-"),
                        data,
                        CreateMode::EphemeralSequential,
                    )
                }
            }
            5 => {
                let a = self.key(prng);
                let b = self.key(prng);
                let mut ops = Vec::new();
                if let Some(Some(v)) = self.versions.get(&a) {
                    ops.push(Request::Check {
                        path: a.clone(),
                        version: *v,
                    });
                }
                ops.push(Request::SetData {
                    path: a,
                    data: self.value(),
                    version: -1,
                });
                ops.push(Request::SetData {
                    path: b,
                    data: self.value(),
                    version: -1,
                });
                Request::Multi(ops)
            }
            6 => Request::Exists {
                path: self.key(prng),
                watch: true,
            },
            _ => Request::Sync {
                path: "/".to_string(),
            },
        }
    }

    /// Learn from a definite answer.
    pub fn completed(&mut self, request: &Request, result: &Result<Response, ErrorCode>) {
        match (request, result) {
            (Request::GetData { path, .. }, Ok(Response::GetData { stat, .. })) => {
                self.versions.insert(path.clone(), Some(stat.version));
            }
            (Request::SetData { path, .. }, Ok(Response::SetData { stat })) => {
                self.versions.insert(path.clone(), Some(stat.version));
            }
            (Request::Create { path, mode, .. }, Ok(Response::Create { path: made, .. })) => {
                if path == QUEUE {
                    self.queue_parent = true;
                } else if path == LOCKS {
                    self.lock_parent = true;
                } else if mode.is_ephemeral() {
                    self.lock_held = Some(made.clone());
                } else if !mode.is_sequential() {
                    self.versions.insert(path.clone(), Some(0));
                }
            }
            (Request::Create { path, .. }, Err(ErrorCode::NodeExists)) => {
                if path == QUEUE {
                    self.queue_parent = true;
                } else if path == LOCKS {
                    self.lock_parent = true;
                } else {
                    self.versions.insert(path.clone(), None);
                }
            }
            (Request::Create { path, .. }, Err(ErrorCode::NoNode)) => {
                if path.starts_with(QUEUE) {
                    self.queue_parent = false;
                } else if path.starts_with(LOCKS) {
                    self.lock_parent = false;
                }
            }
            (Request::GetChildren { path, .. }, Ok(Response::GetChildren { children, .. }))
                if path == QUEUE =>
            {
                self.dequeue = children.iter().min().map(|c| format!("{QUEUE}/{c}"));
            }
            (Request::Delete { path, .. }, _) => {
                if self.dequeue.as_deref() == Some(path.as_str()) {
                    self.dequeue = None;
                }
                if self.lock_held.as_deref() == Some(path.as_str()) {
                    self.lock_held = None;
                }
            }
            (
                Request::GetData { path, .. } | Request::SetData { path, .. },
                Err(ErrorCode::NoNode),
            ) => {
                self.versions.remove(path);
            }
            (Request::SetData { path, .. }, Err(ErrorCode::BadVersion)) => {
                self.versions.insert(path.clone(), None);
            }
            (Request::Multi(ops), _) => {
                for op in ops {
                    if let Request::SetData { path, .. } = op {
                        self.versions.insert(path.clone(), None);
                    }
                }
            }
            _ => {}
        }
    }

    /// The outcome is unknown: forget what it may have changed.
    pub fn unknown(&mut self, request: &Request) {
        match request {
            Request::SetData { path, .. } | Request::Create { path, .. } => {
                if self.versions.contains_key(path) {
                    self.versions.insert(path.clone(), None);
                }
                if path.starts_with(LOCKS) && path != LOCKS {
                    // The lock node may exist; a real recipe would look for it by session.
                    self.lock_held = None;
                }
            }
            Request::Delete { path, .. } => {
                if self.dequeue.as_deref() == Some(path.as_str()) {
                    self.dequeue = None;
                }
                if self.lock_held.as_deref() == Some(path.as_str()) {
                    self.lock_held = None;
                }
            }
            Request::Multi(ops) => {
                for op in ops {
                    self.unknown(op);
                }
            }
            _ => {}
        }
    }

    /// The session expired: its ephemeral lock node is gone.
    pub fn session_lost(&mut self) {
        self.lock_held = None;
    }
}
