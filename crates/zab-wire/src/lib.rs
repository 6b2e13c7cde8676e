//! The ZooKeeper client wire protocol: jute framing and records.
//!
//! Skeleton: lands with the wire-codec issue.
