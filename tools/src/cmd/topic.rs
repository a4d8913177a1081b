//! `vigor topic list | echo | pub`: the bus's keys, and decoding or publishing their messages
//! like `ros2 topic echo` and `ros2 topic pub`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use vigor_controller::bus::DEFAULT_ENDPOINT;
use vigor_controller::cli::BusArgs;
use vigor_msgs::topics;
use zenoh::Wait;

use crate::cmd::msgs::{MsgType, decode, encode};

/// `vigor topic ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every key with its payload, publisher, subscribers and rate.
    List {
        /// Prefix every key with this scope, as zenoh's DDS bridge `--scope` does.
        #[arg(long)]
        scope: Option<String>,
    },
    /// Subscribe to a key and print each message decoded as JSON (one per line).
    Echo {
        /// The key, e.g. rt/lowstate or vigor/controller/status (see `vigor topic list`).
        key: String,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
        /// Stop after this many seconds.
        #[arg(long)]
        timeout_s: Option<f64>,
        /// Print only every n-th message (rt/lowstate comes at 500 Hz).
        #[arg(long, default_value_t = 1)]
        every: usize,
        #[command(flatten)]
        bus: BusArgs,
    },
    /// Publish a message given as JSON (the format `echo` and `vigor msgs decode` print).
    Pub {
        /// The key.
        key: String,
        /// JSON file with the message (`-` for standard input).
        #[arg(long)]
        json: PathBuf,
        /// Publish this many times, `--interval-ms` apart.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Interval between repeats, ms.
        #[arg(long, default_value_t = 100)]
        interval_ms: u64,
        #[command(flatten)]
        bus: BusArgs,
    },
}

/// The message type carried by `key`.
fn type_of(key: &str) -> Result<MsgType> {
    let known = [
        (&topics::LOWSTATE, MsgType::Lowstate),
        (&topics::LOWCMD, MsgType::Lowcmd),
        (&topics::DEPTH, MsgType::Depth),
        (&topics::CONTROLLER_STATUS, MsgType::Status),
        (&topics::CONTROLLER_COMMAND, MsgType::Command),
        (&topics::SIM_REQUEST, MsgType::SimRequest),
    ];
    for (t, m) in known {
        if key == t.key || key.ends_with(&format!("/{}", t.key)) {
            return Ok(m);
        }
    }
    let keys: Vec<&str> = topics::ALL.iter().map(|t| t.key).collect();
    bail!("unknown key `{key}`: vigor knows {}", keys.join(", "))
}

/// Runs the subcommand.
///
/// # Errors
/// Unknown key, unreadable JSON, or a bus that cannot be opened.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::List { scope } => {
            for t in topics::ALL.iter().chain(&topics::TRAINING) {
                println!("{}", t.scoped(scope.as_deref()));
                println!("    payload:     {}", t.payload);
                println!("    publisher:   {}", t.publisher);
                println!("    subscribers: {}", t.subscribers);
                println!("    rate:        {}", t.rate);
            }
            Ok(())
        }
        Command::Echo {
            key,
            count,
            timeout_s,
            every,
            bus,
        } => {
            let kind = type_of(key)?;
            let full = match &bus.scope {
                Some(s) => format!("{}/{key}", s.trim_end_matches('/')),
                None => key.clone(),
            };
            let session = bus.bus(&[DEFAULT_ENDPOINT], &[]).open()?;
            let sub = session
                .declare_subscriber(full.as_str())
                .wait()
                .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
            let start = Instant::now();
            let mut seen = 0usize;
            let mut printed = 0usize;
            loop {
                if timeout_s.is_some_and(|t| start.elapsed().as_secs_f64() >= t) {
                    break;
                }
                let Ok(Some(sample)) = sub.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                seen += 1;
                if !(seen - 1).is_multiple_of((*every).max(1)) {
                    continue;
                }
                let bytes = sample.payload().to_bytes();
                match decode(kind, &bytes) {
                    Ok(json) => {
                        let one_line: serde_json::Value = serde_json::from_str(&json)?;
                        println!("{one_line}");
                    }
                    Err(e) => {
                        eprintln!("{full}: undecodable message ({} bytes): {e:#}", bytes.len())
                    }
                }
                printed += 1;
                if count.is_some_and(|c| printed >= c) {
                    break;
                }
            }
            Ok(())
        }
        Command::Pub {
            key,
            json,
            repeat,
            interval_ms,
            bus,
        } => {
            let kind = type_of(key)?;
            let text = if json.as_os_str() == "-" {
                let mut s = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read(json).with_context(|| format!("{}: cannot read", json.display()))?
            };
            let bytes = encode(kind, &text).with_context(|| format!("{}", json.display()))?;
            let full = match &bus.scope {
                Some(s) => format!("{}/{key}", s.trim_end_matches('/')),
                None => key.clone(),
            };
            let session = bus.bus(&[DEFAULT_ENDPOINT], &[]).open()?;
            // A put goes only toward subscribers the session has heard of: wait for one (a key
            // nobody subscribes to is still published, after the wait).
            let (publisher, matched) =
                vigor_controller::bus::matched_publisher(&session, &full, Duration::from_secs(2))?;
            if !matched {
                eprintln!("no subscriber to {full} seen in 2 s; publishing anyway");
            }
            for i in 0..*repeat {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(*interval_ms));
                }
                publisher
                    .put(bytes.clone())
                    .wait()
                    .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
            }
            // Give the last message time to leave before the session closes.
            std::thread::sleep(Duration::from_millis(200));
            eprintln!("published {repeat} x {} bytes on {full}", bytes.len());
            Ok(())
        }
    }
}
