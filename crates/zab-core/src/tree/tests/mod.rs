//! Behaviour tests of the tree: prepare + apply + read together, one behaviour per test.

mod acls;
mod errors;
pub(super) mod fixture;
mod multi;
mod ops;
mod quotas;
mod sessions;
mod snapshots;
mod watches;
