//! ZooKeeper Atomic Broadcast: discovery, synchronisation, broadcast (`Leader`, `Learner`,
//! `LearnerHandler`, `Follower`, `Observer`).
//!
//! Skeleton: the packet type is fixed here because the peer's message type carries it.

pub mod packet;
