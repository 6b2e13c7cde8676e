//! `cargo bench -p zab-check --bench check` (also run by `cargo xtask bench`): time and peak
//! heap to check synthetic correct tree histories of 1k, 10k and 100k ops (10 clients), and
//! the public Jepsen/Porcupine data. Ratios are against a baseline measured in the same
//! process: replaying the same writes in their known zxid order through the write model —
//! the least any checker must do.
//!
//! Not a test: nothing here asserts on time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use zab_check::external::{check_text, ExternalFormat, ExternalModel};
use zab_check::formats::{edn, jepsen};
use zab_check::history::{History, Outcome};
use zab_check::lin::{check_operations, Budget, PartitionVerdict};
use zab_check::models::kv::KvModel;
use zab_check::models::register::RegisterModel;
use zab_check::models::znode::ZState;
use zab_check::synth::{tree_history, SynthConfig};
use zab_check::{check_history, CheckOptions, Verdict};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f`, returning its result, seconds taken and peak heap above the start (bytes).
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let secs = start.elapsed().as_secs_f64();
    (out, secs, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// The baseline: apply the answered and applied writes in zxid order to the model's tree.
fn baseline(history: &History) -> usize {
    let mut writes: Vec<_> = history
        .ops
        .iter()
        .filter_map(|op| match &op.outcome {
            Outcome::Ok { zxid, .. } | Outcome::Failed { zxid, .. } if op.request.is_write() => {
                Some((*zxid, op))
            }
            _ => None,
        })
        .collect();
    writes.sort_by_key(|w| w.0);
    let mut tree = ZState::default();
    let mut ok = 0;
    for (_, op) in writes {
        if tree.apply(op.session, &op.request).is_ok() {
            ok += 1;
        }
    }
    ok
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    println!("| history | ops | check time | peak heap | baseline time | time ratio | search steps | verdict |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for ops in [1_000, 10_000, 100_000] {
        let history = tree_history(&SynthConfig {
            ops,
            clients: 10,
            keys: 100,
            ..SynthConfig::default()
        });
        let (_, base_secs, _) = measure(|| baseline(&history));
        let (report, secs, peak) =
            measure(|| check_history(&history, &CheckOptions::default()).expect("valid"));
        assert_eq!(report.verdict(), Verdict::Ok, "a correct history must pass");
        println!(
            "| tree, 10 clients, 100 keys | {ops} | {:.3} s | {:.1} MiB | {:.4} s | {:.0}x | {} | {} |",
            secs,
            mib(peak),
            base_secs,
            secs / base_secs.max(1e-9),
            report.search_steps,
            report.verdict()
        );
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    println!();
    println!(
        "| public history | ops | verdict time | peak heap | with evidence (minimised) | verdict |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    let mut etcd = (0.0, 0.0, 0usize, 0usize, 0usize, 0usize);
    let mut files: Vec<_> = std::fs::read_dir(data.join("jepsen-etcd"))
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let ops = jepsen::parse(&text).expect("parse");
        let (outcome, secs, peak) =
            measure(|| check_operations(&RegisterModel, &ops, Budget::default()));
        let (_, full_secs, _) = measure(|| {
            check_text(
                ExternalModel::Register,
                ExternalFormat::Jepsen,
                "",
                &text,
                Budget::default(),
            )
            .expect("parse")
        });
        let bad = outcome.verdict() == PartitionVerdict::NotLinearizable;
        etcd = (
            etcd.0 + secs,
            etcd.1 + full_secs,
            etcd.2.max(peak),
            etcd.3 + ops.len(),
            etcd.4 + 1,
            etcd.5 + bad as usize,
        );
    }
    println!(
        "| jepsen etcd register, all {} files | {} | {:.3} s | {:.1} MiB | {:.3} s | {} not linearizable |",
        etcd.4,
        etcd.3,
        etcd.0,
        mib(etcd.2),
        etcd.1,
        etcd.5
    );
    for file in ["c01-ok.txt", "c01-bad.txt", "c10-ok.txt", "c10-bad.txt"] {
        let text = std::fs::read_to_string(data.join("porcupine-kv").join(file)).expect("read");
        let ops = edn::parse(&text).expect("parse");
        let (outcome, secs, peak) = measure(|| check_operations(&KvModel, &ops, Budget::default()));
        let (_, full_secs, _) = measure(|| {
            check_text(
                ExternalModel::Kv,
                ExternalFormat::Edn,
                "",
                &text,
                Budget::default(),
            )
            .expect("parse")
        });
        println!(
            "| porcupine kv {file} | {} | {:.4} s | {:.1} MiB | {:.3} s | {:?} |",
            ops.len(),
            secs,
            mib(peak),
            full_secs,
            outcome.verdict()
        );
    }
}
