//! Driving ZAB by hand on the simulator: a `Peer` wrapped so that a test sees everything it
//! took in and asked for ([`Recorder`]), a config tweak per test type ([`Tweak`]), and
//! hand-driven clients — their connects and requests go to a server through
//! `Sim::input_now` on connection ids no simulated connection uses, and the replies are read
//! back from the server's recorded outputs.

use super::*;
use std::marker::PhantomData;
use zab_core::error::ErrorCode;
use zab_core::peer::{
    ConnId, Input, Output, PeerMessage, Recovered, Role, ServerEvent, SyncMethod,
};
use zab_core::request::{Acl, ConnectRequest, CreateMode, Request, Response};
use zab_core::zab::packet::QuorumPacket;
use zab_core::{Config, Epoch, Millis, SessionId, Zxid};

/// A change to every server's `Config` before its process starts (the scenario has no field
/// for it), chosen by type so that `Process::start` needs no other context.
pub trait Tweak {
    fn tweak(_config: &mut Config) {}
}

/// No change.
pub struct Plain;
impl Tweak for Plain {}

/// Snapshot after every 3 logged transactions.
pub struct SnapEvery3;
impl Tweak for SnapEvery3 {
    fn tweak(config: &mut Config) {
        config.snap_count = 3;
    }
}

/// Keep only 2 committed proposals in memory, so older ones come from the log on disk.
pub struct CommitLogOf2;
impl Tweak for CommitLogOf2 {
    fn tweak(config: &mut Config) {
        config.commit_log_count = 2;
    }
}

/// One thing a process took in or asked for, with its own clock's time.
#[derive(Clone, Debug)]
pub enum Entry {
    In(Millis, Input),
    Out(Millis, Output),
}

/// A `Peer` that keeps a log of its inputs and outputs (one process lifetime: a restart
/// starts a new log).
pub struct Recorder<T: Tweak = Plain> {
    pub peer: Peer,
    pub log: Vec<Entry>,
    now: Millis,
    tweak: PhantomData<T>,
}

impl<T: Tweak> Process for Recorder<T> {
    fn start(mut config: Config, recovered: Recovered, now: Millis, seed: u64) -> Self {
        T::tweak(&mut config);
        Recorder {
            peer: Peer::new(config, recovered, now, seed),
            log: Vec::new(),
            now,
            tweak: PhantomData,
        }
    }

    fn handle(&mut self, now: Millis, input: Input) {
        self.now = now;
        self.log.push(Entry::In(now, input.clone()));
        self.peer.handle(now, input)
    }

    fn poll_output(&mut self) -> Option<Output> {
        let output = self.peer.poll_output()?;
        self.log.push(Entry::Out(self.now, output.clone()));
        Some(output)
    }

    fn applied_state(&self) -> Option<(Zxid, u64)> {
        self.peer.applied_state()
    }
}

impl<T: Tweak> HasPeer for Recorder<T> {
    fn peer(&self) -> &Peer {
        &self.peer
    }
}

pub type Hand<T = Plain> = Sim<Recorder<T>>;

/// `voters` voters and `observers` observers started at 0 with 100 ms ticks (so syncLimit is
/// half a second and sessions time out within 2 s), no simulated clients.
pub fn zab_ensemble(head: &str, voters: u64, observers: u64) -> Scenario {
    ensemble(head, voters, observers, "tick_time = \"100ms\"")
}

pub fn hand<T: Tweak>(head: &str, voters: u64, observers: u64, seed: u64) -> Hand<T> {
    sim_of(zab_ensemble(head, voters, observers), seed)
}

/// Every running server serves (a leader established its epoch, the learners synced).
pub fn serving<T: Tweak>(s: &Hand<T>) -> bool {
    let up = running(s);
    !up.is_empty() && up.iter().all(|p| peer(s, p.0).zab().is_serving())
}

pub fn run_until_serving<T: Tweak>(s: &mut Hand<T>, limit_ms: u64) {
    run_until_true(s, limit_ms, serving::<T>).expect("every running server serves");
}

/// A fresh ensemble, run until everybody serves; FLE picks the highest voter.
pub fn started<T: Tweak>(head: &str, voters: u64, observers: u64) -> Hand<T> {
    let mut s = hand(head, voters, observers, 1);
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, voters);
    s
}

/// The recorded log of server `n`'s current process.
pub fn log<T: Tweak>(s: &Hand<T>, n: u64) -> &[Entry] {
    &s.process(id(n))
        .unwrap_or_else(|| panic!("server {n} is not running"))
        .log
}

/// Hand-driven clients use connection ids far above any the simulator allocates.
pub const HAND_CONN_BASE: u64 = 1 << 40;

pub fn conn(n: u64) -> ConnId {
    ConnId(HAND_CONN_BASE + n)
}

fn input<T: Tweak>(s: &mut Hand<T>, server: u64, input: Input) {
    s.input_now(id(server), input)
        .unwrap_or_else(|e| panic!("input to server {server}: {e}"));
}

/// How long a hand-driven client waits for an answer (virtual time).
pub const ANSWER_MS: u64 = 2_000;

/// Connect a new client to `server` on connection `n`; its session once the server answers.
pub fn connect<T: Tweak>(s: &mut Hand<T>, server: u64, n: u64) -> Option<SessionId> {
    connect_with(s, server, n, SessionId(0), vec![], Zxid::ZERO)
}

/// Connect with an existing session (or 0 for a new one); `None` if refused or unanswered.
pub fn connect_with<T: Tweak>(
    s: &mut Hand<T>,
    server: u64,
    n: u64,
    session: SessionId,
    passwd: Vec<u8>,
    last_zxid_seen: Zxid,
) -> Option<SessionId> {
    let mark = log(s, server).len();
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen,
        timeout_ms: 4000,
        session,
        passwd,
        read_only: false,
    };
    input(
        s,
        server,
        Input::ClientConnect {
            conn: conn(n),
            request,
        },
    );
    let answer = |s: &Hand<T>| {
        s.process(id(server))?.log[mark..]
            .iter()
            .find_map(|e| match e {
                Entry::Out(_, Output::ClientConnected { conn: c, response }) if *c == conn(n) => {
                    Some(response.as_ref().map(|r| r.session).filter(|s| s.0 != 0))
                }
                _ => None,
            })
    };
    run_until_true(s, ANSWER_MS, |s| answer(s).is_some());
    answer(s).flatten()
}

/// Send a request on connection `n` and wait up to `limit_ms` for its reply.
pub fn request_within<T: Tweak>(
    s: &mut Hand<T>,
    server: u64,
    n: u64,
    xid: i32,
    request: Request,
    limit_ms: u64,
) -> Option<Result<Response, ErrorCode>> {
    let mark = log(s, server).len();
    input(
        s,
        server,
        Input::ClientRequest {
            conn: conn(n),
            xid,
            request,
        },
    );
    let reply = |s: &Hand<T>| reply_since(s, server, mark, n, xid);
    run_until_true(s, limit_ms, |s| reply(s).is_some());
    reply(s)
}

pub fn request<T: Tweak>(
    s: &mut Hand<T>,
    server: u64,
    n: u64,
    xid: i32,
    request: Request,
) -> Option<Result<Response, ErrorCode>> {
    request_within(s, server, n, xid, request, ANSWER_MS)
}

/// The reply to `xid` on connection `n` that `server`'s current process sent after `mark`.
pub fn reply_since<T: Tweak>(
    s: &Hand<T>,
    server: u64,
    mark: usize,
    n: u64,
    xid: i32,
) -> Option<Result<Response, ErrorCode>> {
    s.process(id(server))?
        .log
        .get(mark..)?
        .iter()
        .find_map(|e| match e {
            Entry::Out(
                _,
                Output::ClientReply {
                    conn: c,
                    xid: x,
                    result,
                    ..
                },
            ) if *c == conn(n) && *x == xid => Some(result.clone()),
            _ => None,
        })
}

pub fn ping<T: Tweak>(s: &mut Hand<T>, server: u64, n: u64) {
    input(s, server, Input::ClientPing { conn: conn(n) });
}

pub fn disconnect<T: Tweak>(s: &mut Hand<T>, server: u64, n: u64) {
    input(s, server, Input::ClientDisconnected { conn: conn(n) });
}

/// Quorum packets server `n`'s current process sent, in order, from log position `mark`.
pub fn sent_since<T: Tweak>(s: &Hand<T>, n: u64, mark: usize) -> Vec<(ServerId, QuorumPacket)> {
    log(s, n)[mark..]
        .iter()
        .filter_map(|e| match e {
            Entry::Out(
                _,
                Output::Send {
                    to,
                    msg: PeerMessage::Quorum(p),
                },
            ) => Some((*to, p.clone())),
            _ => None,
        })
        .collect()
}

pub fn sent<T: Tweak>(s: &Hand<T>, n: u64) -> Vec<(ServerId, QuorumPacket)> {
    sent_since(s, n, 0)
}

/// (server, last applied zxid, tree digest) of every running server.
pub fn digests<T: Tweak>(s: &Hand<T>) -> Vec<(ServerId, Zxid, u64)> {
    running(s)
        .into_iter()
        .map(|p| {
            let zab = peer(s, p.0).zab();
            (p, zab.last_processed(), zab.digest())
        })
        .collect()
}

pub fn assert_digests_agree<T: Tweak>(s: &Hand<T>) {
    let all = digests(s);
    let first = all[0];
    for d in &all {
        assert_eq!((d.1, d.2), (first.1, first.2), "replicas differ: {all:?}");
    }
}

/// Run until every running server has applied the same zxid with the same digest.
pub fn run_until_agreed<T: Tweak>(s: &mut Hand<T>, limit_ms: u64) {
    run_until_true(s, limit_ms, |s| {
        let all = digests(s);
        all.iter().all(|d| (d.1, d.2) == (all[0].1, all[0].2))
    })
    .unwrap_or_else(|| panic!("replicas never agreed: {:?}", digests(s)));
}

/// Cut `leader` off, have it log a proposal nobody else sees (a client write on a session of
/// connection `n` on it), wait until the proposal is durable on its disk and every other server
/// has given up on it, then crash it and heal. The lost zxid.
pub fn lose_a_tail_and_crash<T: Tweak>(s: &mut Hand<T>, leader: u64, n: u64) -> Zxid {
    assert!(connect(s, leader, n).is_some(), "a session on the leader");
    let before = peer(s, leader).last_logged_zxid();
    s.partition_now(&[&[id(leader)]]).unwrap();
    let lost = create(&format!("/lost{n}"), b"");
    assert_eq!(
        request_within(s, leader, n, 1, lost, 300),
        None,
        "no quorum, no answer"
    );
    let others: Vec<u64> = running(s)
        .iter()
        .map(|p| p.0)
        .filter(|p| *p != leader)
        .collect();
    run_until_true(s, 10_000, |s| {
        let tail = peer(s, leader).last_logged_zxid();
        tail > before
            && s.durable_log(id(leader)).contains(&tail)
            && others
                .iter()
                .all(|p| !(role(s, *p) == Role::Following && leader_of(s, *p) == Some(id(leader))))
    })
    .expect("the tail is durable and the others gave up on the leader");
    let tail = peer(s, leader).last_logged_zxid();
    s.crash_now(id(leader)).unwrap();
    s.heal_now().unwrap();
    tail
}

/// Run until server `n`'s disk holds `zxid` durably.
pub fn run_until_durable<T: Tweak>(s: &mut Hand<T>, n: u64, zxid: Zxid) {
    run_until_true(s, 1_000, |s| s.durable_log(id(n)).contains(&zxid))
        .unwrap_or_else(|| panic!("{zxid} never became durable on server {n}"));
}

/// Every event server `n` reported (all its lifetimes), in order.
pub fn events<P: HasPeer>(s: &Sim<P>, n: u64) -> Vec<ServerEvent> {
    s.server_events()
        .iter()
        .filter(|r| r.server == id(n))
        .map(|r| r.event.clone())
        .collect()
}

/// How server `n` was last synchronised.
pub fn synced_method<P: HasPeer>(s: &Sim<P>, n: u64) -> Option<SyncMethod> {
    events(s, n).iter().rev().find_map(|e| match e {
        ServerEvent::Synced { method, .. } => Some(*method),
        _ => None,
    })
}

/// The zxids server `n` reported committing, in order.
pub fn committed<P: HasPeer>(s: &Sim<P>, n: u64) -> Vec<Zxid> {
    events(s, n)
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Committed { zxid, .. } => Some(*zxid),
            _ => None,
        })
        .collect()
}

pub fn zxid(epoch: u32, counter: u32) -> Zxid {
    Zxid::new(Epoch(epoch), counter)
}

pub fn create(path: &str, data: &[u8]) -> Request {
    Request::Create {
        path: path.into(),
        data: data.to_vec(),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl: None,
        with_stat: false,
    }
}

pub fn ephemeral(path: &str) -> Request {
    Request::Create {
        path: path.into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode: CreateMode::Ephemeral,
        ttl: None,
        with_stat: false,
    }
}

pub fn get(path: &str) -> Request {
    Request::GetData {
        path: path.into(),
        watch: false,
    }
}

pub fn data_of(reply: Option<Result<Response, ErrorCode>>) -> Option<Vec<u8>> {
    match reply {
        Some(Ok(Response::GetData { data, .. })) => Some(data),
        _ => None,
    }
}
