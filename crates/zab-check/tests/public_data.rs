//! Our verdicts on public histories with published verdicts (see testdata/README.md).
//! Budget-exhausted ("unknown") verdicts count as disagreement: an honest check never turns
//! "could not decide" into "ok".

use std::path::{Path, PathBuf};
use zab_check::formats::{edn, jepsen};
use zab_check::lin::{check_operations, Budget, PartitionVerdict};
use zab_check::models::kv::KvModel;
use zab_check::models::register::RegisterModel;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

#[test]
fn jepsen_etcd_verdicts_match_expected_tsv() {
    let dir = testdata().join("jepsen-etcd");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, verdict) = line.split_once('\t').unwrap();
        let want = match verdict.trim() {
            "linearizable" => PartitionVerdict::Linearizable,
            "not-linearizable" => PartitionVerdict::NotLinearizable,
            other => panic!("unknown verdict {other} in EXPECTED.tsv"),
        };
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let ops = jepsen::parse(&text).unwrap();
        let got = check_operations(&RegisterModel, &ops, Budget::default()).verdict();
        if got != want {
            disagreements.push(format!("{file}: want {want:?}, got {got:?}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 50, "every history in EXPECTED.tsv");
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn porcupine_kv_ok_files_pass_and_bad_files_fail() {
    let dir = testdata().join("porcupine-kv");
    for (file, want) in [
        ("c01-ok.txt", PartitionVerdict::Linearizable),
        ("c01-bad.txt", PartitionVerdict::NotLinearizable),
        ("c10-ok.txt", PartitionVerdict::Linearizable),
        ("c10-bad.txt", PartitionVerdict::NotLinearizable),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let ops = edn::parse(&text).unwrap();
        let got = check_operations(&KvModel, &ops, Budget::default()).verdict();
        assert_eq!(got, want, "{file}");
    }
}
