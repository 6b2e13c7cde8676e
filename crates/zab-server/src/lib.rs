//! The real-network adapter: the same `zab-core` peer over TCP with a real disk.
//!
//! Skeleton: lands with the server issue.
