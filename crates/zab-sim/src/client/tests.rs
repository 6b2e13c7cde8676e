use super::*;
use crate::scenario::Mix;
use zab_core::request::{ConnectResponse, KeeperState, Stat};

fn spec() -> WorkloadSpec {
    WorkloadSpec {
        clients: 1,
        rate: 100.0,
        keys: 1,
        mix: Mix {
            read: 1,
            ..Mix::default()
        },
        watch: 1.0,
        session_timeout_ms: 6000,
        start: Span::ZERO,
    }
}

fn servers() -> Vec<ServerId> {
    vec![ServerId(1), ServerId(2), ServerId(3)]
}

fn connected(client: &mut Client, now: SimTime, ops: &mut Vec<ClientOp>, session: i64) -> ServerId {
    let actions = client.wake(now, ops);
    let server = match actions[0] {
        ClientAction::Connect(s) => s,
        ref other => panic!("expected a connect, got {other:?}"),
    };
    let sent = client.on_tcp_open(now);
    assert!(matches!(
        sent[0],
        ClientAction::Send(Packet::ClientConnect(_))
    ));
    client.on_packet(
        now,
        Packet::ClientConnected(Some(ConnectResponse {
            protocol_version: 0,
            timeout_ms: 6000,
            session: SessionId(session),
            passwd: vec![1],
            read_only: false,
        })),
        ops,
    );
    assert!(client.is_connected());
    server
}

fn sent_request(actions: &[ClientAction]) -> Option<(i32, Request)> {
    actions.iter().find_map(|a| match a {
        ClientAction::Send(Packet::ClientRequest { xid, request }) => Some((*xid, request.clone())),
        _ => None,
    })
}

#[test]
fn an_answered_operation_is_recorded_ok_with_its_zxid() {
    let mut ops = Vec::new();
    let mut c = Client::new(
        1,
        &servers(),
        &spec(),
        SimTime::ZERO,
        Prng::root(1).fork("c"),
    );
    connected(&mut c, SimTime(0), &mut ops, 77);
    let actions = c.wake(SimTime(10), &mut ops);
    let (xid, request) = sent_request(&actions).expect("an op is issued");
    assert!(matches!(request, Request::GetData { .. }));
    c.on_packet(
        SimTime(500),
        Packet::ClientReply {
            xid,
            zxid: Zxid(0x1_0000_0005),
            result: Ok(Response::GetData {
                data: vec![],
                stat: Stat::default(),
            }),
        },
        &mut ops,
    );
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].session, SessionId(77));
    assert!(matches!(
        ops[0].outcome,
        Outcome::Ok {
            zxid: Zxid(0x1_0000_0005),
            ..
        }
    ));
    assert_eq!(c.last_zxid_seen(), Zxid(0x1_0000_0005));
}

#[test]
fn connection_loss_makes_the_op_unknown_and_reconnects_elsewhere_with_the_same_session() {
    let mut ops = Vec::new();
    let mut c = Client::new(
        1,
        &servers(),
        &spec(),
        SimTime::ZERO,
        Prng::root(1).fork("c"),
    );
    let first = connected(&mut c, SimTime(0), &mut ops, 77);
    // A read with a watch succeeds and registers a data watch.
    let (xid, _) = sent_request(&c.wake(SimTime(10), &mut ops)).unwrap();
    c.on_packet(
        SimTime(20),
        Packet::ClientReply {
            xid,
            zxid: Zxid(9),
            result: Ok(Response::GetData {
                data: vec![],
                stat: Stat::default(),
            }),
        },
        &mut ops,
    );
    assert_eq!(c.watch_count(), 1);
    let second_op = c.wake(SimTime::from_millis(1000), &mut ops);
    assert!(sent_request(&second_op).is_some());
    c.on_closed(SimTime::from_millis(1001), &mut ops);
    assert_eq!(ops[1].outcome, Outcome::Unknown);
    assert_eq!(ops[1].complete, Some(Millis(1001)));
    // Reconnect after the backoff, to the next server in the list.
    let actions = c.wake(SimTime::from_millis(3000), &mut ops);
    let ClientAction::Connect(next) = actions[0] else {
        panic!("{actions:?}")
    };
    assert_ne!(next, first);
    let hello = c.on_tcp_open(SimTime::from_millis(3000));
    let ClientAction::Send(Packet::ClientConnect(req)) = &hello[0] else {
        panic!("{hello:?}")
    };
    assert_eq!(req.session, SessionId(77));
    assert_eq!(req.last_zxid_seen, Zxid(9));
    let after = c.on_packet(
        SimTime::from_millis(3001),
        Packet::ClientConnected(Some(ConnectResponse {
            protocol_version: 0,
            timeout_ms: 6000,
            session: SessionId(77),
            passwd: vec![1],
            read_only: false,
        })),
        &mut ops,
    );
    let (xid, set) = sent_request(&after).expect("watches re-registered");
    let lost_request = ops[1].request.clone();
    assert_eq!(xid, SET_WATCHES_XID);
    match set {
        Request::SetWatches {
            relative_zxid,
            data,
            ..
        } => {
            assert_eq!(relative_zxid, Zxid(9));
            assert_eq!(data, vec!["/k0".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    // The op whose outcome was unknown is retried as a new op.
    let retried = c.wake(SimTime::from_millis(3002), &mut ops);
    let (_, again) = sent_request(&retried).expect("the lost op is retried");
    assert_eq!(again, lost_request);
    assert_eq!(ops.len(), 3);
}

#[test]
fn silence_past_the_read_timeout_is_a_connection_loss() {
    let mut ops = Vec::new();
    let mut c = Client::new(
        1,
        &servers(),
        &spec(),
        SimTime::ZERO,
        Prng::root(1).fork("c"),
    );
    connected(&mut c, SimTime(0), &mut ops, 5);
    c.wake(SimTime(10), &mut ops);
    // Pings are sent while waiting.
    let mid = c.wake(SimTime::from_millis(2100), &mut ops);
    assert!(
        mid.contains(&ClientAction::Send(Packet::ClientPing)),
        "{mid:?}"
    );
    let late = c.wake(SimTime::from_millis(4001), &mut ops);
    assert!(late.contains(&ClientAction::Close), "{late:?}");
    assert_eq!(ops[0].outcome, Outcome::Unknown);
    assert_eq!(c.stats.connection_losses, 1);
}

#[test]
fn an_expired_session_starts_over_without_watches() {
    let mut ops = Vec::new();
    let mut c = Client::new(
        1,
        &servers(),
        &spec(),
        SimTime::ZERO,
        Prng::root(1).fork("c"),
    );
    connected(&mut c, SimTime(0), &mut ops, 5);
    c.on_closed(SimTime(1), &mut ops);
    c.wake(SimTime::from_millis(2000), &mut ops);
    c.on_tcp_open(SimTime::from_millis(2000));
    let out = c.on_packet(
        SimTime::from_millis(2001),
        Packet::ClientConnected(Some(ConnectResponse {
            protocol_version: 0,
            timeout_ms: 0,
            session: SessionId(0),
            passwd: vec![],
            read_only: false,
        })),
        &mut ops,
    );
    assert!(out.contains(&ClientAction::Close));
    assert_eq!(c.session(), SessionId(0));
    assert_eq!(c.stats.sessions_expired, 1);
}

#[test]
fn watch_events_are_attached_to_the_latest_op() {
    let mut ops = Vec::new();
    let mut c = Client::new(
        1,
        &servers(),
        &spec(),
        SimTime::ZERO,
        Prng::root(1).fork("c"),
    );
    connected(&mut c, SimTime(0), &mut ops, 5);
    c.wake(SimTime(10), &mut ops);
    c.on_packet(
        SimTime(20),
        Packet::ClientWatch(WatchEvent {
            event_type: EventType::NodeDataChanged,
            state: KeeperState::SyncConnected,
            path: "/k0".into(),
            zxid: Zxid(3),
        }),
        &mut ops,
    );
    assert_eq!(ops[0].watch_events.len(), 1);
}
