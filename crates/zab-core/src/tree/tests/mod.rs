//! Behaviour tests of the tree: prepare + apply + read together, one behaviour per test.

mod acls;
mod errors;
mod fixture;
mod multi;
mod ops;
mod sessions;
mod snapshots;
mod watches;
