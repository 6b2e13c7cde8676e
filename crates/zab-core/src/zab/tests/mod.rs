//! Hand-driven ensembles: a small in-test router with an in-memory disk model that keeps
//! unsynced bytes apart from durable ones, so a crash loses exactly what was never fsynced.

mod bugs;
mod harness;
mod recovery;
mod scenarios;
