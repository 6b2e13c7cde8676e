//! ZooKeeper's client-visible guarantees, checked over a history's client ops (see
//! `/work/shared/reference/README.md`, "Guarantees a checker must verify").

pub mod ephemeral;
pub mod expiry;
pub mod ops;
pub mod reads;
pub mod session;
pub mod watch;
pub mod watch_delivery;
pub mod writes;
