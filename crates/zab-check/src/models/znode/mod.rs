//! The znode tree as a linearizability model for ZooKeeper's writes.
//!
//! ZooKeeper promises linearizable *writes* only (reads may be stale and are checked by the
//! session guarantees instead), so the model's ops are creates, deletes, setData, setACL,
//! check, multi and closeSession — plus session expiries, which the leader performs on a
//! session's behalf. Each write's observed outcome (result or error code, and for answered
//! writes the zxid) must be what the tree would have produced in some real-time-consistent
//! order; with `zxid_order`, answered writes must also take effect in zxid order, which is
//! how ZooKeeper orders them.

mod partition;
mod state;

pub use state::{
    failed_multi_matches, parent_of, result_matches, session_gone_matches, stat_matches,
    Prediction, ZNode, ZState,
};

use crate::lin::{Model, Operation};
use std::collections::BTreeSet;
use zab_core::error::ErrorCode;
use zab_core::ids::{SessionId, Zxid};
use zab_core::request::{Request, Response};

/// A write as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZInput {
    pub session: SessionId,
    pub request: Request,
}

/// A write's definite outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZOutput {
    pub result: Result<Response, ErrorCode>,
    /// The write's zxid when the server answered it successfully.
    pub zxid: Option<Zxid>,
}

/// The state of one part of the search: the tree view plus the last answered zxid taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZModelState {
    pub tree: ZState,
    pub last_zxid: Zxid,
}

/// Error codes that depend on the request or the session's credentials rather than on the
/// order of writes; the model accepts them as "no effect" (see `state`'s module doc).
pub fn is_order_independent_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NoAuth
            | ErrorCode::InvalidAcl
            | ErrorCode::BadArguments
            | ErrorCode::AuthFailed
            | ErrorCode::SessionMoved
            | ErrorCode::Unimplemented
            | ErrorCode::MarshallingError
            | ErrorCode::QuotaExceeded
            | ErrorCode::ThrottledOp
    )
}

/// Error codes that mean "no answer": the write may or may not have taken effect.
pub fn is_indeterminate_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ConnectionLoss
            | ErrorCode::OperationTimeout
            | ErrorCode::RequestTimeout
            | ErrorCode::SessionExpired
            | ErrorCode::SystemError
    )
}

/// The model, prepared for one history (the quiet parents are a property of the whole
/// history, see `partition`).
#[derive(Clone, Debug)]
pub struct ZnodeModel {
    /// Answered writes take effect in zxid order (ZooKeeper's reply zxid for a write is the
    /// zxid of its transaction).
    pub zxid_order: bool,
    quiet: BTreeSet<String>,
}

impl ZnodeModel {
    /// The model for checking `ops`.
    pub fn for_history(ops: &[Operation<ZInput, ZOutput>], zxid_order: bool) -> ZnodeModel {
        ZnodeModel {
            zxid_order,
            quiet: partition::quiet_parents(ops),
        }
    }
}

impl Model for ZnodeModel {
    type State = ZModelState;
    type Input = ZInput;
    type Output = ZOutput;

    fn init(&self) -> ZModelState {
        ZModelState {
            tree: ZState::default(),
            last_zxid: Zxid::ZERO,
        }
    }

    fn init_for(&self, ops: &[&Operation<ZInput, ZOutput>]) -> ZModelState {
        ZModelState {
            tree: partition::initial_tree(ops, &self.quiet),
            last_zxid: Zxid::ZERO,
        }
    }

    fn step(
        &self,
        state: &ZModelState,
        input: &ZInput,
        output: Option<&ZOutput>,
    ) -> Option<ZModelState> {
        if let Some(ZOutput {
            result: Err(code), ..
        }) = output
        {
            if is_order_independent_error(*code) {
                return Some(state.clone());
            }
        }
        let mut next = state.clone();
        let predicted = next.tree.predict(input.session, &input.request);
        let Some(output) = output else {
            return Some(next);
        };
        if !predicted.matches(&output.result) {
            return None;
        }
        if let (true, Some(zxid), Ok(_)) = (self.zxid_order, output.zxid, &output.result) {
            if zxid <= state.last_zxid {
                return None;
            }
            next.last_zxid = zxid;
        }
        Some(next)
    }

    fn partition(&self, ops: &[Operation<ZInput, ZOutput>]) -> Vec<Vec<usize>> {
        partition::split(ops, &self.quiet)
    }

    fn describe(&self, input: &ZInput, output: Option<&ZOutput>) -> String {
        let request = describe_request(&input.request);
        match output {
            None => format!("{request} -> ?"),
            Some(ZOutput {
                result: Ok(r),
                zxid,
            }) => format!(
                "{request} -> {}{}",
                describe_response(r),
                zxid.map(|z| format!(" @{z}")).unwrap_or_default()
            ),
            Some(ZOutput { result: Err(e), .. }) => format!("{request} -> {e:?}"),
        }
    }
}

/// A compact form of a request for reports.
pub fn describe_request(request: &Request) -> String {
    match request {
        Request::Create {
            path, data, mode, ..
        } => {
            format!(
                "create({path}, {:?}, {mode:?})",
                String::from_utf8_lossy(data)
            )
        }
        Request::Delete { path, version } => format!("delete({path}, v{version})"),
        Request::SetData {
            path,
            data,
            version,
        } => {
            format!(
                "setData({path}, {:?}, v{version})",
                String::from_utf8_lossy(data)
            )
        }
        Request::GetData { path, .. } => format!("getData({path})"),
        Request::Exists { path, .. } => format!("exists({path})"),
        Request::GetChildren { path, .. } => format!("getChildren({path})"),
        Request::SetAcl { path, version, .. } => format!("setACL({path}, v{version})"),
        Request::Check { path, version } => format!("check({path}, v{version})"),
        Request::Multi(ops) => format!(
            "multi[{}]",
            ops.iter()
                .map(describe_request)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Request::Sync { path } => format!("sync({path})"),
        Request::CloseSession => "closeSession".into(),
        other => format!("{other:?}"),
    }
}

fn describe_response(response: &Response) -> String {
    match response {
        Response::Create { path, .. } => format!("created {path}"),
        Response::SetData { stat } => format!("ok v{}", stat.version),
        Response::GetData { data, stat } => {
            format!("{:?} v{}", String::from_utf8_lossy(data), stat.version)
        }
        Response::Multi(results) => format!("multi ok ({} results)", results.len()),
        Response::Empty | Response::Delete | Response::Check => "ok".into(),
        other => format!("{other:?}"),
    }
}
