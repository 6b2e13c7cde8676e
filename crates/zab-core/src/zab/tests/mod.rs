//! Unit tests that reach into several of ZAB's modules at once (the database and the replica
//! together). Whole ensembles — synchronisation, recovery after crashes, the bug switches — run
//! on the simulator: `cargo test -p zab-sim --test zab_sync` (and `zab_disk`, `zab_bugs`).

mod recovery;
