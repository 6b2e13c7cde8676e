//! Rough speed figures for the znode tree: `cargo bench -p zab-core --bench tree`.
//! Wall-clock timing lives here, never in tests.

use std::time::Instant;
use zab_core::ids::{Epoch, Millis, SessionId, Zxid};
use zab_core::request::{Acl, CreateMode, Request};
use zab_core::tree::{DataTree, Preparer};
use zab_core::txn::Txn;

const NODES: usize = 100_000;

fn main() {
    let session = SessionId(1);
    let mut tree = DataTree::new();
    let mut prep = Preparer::new();
    let mut zxid = Zxid::new(Epoch(1), 0);
    let next = |t: &mut Zxid| {
        *t = t.next_in_epoch().unwrap();
        *t
    };
    let open = prep.prepare_create_session(session, 30_000, next(&mut zxid), Millis(0));
    tree.apply(&open);

    // Prepare + apply creates: 100 parents x 1000 children, 16-byte data.
    let mut txns: Vec<Txn> = Vec::with_capacity(NODES);
    let start = Instant::now();
    for i in 0..NODES {
        let path = if i % 1000 == 0 {
            format!("/p{}", i / 1000)
        } else {
            format!("/p{}/c{}", i / 1000, i % 1000)
        };
        let req = Request::Create {
            path,
            data: vec![7; 16],
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
            with_stat: false,
        };
        let txn = prep.prepare(
            &tree,
            session,
            &[],
            0,
            &req,
            next(&mut zxid),
            Millis(i as u64),
        );
        tree.apply(&txn);
        prep.committed(txn.zxid());
        txns.push(txn);
    }
    report("prepare+apply create", NODES, start);

    // Apply the same log on a fresh replica.
    let mut replica = DataTree::new();
    replica.apply(&open);
    let start = Instant::now();
    for t in &txns {
        replica.apply(t);
    }
    report("apply create (replica)", NODES, start);
    assert_eq!(replica.digest(), tree.digest());

    // setData on existing nodes.
    let start = Instant::now();
    for i in 0..NODES {
        let path = if i % 1000 == 0 {
            format!("/p{}", i / 1000)
        } else {
            format!("/p{}/c{}", i / 1000, i % 1000)
        };
        let req = Request::SetData {
            path,
            data: vec![1; 16],
            version: -1,
        };
        let txn = prep.prepare(&tree, session, &[], 0, &req, next(&mut zxid), Millis(0));
        tree.apply(&txn);
        prep.committed(txn.zxid());
    }
    report("prepare+apply setData", NODES, start);

    let start = Instant::now();
    let bytes = tree.snapshot();
    report("snapshot (per node)", tree.node_count(), start);
    println!(
        "snapshot size: {} bytes for {} nodes",
        bytes.len(),
        tree.node_count()
    );
    let start = Instant::now();
    let back = DataTree::restore(&bytes).unwrap();
    report("restore (per node)", tree.node_count(), start);
    assert_eq!(back.digest(), tree.digest());
}

fn report(what: &str, n: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:28} {n:>8} in {:>8.3} s = {:>10.0}/s",
        secs,
        n as f64 / secs
    );
}
