//! Unit tests of the election loop and the connection manager, driven by hand.

mod cnxn;
mod fle;
