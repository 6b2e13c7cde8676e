//! Which events fire to which watchers, as ZooKeeper's WatchManager and DataTree fire them.

use super::fixture::*;
use crate::error::ErrorCode;
use crate::ids::Zxid;
use crate::peer::ConnId;
use crate::request::{AddWatchMode, EventType, Id, Request, WatcherType};

fn kinds(events: &[(ConnId, crate::request::WatchEvent)]) -> Vec<(ConnId, EventType, String)> {
    events
        .iter()
        .map(|(c, e)| (*c, e.event_type, e.path.clone()))
        .collect()
}

fn add_watch(path: &str, mode: AddWatchMode) -> Request {
    Request::AddWatch {
        path: path.into(),
        mode,
    }
}

#[test]
fn data_watch_fires_once_on_change() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.read(C1, &get_data("/a", true)).unwrap();
    let ev = f.events(&set_data("/a", b"1", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/a".into())]
    );
    assert_eq!(ev[0].1.zxid, f.zxid);
    assert!(f.events(&set_data("/a", b"2", -1)).is_empty(), "one-shot");
}

#[test]
fn exist_watch_on_missing_node_fires_on_create() {
    let mut f = Fixture::new();
    assert_eq!(f.read(C1, &exists("/a", true)), Err(ErrorCode::NoNode));
    let ev = f.events(&create("/a", b""));
    assert_eq!(kinds(&ev), vec![(C1, EventType::NodeCreated, "/a".into())]);
}

#[test]
fn get_data_on_missing_node_sets_no_watch() {
    let mut f = Fixture::new();
    assert_eq!(f.read(C1, &get_data("/a", true)), Err(ErrorCode::NoNode));
    assert!(f.events(&create("/a", b"")).is_empty());
    assert_eq!(f.tree.watch_count(), 0);
}

#[test]
fn child_watch_fires_on_child_create_and_delete() {
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.read(C1, &get_children("/p", true)).unwrap();
    let ev = f.events(&create("/p/c", b""));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeChildrenChanged, "/p".into())]
    );
    f.read(C1, &get_children("/p", true)).unwrap();
    let ev = f.events(&delete("/p/c", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeChildrenChanged, "/p".into())]
    );
    // Data changes of the parent do not fire child watches.
    f.read(C1, &get_children("/p", true)).unwrap();
    assert!(f.events(&set_data("/p", b"x", -1)).is_empty());
}

#[test]
fn delete_fires_node_deleted_once_per_connection_then_parent_children_changed() {
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.ok(&create("/p/c", b""));
    f.read(C1, &get_data("/p/c", true)).unwrap();
    f.read(C1, &get_children("/p/c", true)).unwrap();
    f.read(C2, &get_children("/p/c", true)).unwrap();
    f.read(C2, &get_children("/p", true)).unwrap();
    let ev = f.events(&delete("/p/c", -1));
    assert_eq!(
        kinds(&ev),
        vec![
            (C1, EventType::NodeDeleted, "/p/c".into()),
            (C2, EventType::NodeDeleted, "/p/c".into()),
            (C2, EventType::NodeChildrenChanged, "/p".into()),
        ]
    );
    assert_eq!(f.tree.watch_count(), 0, "every one-shot watch was consumed");
}

#[test]
fn create_fires_created_on_node_and_children_changed_on_parent() {
    let mut f = Fixture::new();
    f.read(C1, &exists("/a", true)).unwrap_err();
    f.read(C2, &get_children("/", true)).unwrap();
    let ev = f.events(&create("/a", b""));
    assert_eq!(
        kinds(&ev),
        vec![
            (C1, EventType::NodeCreated, "/a".into()),
            (C2, EventType::NodeChildrenChanged, "/".into())
        ]
    );
}

#[test]
fn persistent_watch_fires_on_data_and_children_and_stays() {
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.read(C1, &add_watch("/p", AddWatchMode::Persistent))
        .unwrap();
    let ev = f.events(&set_data("/p", b"1", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/p".into())]
    );
    let ev = f.events(&create("/p/c", b""));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeChildrenChanged, "/p".into())]
    );
    // Not recursive: a grandchild's change is not seen.
    assert!(f.events(&set_data("/p/c", b"1", -1)).is_empty());
    let ev = f.events(&set_data("/p", b"2", -1));
    assert_eq!(ev.len(), 1, "still registered");
}

#[test]
fn recursive_watch_sees_descendants_but_not_children_changed() {
    let mut f = Fixture::new();
    f.ok(&create("/r", b""));
    f.read(C1, &add_watch("/r", AddWatchMode::PersistentRecursive))
        .unwrap();
    let ev = f.events(&create("/r/a", b""));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeCreated, "/r/a".into())]
    );
    let ev = f.events(&create("/r/a/b", b""));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeCreated, "/r/a/b".into())]
    );
    let ev = f.events(&set_data("/r/a/b", b"x", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/r/a/b".into())]
    );
    let ev = f.events(&delete("/r/a/b", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDeleted, "/r/a/b".into())]
    );
    let ev = f.events(&set_data("/r", b"x", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/r".into())]
    );
    assert!(f.events(&create("/other", b"")).is_empty());
}

#[test]
fn remove_and_check_watches_by_type() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    let rm = |t| Request::RemoveWatches {
        path: "/a".into(),
        watcher_type: t,
    };
    let ck = |t| Request::CheckWatches {
        path: "/a".into(),
        watcher_type: t,
    };
    assert_eq!(f.read(C1, &ck(WatcherType::Any)), Err(ErrorCode::NoWatcher));
    assert_eq!(
        f.read(C1, &rm(WatcherType::Data)),
        Err(ErrorCode::NoWatcher)
    );
    f.read(C1, &get_data("/a", true)).unwrap();
    f.read(C1, &get_children("/a", true)).unwrap();
    assert!(f.read(C1, &ck(WatcherType::Data)).is_ok());
    assert_eq!(
        f.read(C2, &ck(WatcherType::Data)),
        Err(ErrorCode::NoWatcher),
        "watches are per connection"
    );
    assert!(f.read(C1, &rm(WatcherType::Data)).is_ok());
    assert_eq!(
        f.read(C1, &ck(WatcherType::Data)),
        Err(ErrorCode::NoWatcher)
    );
    assert!(f.read(C1, &ck(WatcherType::Children)).is_ok());
    assert!(f.events(&set_data("/a", b"1", -1)).is_empty());
    f.read(C1, &add_watch("/a", AddWatchMode::PersistentRecursive))
        .unwrap();
    assert!(f.read(C1, &ck(WatcherType::PersistentRecursive)).is_ok());
    assert_eq!(
        f.read(C1, &ck(WatcherType::Persistent)),
        Err(ErrorCode::NoWatcher)
    );
    assert!(f.read(C1, &rm(WatcherType::Any)).is_ok());
    assert_eq!(f.tree.watch_count(), 0);
    f.read(C1, &add_watch("/a", AddWatchMode::Persistent))
        .unwrap();
    assert!(f.read(C1, &rm(WatcherType::Persistent)).is_ok());
    assert_eq!(f.tree.watch_count(), 0);
}

#[test]
fn closed_connection_loses_its_watches() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.read(C1, &get_data("/a", true)).unwrap();
    f.read(C1, &add_watch("/", AddWatchMode::PersistentRecursive))
        .unwrap();
    f.tree.remove_watcher(C1);
    assert!(f.events(&set_data("/a", b"1", -1)).is_empty());
    assert_eq!(f.tree.watch_count(), 0);
}

#[test]
fn notifications_are_filtered_by_read_permission() {
    let mut f = Fixture::new();
    let bob = Id::new("digest", &crate::tree::acl::digest_id("bob:pw"));
    f.auth = vec![bob.clone()];
    f.ok(&create_acl(
        "/secret",
        vec![crate::request::Acl {
            perms: crate::request::perms::ALL,
            id: bob,
        }],
    ));
    f.read(C1, &add_watch("/", AddWatchMode::PersistentRecursive))
        .unwrap();
    f.auth = vec![];
    f.read(C2, &add_watch("/", AddWatchMode::PersistentRecursive))
        .unwrap();
    f.auth = f
        .tree
        .node("/secret")
        .unwrap()
        .acl
        .iter()
        .map(|a| a.id.clone())
        .collect();
    let ev = f.events(&set_data("/secret", b"x", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/secret".into())]
    );
}

#[test]
fn set_watches_fires_at_once_for_nodes_changed_since_the_clients_zxid() {
    let mut f = Fixture::new();
    f.ok(&create("/same", b""));
    f.ok(&create("/changed", b""));
    f.ok(&create("/kids", b""));
    let seen = f.zxid;
    f.ok(&set_data("/changed", b"1", -1));
    f.ok(&create("/kids/k", b""));
    f.ok(&create("/born", b""));
    let r = f.read(
        C1,
        &Request::SetWatches {
            relative_zxid: seen,
            data: vec!["/same".into(), "/changed".into(), "/gone".into()],
            exist: vec!["/born".into(), "/unborn".into()],
            child: vec!["/kids".into(), "/same".into()],
            persistent: vec![],
            persistent_recursive: vec![],
        },
    );
    assert!(r.is_ok());
    let ev = f.tree.take_watch_events();
    assert_eq!(
        kinds(&ev),
        vec![
            (C1, EventType::NodeDataChanged, "/changed".into()),
            (C1, EventType::NodeDeleted, "/gone".into()),
            (C1, EventType::NodeCreated, "/born".into()),
            (C1, EventType::NodeChildrenChanged, "/kids".into()),
        ]
    );
    assert!(ev.iter().all(|(_, e)| e.zxid == Zxid::from_i64(-1)));
    // The unchanged ones are registered.
    let ev = f.events(&set_data("/same", b"1", -1));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeDataChanged, "/same".into())]
    );
    let ev = f.events(&create("/unborn", b""));
    assert_eq!(
        kinds(&ev),
        vec![(C1, EventType::NodeCreated, "/unborn".into())]
    );
}

#[test]
fn close_session_fires_deleted_for_its_ephemerals() {
    let mut f = Fixture::new();
    f.ok(&create_mode(
        "/e",
        b"",
        crate::request::CreateMode::Ephemeral,
    ));
    f.read(C2, &exists("/e", true)).unwrap();
    let ev = f.events(&Request::CloseSession);
    assert_eq!(kinds(&ev), vec![(C2, EventType::NodeDeleted, "/e".into())]);
}

#[test]
fn watch_listing_and_counts_for_four_letter_words() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"xyz"));
    f.read(C1, &get_data("/a", true)).unwrap();
    f.read(C1, &get_children("/", true)).unwrap();
    f.read(C2, &add_watch("/a", AddWatchMode::Persistent))
        .unwrap();
    assert_eq!(
        f.tree.watched_paths(C1),
        vec!["/".to_string(), "/a".to_string()]
    );
    assert_eq!(f.tree.watched_paths(C2), vec!["/a".to_string()]);
    assert_eq!(
        f.tree.watch_count(),
        4,
        "C2's persistent watch sits in both managers"
    );
    // "/" + "/zookeeper" + "/zookeeper/quota" + "/zookeeper/config" + "/a"(+3 bytes)
    assert_eq!(
        f.tree.approximate_data_size(),
        (1 + 10 + 16 + 17 + 2 + 3) as u64
    );
    f.ok(&create_mode(
        "/e",
        b"",
        crate::request::CreateMode::Ephemeral,
    ));
    assert_eq!(f.tree.ephemerals_count(), 1);
}
