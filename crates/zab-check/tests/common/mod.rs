//! What the hand-made history tests share: a history builder, request and outcome makers,
//! and a small correct run to break in each test.

#![allow(dead_code, clippy::new_without_default)]

use zab_check::history::{ClientOp, FinalState, Outcome, ServerRecord};
use zab_check::{check_history, CheckOptions, History};
use zab_core::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use zab_core::peer::ServerEvent;
use zab_core::request::{Acl, CreateMode, Request, Response, Stat};

pub fn z(counter: u32) -> Zxid {
    Zxid::new(Epoch(1), counter)
}

/// A history under construction.
pub struct Builder {
    pub history: History,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            history: History {
                version: zab_check::history::HISTORY_FORMAT_VERSION,
                ..History::default()
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn op(
        &mut self,
        client: u64,
        server: u64,
        invoke: u64,
        complete: u64,
        request: Request,
        outcome: Outcome,
    ) -> u64 {
        let id = self.history.ops.len() as u64;
        self.history.ops.push(ClientOp {
            id,
            client,
            session: SessionId(100 + client as i64),
            server: Some(ServerId(server)),
            invoke: Millis(invoke),
            complete: Some(Millis(complete)),
            request,
            outcome,
            watch_events: Vec::new(),
        });
        id
    }

    pub fn event(&mut self, at: u64, server: u64, event: ServerEvent) {
        self.history.server_events.push(ServerRecord {
            at: Millis(at),
            server: ServerId(server),
            event,
        });
    }

    /// Every server commits every zxid in `zxids`; one leader for epoch 1; equal final states.
    pub fn healthy_servers(&mut self, zxids: &[Zxid]) {
        self.event(0, 1, ServerEvent::LeaderEstablished { epoch: Epoch(1) });
        for (i, zxid) in zxids.iter().enumerate() {
            for server in 1..=3 {
                self.event(
                    i as u64,
                    server,
                    ServerEvent::Committed {
                        zxid: *zxid,
                        txn_hash: zxid.0 * 7,
                    },
                );
            }
        }
        for server in 1..=3 {
            self.history.final_states.push(FinalState {
                server: ServerId(server),
                alive: true,
                last_applied: zxids.last().copied().unwrap_or_default(),
                digest: 42,
            });
        }
    }

    pub fn check(&self) -> zab_check::Report {
        check_history(&self.history, &CheckOptions::default()).expect("valid history")
    }
}

pub fn create(path: &str, data: &str, mode: CreateMode) -> Request {
    Request::Create {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        acl: Acl::open_unsafe(),
        mode,
        ttl: None,
        with_stat: false,
    }
}

pub fn created(path: &str, zxid: Zxid) -> Outcome {
    Outcome::Ok {
        response: Response::Create {
            path: path.into(),
            stat: None,
        },
        zxid,
    }
}

pub fn set(path: &str, data: &str, version: i32) -> Request {
    Request::SetData {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        version,
    }
}

pub fn stat(version: i32, czxid: Zxid, mzxid: Zxid, data_len: usize) -> Stat {
    Stat {
        czxid,
        mzxid,
        version,
        data_length: data_len as i32,
        ..Stat::default()
    }
}

pub fn set_ok(version: i32, czxid: Zxid, zxid: Zxid, data_len: usize) -> Outcome {
    Outcome::Ok {
        response: Response::SetData {
            stat: stat(version, czxid, zxid, data_len),
        },
        zxid,
    }
}

pub fn get(path: &str) -> Request {
    Request::GetData {
        path: path.into(),
        watch: false,
    }
}

pub fn got(data: &str, version: i32, czxid: Zxid, mzxid: Zxid, at: Zxid) -> Outcome {
    Outcome::Ok {
        response: Response::GetData {
            data: data.as_bytes().to_vec(),
            stat: stat(version, czxid, mzxid, data.len()),
        },
        zxid: at,
    }
}

/// A small correct run: a key is created, set twice by two clients, read by a third.
pub fn correct_run() -> Builder {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/k", "a", CreateMode::Persistent),
        created("/k", z(1)),
    );
    b.op(1, 1, 10, 15, set("/k", "b", 0), set_ok(1, z(1), z(2), 1));
    b.op(2, 2, 12, 20, set("/k", "c", -1), set_ok(2, z(1), z(3), 1));
    b.op(3, 3, 8, 9, get("/k"), got("a", 0, z(1), z(1), z(1)));
    b.op(3, 3, 21, 22, get("/k"), got("c", 2, z(1), z(3), z(3)));
    b.healthy_servers(&[z(1), z(2), z(3)]);
    b
}
