//! Integration tests of vigor-sim, one binary: scenarios on rapier and the cross-engine checks.

mod engines;
mod scenarios;
