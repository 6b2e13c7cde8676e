//! The compact sequential specification of the znode tree's *writes*: exactly the part of
//! ZooKeeper's prepare + apply (`PrepRequestProcessor` + `DataTree.processTxn`) that decides a
//! write's outcome, over a small hashable state. It is proven equal to `zab_core`'s tree by a
//! property test (`tests/znode_model_vs_tree.rs`) once the tree exists; it is not a second
//! source of truth but a compact view of the first.
//!
//! What it leaves out, on purpose: zxids and times inside Stat (a linearization cannot know
//! the zxid an unknown write got), ACL permission checks and path validation (outcomes
//! NOAUTH / INVALIDACL / BADARGUMENTS are accepted as "no effect": they depend on the
//! request and the session's auth, not on the replicated order), container reaping and TTL
//! expiry (server-side, not client ops).

use std::collections::{BTreeMap, BTreeSet};
use zab_core::error::ErrorCode;
use zab_core::ids::SessionId;
use zab_core::request::{Acl, CreateMode, OpResult, Request, Response, Stat};

/// One znode, as far as write outcomes can observe it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZNode {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    pub version: i32,
    /// The persisted cversion: the number of child creates (ZooKeeper's `StatPersisted`);
    /// the sequential suffix is taken from it.
    pub cversion: i32,
    pub aversion: i32,
    /// The owning session of an ephemeral, `None` otherwise.
    pub owner: Option<SessionId>,
    pub children: i32,
}

impl ZNode {
    pub fn persistent() -> ZNode {
        ZNode {
            data: Vec::new(),
            acl: Acl::open_unsafe(),
            version: 0,
            cversion: 0,
            aversion: 0,
            owner: None,
            children: 0,
        }
    }

    /// The Stat fields a linearization can predict; zxids and times stay zero.
    pub fn stat(&self) -> Stat {
        Stat {
            version: self.version,
            // Clients see creates + deletes (`DataNode.copyStat`).
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(self.children),
            aversion: self.aversion,
            ephemeral_owner: self.owner.map(|s| s.0).unwrap_or(0),
            data_length: self.data.len() as i32,
            num_children: self.children,
            ..Stat::default()
        }
    }
}

/// The tree as the write model sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZState {
    pub nodes: BTreeMap<String, ZNode>,
    /// Sessions known to be closed: their writes fail with SESSIONEXPIRED.
    pub closed: BTreeSet<SessionId>,
}

impl Default for ZState {
    /// A fresh tree as ZooKeeper builds one: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config` (linked as children without touching cversion).
    fn default() -> ZState {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "/".to_string(),
            ZNode {
                children: 1,
                ..ZNode::persistent()
            },
        );
        nodes.insert(
            "/zookeeper".to_string(),
            ZNode {
                children: 2,
                ..ZNode::persistent()
            },
        );
        nodes.insert("/zookeeper/quota".to_string(), ZNode::persistent());
        nodes.insert(
            "/zookeeper/config".to_string(),
            ZNode {
                acl: Acl::read_unsafe(),
                aversion: -1,
                ..ZNode::persistent()
            },
        );
        ZState {
            nodes,
            closed: BTreeSet::new(),
        }
    }
}

/// The parent of a path ("/" for top-level nodes, `None` for the root).
pub fn parent_of(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

impl ZState {
    /// Apply one write as the leader would prepare it and every replica apply it: the result
    /// the client gets and the change (none on error).
    pub fn apply(&mut self, session: SessionId, request: &Request) -> Result<Response, ErrorCode> {
        self.predict(session, request).result
    }

    /// Like `apply`, with what is needed to judge an observed outcome.
    pub fn predict(&mut self, session: SessionId, request: &Request) -> Prediction {
        let plain = |result| Prediction {
            result,
            multi_failed_at: None,
            session_gone: false,
        };
        // Only create, delete, setData and check may go in a multi: anything else fails to
        // decode, before the session is even looked at.
        let allowed = |op: &Request| {
            matches!(
                op,
                Request::Create { .. }
                    | Request::Delete { .. }
                    | Request::SetData { .. }
                    | Request::Check { .. }
            )
        };
        if let Request::Multi(ops) = request {
            if !ops.iter().all(allowed) {
                return plain(Err(ErrorCode::MarshallingError));
            }
        }
        // Closing a closed session again is accepted and does nothing.
        if self.closed.contains(&session) && *request != Request::CloseSession {
            return Prediction {
                result: Err(ErrorCode::SessionExpired),
                multi_failed_at: None,
                session_gone: true,
            };
        }
        let Request::Multi(ops) = request else {
            return plain(self.apply_single(session, request));
        };
        let mut scratch = self.clone();
        let mut results = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            match scratch.apply_single(session, op) {
                Ok(response) => results.push(response),
                Err(code) => {
                    return Prediction {
                        result: Err(code),
                        multi_failed_at: Some(index),
                        session_gone: false,
                    }
                }
            }
        }
        *self = scratch;
        plain(Ok(Response::Multi(
            results.into_iter().map(OpResult::Ok).collect(),
        )))
    }

    fn apply_single(
        &mut self,
        session: SessionId,
        request: &Request,
    ) -> Result<Response, ErrorCode> {
        match request {
            Request::Create {
                path,
                data,
                acl,
                mode,
                with_stat,
                ..
            } => self.create(session, path, data, acl, *mode, *with_stat),
            Request::Delete { path, version } => self.delete(path, *version),
            Request::SetData {
                path,
                data,
                version,
            } => {
                let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
                check_version(node.version, *version)?;
                node.data = data.clone();
                node.version += 1;
                Ok(Response::SetData { stat: node.stat() })
            }
            Request::SetAcl { path, acl, version } => {
                let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
                check_version(node.aversion, *version)?;
                node.acl = acl.clone();
                node.aversion += 1;
                Ok(Response::SetAcl { stat: node.stat() })
            }
            Request::Check { path, version } => {
                let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
                check_version(node.version, *version)?;
                Ok(Response::Check)
            }
            Request::CloseSession => {
                let owned: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.owner == Some(session))
                    .map(|(p, _)| p.clone())
                    .collect();
                for path in owned {
                    self.remove(&path);
                }
                self.closed.insert(session);
                Ok(Response::Empty)
            }
            // Reads and session-local requests never reach the write model.
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn create(
        &mut self,
        session: SessionId,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        mode: CreateMode,
        with_stat: bool,
    ) -> Result<Response, ErrorCode> {
        let parent_path = parent_of(path).ok_or(ErrorCode::NodeExists)?;
        let parent = self.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
        if parent.owner.is_some() {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let final_path = if mode.is_sequential() {
            format!("{path}{:010}", parent.cversion)
        } else {
            path.to_string()
        };
        if self.nodes.contains_key(&final_path) {
            return Err(ErrorCode::NodeExists);
        }
        let node = ZNode {
            data: data.to_vec(),
            acl: acl.to_vec(),
            owner: mode.is_ephemeral().then_some(session),
            ..ZNode::persistent()
        };
        let stat = node.stat();
        self.nodes.insert(final_path.clone(), node);
        if let Some(parent) = self.nodes.get_mut(parent_path) {
            parent.cversion += 1;
            parent.children += 1;
        }
        Ok(Response::Create {
            path: final_path,
            stat: with_stat.then_some(stat),
        })
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<Response, ErrorCode> {
        let parent_path = parent_of(path).ok_or(ErrorCode::BadArguments)?;
        if !self.nodes.contains_key(parent_path) {
            return Err(ErrorCode::NoNode);
        }
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        check_version(node.version, version)?;
        if node.children > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.remove(path);
        Ok(Response::Delete)
    }

    fn remove(&mut self, path: &str) {
        debug_assert!(self.nodes.contains_key(path), "removing a node that exists");
        self.nodes.remove(path);
        if let Some(parent) = parent_of(path).and_then(|p| self.nodes.get_mut(p)) {
            // The persisted cversion counts creates only.
            parent.children -= 1;
        }
    }
}

/// `-1` matches any version.
fn check_version(actual: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ErrorCode::BadVersion)
    }
}

/// Do two Stats agree on what the model predicts (everything but zxids and times)?
pub fn stat_matches(predicted: &Stat, observed: &Stat) -> bool {
    predicted.version == observed.version
        && predicted.cversion == observed.cversion
        && predicted.aversion == observed.aversion
        && predicted.ephemeral_owner == observed.ephemeral_owner
        && predicted.data_length == observed.data_length
        && predicted.num_children == observed.num_children
}

/// Does an observed result agree with the predicted one?
pub fn result_matches(
    predicted: &Result<Response, ErrorCode>,
    observed: &Result<Response, ErrorCode>,
) -> bool {
    match (predicted, observed) {
        (Err(a), Err(b)) => a == b,
        (Ok(a), Ok(b)) => response_matches(a, b),
        _ => false,
    }
}

fn response_matches(predicted: &Response, observed: &Response) -> bool {
    match (predicted, observed) {
        (Response::Create { path: a, stat: sa }, Response::Create { path: b, stat: sb }) => {
            a == b
                && match (sa, sb) {
                    (Some(x), Some(y)) => stat_matches(x, y),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Response::SetData { stat: a }, Response::SetData { stat: b })
        | (Response::SetAcl { stat: a }, Response::SetAcl { stat: b }) => stat_matches(a, b),
        (Response::Multi(a), Response::Multi(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|pair| match pair {
                    (OpResult::Ok(x), OpResult::Ok(y)) => response_matches(x, y),
                    (OpResult::Err(x), OpResult::Err(y)) => x == y,
                    _ => false,
                })
        }
        (a, b) => a == b,
    }
}

/// What the model predicts for one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub result: Result<Response, ErrorCode>,
    /// For a failed multi: the index of the op that failed.
    pub multi_failed_at: Option<usize>,
    /// The session was already closed.
    pub session_gone: bool,
}

impl Prediction {
    /// Does an observed outcome agree with this prediction?
    pub fn matches(&self, observed: &Result<Response, ErrorCode>) -> bool {
        match (&self.result, self.multi_failed_at) {
            _ if self.session_gone => session_gone_matches(observed),
            (Err(code), Some(index)) => failed_multi_matches(index, *code, observed),
            (predicted, _) => result_matches(predicted, observed),
        }
    }
}

/// A closed session's request: the server no longer knows the session and answers
/// SESSIONEXPIRED or UNKNOWNSESSION (inside a multi's results, for a multi).
pub fn session_gone_matches(observed: &Result<Response, ErrorCode>) -> bool {
    let gone = |c: &ErrorCode| matches!(c, ErrorCode::SessionExpired | ErrorCode::UnknownSession);
    match observed {
        Err(c) => gone(c),
        Ok(Response::Multi(results)) => {
            !results.is_empty()
                && results
                    .iter()
                    .all(|r| matches!(r, OpResult::Err(c) if gone(c) || *c == ErrorCode::RuntimeInconsistency))
        }
        Ok(_) => false,
    }
}

/// A failed multi as ZooKeeper reports it: the ops before the failing one "rolled back"
/// (an OK error result), the failing one with its code, the rest RUNTIMEINCONSISTENCY — or
/// just the failing code when the recorder kept only that.
pub fn failed_multi_matches(
    index: usize,
    code: ErrorCode,
    observed: &Result<Response, ErrorCode>,
) -> bool {
    match observed {
        Err(c) => *c == code,
        Ok(Response::Multi(results)) => results.iter().enumerate().all(|(i, r)| {
            use std::cmp::Ordering::*;
            match i.cmp(&index) {
                Less => *r == OpResult::RolledBack,
                Equal => *r == OpResult::Err(code),
                Greater => *r == OpResult::Err(ErrorCode::RuntimeInconsistency),
            }
        }),
        Ok(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(path: &str, mode: CreateMode) -> Request {
        Request::Create {
            path: path.into(),
            data: b"d".to_vec(),
            acl: Acl::open_unsafe(),
            mode,
            ttl: None,
            with_stat: false,
        }
    }

    #[test]
    fn sequential_names_come_from_the_parent_cversion() {
        let mut s = ZState::default();
        let me = SessionId(7);
        s.apply(me, &create("/q", CreateMode::Persistent)).unwrap();
        let a = s.apply(me, &create("/q/item-", CreateMode::PersistentSequential));
        let b = s.apply(me, &create("/q/item-", CreateMode::PersistentSequential));
        assert_eq!(
            a,
            Ok(Response::Create {
                path: "/q/item-0000000000".into(),
                stat: None
            })
        );
        assert_eq!(
            b,
            Ok(Response::Create {
                path: "/q/item-0000000001".into(),
                stat: None
            })
        );
    }

    #[test]
    fn delete_checks_existence_version_then_children() {
        let mut s = ZState::default();
        let me = SessionId(1);
        assert_eq!(
            s.apply(
                me,
                &Request::Delete {
                    path: "/a".into(),
                    version: -1
                }
            ),
            Err(ErrorCode::NoNode)
        );
        s.apply(me, &create("/a", CreateMode::Persistent)).unwrap();
        s.apply(me, &create("/a/b", CreateMode::Persistent))
            .unwrap();
        assert_eq!(
            s.apply(
                me,
                &Request::Delete {
                    path: "/a".into(),
                    version: 3
                }
            ),
            Err(ErrorCode::BadVersion)
        );
        assert_eq!(
            s.apply(
                me,
                &Request::Delete {
                    path: "/a".into(),
                    version: 0
                }
            ),
            Err(ErrorCode::NotEmpty)
        );
    }

    #[test]
    fn failed_multi_leaves_no_trace() {
        let mut s = ZState::default();
        let me = SessionId(1);
        let before = s.clone();
        let multi = Request::Multi(vec![
            create("/x", CreateMode::Persistent),
            Request::SetData {
                path: "/missing".into(),
                data: vec![],
                version: -1,
            },
        ]);
        assert_eq!(s.apply(me, &multi), Err(ErrorCode::NoNode));
        assert_eq!(s, before);
    }

    #[test]
    fn close_session_removes_its_ephemerals_and_blocks_later_writes() {
        let mut s = ZState::default();
        let (me, other) = (SessionId(1), SessionId(2));
        s.apply(me, &create("/e", CreateMode::Ephemeral)).unwrap();
        s.apply(other, &create("/p", CreateMode::Persistent))
            .unwrap();
        assert_eq!(
            s.apply(me, &create("/e/child", CreateMode::Persistent)),
            Err(ErrorCode::NoChildrenForEphemerals)
        );
        s.apply(me, &Request::CloseSession).unwrap();
        assert!(!s.nodes.contains_key("/e"));
        assert!(s.nodes.contains_key("/p"));
        assert_eq!(s.nodes["/"].children, 2, "/zookeeper and /p");
        assert_eq!(
            s.apply(me, &create("/f", CreateMode::Persistent)),
            Err(ErrorCode::SessionExpired)
        );
    }
}
