//! The write model's compact state is a view of `zab_core`'s tree, not a second opinion:
//! random write sequences run through the tree's own prepare + apply and through the model
//! must produce the same results (up to zxids and times, which the model does not predict).

use proptest::prelude::*;
use zab_check::models::znode::ZState;
use zab_core::ids::{Epoch, Millis, SessionId, Zxid};
use zab_core::request::{Acl, CreateMode, Request};
use zab_core::tree::{DataTree, Preparer};

const SESSIONS: [SessionId; 2] = [SessionId(0x100), SessionId(0x200)];
const PATHS: [&str; 6] = ["/a", "/a/b", "/a/c", "/b", "/b/x", "/a/b/d"];

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(PATHS.to_vec()).prop_map(str::to_string)
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![Just(-1), 0..3]
}

fn mode() -> impl Strategy<Value = CreateMode> {
    prop::sample::select(vec![
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
    ])
}

fn single() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => (path(), mode(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..3)).prop_map(
            |(path, mode, with_stat, data)| Request::Create {
                path,
                data,
                acl: Acl::open_unsafe(),
                mode,
                ttl: None,
                with_stat,
            }
        ),
        2 => (path(), version()).prop_map(|(path, version)| Request::Delete { path, version }),
        3 => (path(), version(), prop::collection::vec(any::<u8>(), 0..3))
            .prop_map(|(path, version, data)| Request::SetData { path, data, version }),
        1 => (path(), version()).prop_map(|(path, version)| Request::SetAcl {
            path,
            acl: Acl::open_unsafe(),
            version
        }),
        1 => (path(), version()).prop_map(|(path, version)| Request::Check { path, version }),
    ]
}

fn write() -> impl Strategy<Value = (usize, Request)> {
    let request = prop_oneof![
        10 => single(),
        2 => prop::collection::vec(single(), 1..4).prop_map(Request::Multi),
        1 => Just(Request::CloseSession),
    ];
    (0..SESSIONS.len(), request)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn model_predicts_what_the_tree_answers(writes in prop::collection::vec(write(), 1..40)) {
        let mut tree = DataTree::new();
        let mut prep = Preparer::new();
        let mut zxid = Zxid::new(Epoch(1), 0);
        let mut time = Millis(1_000);
        for session in SESSIONS {
            zxid = zxid.next_in_epoch().unwrap();
            let txn = prep.prepare_create_session(session, 30_000, zxid, time);
            tree.apply(&txn);
            prep.committed(zxid);
        }
        let mut model = ZState::default();
        for (who, request) in writes {
            let session = SESSIONS[who];
            zxid = zxid.next_in_epoch().unwrap();
            time = time + 5;
            let txn = prep.prepare(&tree, session, &[], 1, &request, zxid, time);
            let actual = tree.apply(&txn).result;
            prep.committed(zxid);
            let predicted = model.predict(session, &request);
            let agrees = predicted.matches(&actual);
            prop_assert!(
                agrees,
                "{request:?} by {session}: model {predicted:?}, tree {actual:?}"
            );
        }
    }
}
