//! One module per subcommand.

pub mod bench;
pub mod bench_student;
pub mod config;
pub mod control;
pub mod demo;
pub mod demo_live;
pub mod demo_teacher;
pub mod demos;
pub mod distributed;
pub mod eval;
pub mod eval_bus;
pub mod eval_compare;
pub mod eval_flags;
pub mod msgs;
pub mod perception;
pub mod policy;
pub mod robot;
pub mod sim;
pub mod terrain;
pub mod topic;
pub mod train;
