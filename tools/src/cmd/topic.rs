//! `vigor topic list`.

use anyhow::Result;
use clap::Subcommand;
use vigor_msgs::topics;

/// `vigor topic ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every key with its payload, publisher, subscribers and rate.
    List {
        /// Prefix every key with this scope, as zenoh's DDS bridge `--scope` does.
        #[arg(long)]
        scope: Option<String>,
    },
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::List { scope } => {
            for t in &topics::ALL {
                println!("{}", t.scoped(scope.as_deref()));
                println!("    payload:     {}", t.payload);
                println!("    publisher:   {}", t.publisher);
                println!("    subscribers: {}", t.subscribers);
                println!("    rate:        {}", t.rate);
            }
            Ok(())
        }
    }
}
