//! ZooKeeper Atomic Broadcast: discovery, synchronisation, broadcast (`Leader`, `Learner`,
//! `LearnerHandler`, `Follower`, `Observer`).

pub mod packet;
