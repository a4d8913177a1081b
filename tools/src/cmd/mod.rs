//! One module per subcommand.

pub mod config;
pub mod demo;
pub mod msgs;
pub mod robot;
pub mod terrain;
pub mod topic;
