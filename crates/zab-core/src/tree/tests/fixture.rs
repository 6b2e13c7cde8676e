//! A one-server harness: prepare, apply and commit each write at once, with a clock.

use crate::error::ErrorCode;
use crate::ids::{Epoch, Millis, SessionId, Zxid};
use crate::peer::ConnId;
use crate::request::{Acl, CreateMode, Id, Request, Response, Stat, WatchEvent};
use crate::tree::{Applied, DataTree, Preparer};
use crate::txn::Txn;

pub const S1: SessionId = SessionId(0x100);
pub const S2: SessionId = SessionId(0x200);
pub const C1: ConnId = ConnId(1);
pub const C2: ConnId = ConnId(2);

pub struct Fixture {
    pub tree: DataTree,
    pub prep: Preparer,
    pub zxid: Zxid,
    pub time: Millis,
    pub auth: Vec<Id>,
    pub session: SessionId,
}

impl Fixture {
    /// A tree with sessions S1 and S2 open; writes go as S1 with no auth.
    pub fn new() -> Fixture {
        Fixture::with_preparer(Preparer::new())
    }

    pub fn with_preparer(prep: Preparer) -> Fixture {
        let mut f = Fixture {
            tree: DataTree::new(),
            prep,
            zxid: Zxid::new(Epoch(1), 0),
            time: Millis(1_000_000),
            auth: Vec::new(),
            session: S1,
        };
        f.open_session(S1, 30_000);
        f.open_session(S2, 30_000);
        f
    }

    pub fn next_zxid(&mut self) -> Zxid {
        self.zxid = self.zxid.next_in_epoch().expect("counter");
        self.time = self.time + 10;
        self.zxid
    }

    pub fn open_session(&mut self, s: SessionId, timeout: i32) -> Applied {
        let zxid = self.next_zxid();
        let txn = self
            .prep
            .prepare_create_session(s, timeout, zxid, self.time);
        self.commit(&txn)
    }

    pub fn commit(&mut self, txn: &Txn) -> Applied {
        let applied = self.tree.apply(txn);
        self.prep.committed(txn.zxid());
        applied
    }

    /// Prepare only (the write stays outstanding).
    pub fn prepare(&mut self, request: &Request) -> Txn {
        let zxid = self.next_zxid();
        let auth = self.auth.clone();
        self.prep
            .prepare(&self.tree, self.session, &auth, 7, request, zxid, self.time)
    }

    pub fn write(&mut self, request: &Request) -> Applied {
        let txn = self.prepare(request);
        assert_eq!(txn.zxid(), self.zxid, "every write gets the next zxid");
        self.commit(&txn)
    }

    pub fn ok(&mut self, request: &Request) -> Response {
        match self.write(request).result {
            Ok(r) => r,
            Err(e) => panic!("{request:?} failed with {e}"),
        }
    }

    pub fn err(&mut self, request: &Request) -> ErrorCode {
        match self.write(request).result {
            Ok(r) => panic!("{request:?} succeeded with {r:?}"),
            Err(e) => e,
        }
    }

    pub fn read(&mut self, conn: ConnId, request: &Request) -> Result<Response, ErrorCode> {
        let auth = self.auth.clone();
        self.tree
            .read_in_session(conn, Some(self.session), &auth, request)
    }

    pub fn stat(&mut self, path: &str) -> Stat {
        match self.read(ConnId(999), &exists(path, false)) {
            Ok(Response::Exists { stat }) => stat,
            other => panic!("exists {path}: {other:?}"),
        }
    }

    pub fn data(&mut self, path: &str) -> Vec<u8> {
        match self.read(ConnId(999), &get_data(path, false)) {
            Ok(Response::GetData { data, .. }) => data,
            other => panic!("getData {path}: {other:?}"),
        }
    }

    pub fn children(&mut self, path: &str) -> Vec<String> {
        match self.read(ConnId(999), &get_children(path, false)) {
            Ok(Response::GetChildren { children, .. }) => children,
            other => panic!("getChildren {path}: {other:?}"),
        }
    }

    /// Write and return the events it fired.
    pub fn events(&mut self, request: &Request) -> Vec<(ConnId, WatchEvent)> {
        self.write(request).watches
    }
}

pub fn create(path: &str, data: &[u8]) -> Request {
    create_mode(path, data, CreateMode::Persistent)
}

pub fn create_mode(path: &str, data: &[u8], mode: CreateMode) -> Request {
    Request::Create {
        path: path.to_string(),
        data: data.to_vec(),
        acl: Acl::open_unsafe(),
        mode,
        ttl: None,
        with_stat: false,
    }
}

pub fn create_acl(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create {
        path: path.to_string(),
        data: Vec::new(),
        acl,
        mode: CreateMode::Persistent,
        ttl: None,
        with_stat: false,
    }
}

pub fn create2(path: &str, data: &[u8]) -> Request {
    Request::Create {
        path: path.to_string(),
        data: data.to_vec(),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl: None,
        with_stat: true,
    }
}

pub fn delete(path: &str, version: i32) -> Request {
    Request::Delete {
        path: path.to_string(),
        version,
    }
}

pub fn set_data(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData {
        path: path.to_string(),
        data: data.to_vec(),
        version,
    }
}

pub fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl {
        path: path.to_string(),
        acl,
        version,
    }
}

pub fn check(path: &str, version: i32) -> Request {
    Request::Check {
        path: path.to_string(),
        version,
    }
}

pub fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.to_string(),
        watch,
    }
}

pub fn exists(path: &str, watch: bool) -> Request {
    Request::Exists {
        path: path.to_string(),
        watch,
    }
}

pub fn get_children(path: &str, watch: bool) -> Request {
    Request::GetChildren {
        path: path.to_string(),
        watch,
        with_stat: false,
    }
}
