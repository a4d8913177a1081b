//! Opening the zenoh session every vigor process uses, with zenoh's own command-line conventions:
//! an optional zenoh configuration file, then `--connect` and `--listen` endpoints that override
//! it. The default is a peer on loopback with multicast scouting off, so processes find each
//! other only through the endpoints given (the sim-robot listens, the others connect).
//!
//! The controller opens its session as a zenoh **client** ([`Mode::Client`]): it listens
//! nowhere and links only to the router or peer it connects to, never directly to the other
//! processes on the bus. As a peer it listened on every interface (zenoh's default) and every
//! short-lived process that joined the bus (a `vigor topic pub`) opened a link to it through
//! gossip; tearing that link down when the process exited stalled the controller's LowState
//! delivery past the 20 ms watchdog on a two-core machine (measured in docs/controller.md). The
//! simulated robot, which stands in for the robot's router, opens its session as a
//! [`Mode::Router`], so it routes between the controller and every other session.

use std::path::{Path, PathBuf};

use zenoh::Wait;

/// The endpoint the simulated robot listens on by default, and the others connect to.
pub const DEFAULT_ENDPOINT: &str = "tcp/127.0.0.1:7447";

/// How to open a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusConfig {
    /// A zenoh configuration file (JSON5), e.g. for TLS and access control on the robot.
    pub config_file: Option<PathBuf>,
    /// Endpoints to connect to (override the file's `connect/endpoints`).
    pub connect: Vec<String>,
    /// Endpoints to listen on (override the file's `listen/endpoints`).
    pub listen: Vec<String>,
    /// The zenoh mode, overriding the file's; `None` keeps the file's (or peer without a file).
    pub mode: Option<Mode>,
}

/// How long a client without a configuration file keeps trying to reach its router at start, ms.
pub const CLIENT_CONNECT_TIMEOUT_MS: u32 = 30_000;

/// How a session takes part in the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A peer: links to the endpoints given and to the peers it hears of.
    Peer,
    /// A client: no listening socket, no links but the ones to `connect`; a router (or peer)
    /// routes for it. The controller.
    Client,
    /// A router: routes between every session linked to it, as the robot's zenoh router (the
    /// DDS bridge) does. The simulated robot, which stands in for it.
    Router,
}

impl Mode {
    fn json(self) -> &'static str {
        match self {
            Self::Peer => "\"peer\"",
            Self::Client => "\"client\"",
            Self::Router => "\"router\"",
        }
    }
}

/// Why the bus could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The zenoh configuration file is unreadable or invalid.
    #[error("{path}: invalid zenoh configuration: {message}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// zenoh's description.
        message: String,
    },
    /// An endpoint or setting was refused.
    #[error("zenoh configuration `{key}` = {value}: {message}")]
    Setting {
        /// The configuration key.
        key: String,
        /// The value given.
        value: String,
        /// zenoh's description.
        message: String,
    },
    /// zenoh failed to open the session, declare or publish.
    #[error("zenoh: {0}")]
    Zenoh(String),
}

fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|e| format!("{e:?}")).collect();
    format!("[{}]", quoted.join(","))
}

impl BusConfig {
    /// Connect to `endpoint` only.
    #[must_use]
    pub fn connect_to(endpoint: &str) -> Self {
        Self {
            connect: vec![endpoint.to_owned()],
            ..Self::default()
        }
    }

    /// Listen on `endpoint` only.
    #[must_use]
    pub fn listen_on(endpoint: &str) -> Self {
        Self {
            listen: vec![endpoint.to_owned()],
            ..Self::default()
        }
    }

    /// The zenoh configuration this describes.
    ///
    /// # Errors
    /// [`BusError::ConfigFile`] or [`BusError::Setting`].
    pub fn to_zenoh(&self) -> Result<zenoh::Config, BusError> {
        let mut c = match &self.config_file {
            Some(path) => load_file(path)?,
            None => {
                let mut c = zenoh::Config::default();
                set(&mut c, "mode", "\"peer\"")?;
                set(&mut c, "scouting/multicast/enabled", "false")?;
                c
            }
        };
        if !self.connect.is_empty() {
            set(&mut c, "connect/endpoints", &json_list(&self.connect))?;
        }
        if !self.listen.is_empty() {
            if self.mode == Some(Mode::Client) {
                return Err(BusError::Setting {
                    key: "listen/endpoints".into(),
                    value: json_list(&self.listen),
                    message: "this process connects as a client and listens nowhere".into(),
                });
            }
            set(&mut c, "listen/endpoints", &json_list(&self.listen))?;
        }
        if let Some(mode) = self.mode {
            set(&mut c, "mode", mode.json())?;
            // zenoh's client gives up at once when the router is not up yet; a daemon started
            // beside the robot (or the simulated robot) waits for it instead. A file says its own.
            if mode == Mode::Client && self.config_file.is_none() {
                set(
                    &mut c,
                    "connect/timeout_ms",
                    &CLIENT_CONNECT_TIMEOUT_MS.to_string(),
                )?;
            }
        }
        Ok(c)
    }

    /// Opens the session.
    ///
    /// # Errors
    /// An invalid configuration, or zenoh failing to open (for example a busy listen port).
    pub fn open(&self) -> Result<zenoh::Session, BusError> {
        let c = self.to_zenoh()?;
        zenoh::open(c)
            .wait()
            .map_err(|e| BusError::Zenoh(e.to_string()))
    }
}

/// Declares a publisher on `key` and waits until this session knows a subscriber matching it
/// somewhere on the bus, at most `timeout`; returns the publisher and whether one was seen. A put
/// before that is dropped without a trace (zenoh sends a sample only toward subscribers it has
/// heard of), so a process that joins the bus to send a command waits here instead of sleeping a
/// fixed time, then sends through the returned publisher.
///
/// # Errors
/// zenoh failing to declare the publisher or to answer.
pub fn matched_publisher(
    session: &zenoh::Session,
    key: &str,
    timeout: std::time::Duration,
) -> Result<(zenoh::pubsub::Publisher<'static>, bool), BusError> {
    let zerr = |e: zenoh::Error| BusError::Zenoh(e.to_string());
    let publisher = session
        .declare_publisher(key.to_owned())
        .wait()
        .map_err(zerr)?;
    let start = std::time::Instant::now();
    loop {
        if publisher.matching_status().wait().map_err(zerr)?.matching() {
            return Ok((publisher, true));
        }
        if start.elapsed() >= timeout {
            return Ok((publisher, false));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn load_file(path: &Path) -> Result<zenoh::Config, BusError> {
    zenoh::Config::from_file(path).map_err(|e| BusError::ConfigFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn set(c: &mut zenoh::Config, key: &str, value: &str) -> Result<(), BusError> {
    c.insert_json5(key, value).map_err(|e| BusError::Setting {
        key: key.to_owned(),
        value: value.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_override_and_bad_ones_are_named() {
        let c = BusConfig {
            connect: vec!["tcp/127.0.0.1:7000".into()],
            listen: vec!["tcp/127.0.0.1:7001".into()],
            ..BusConfig::default()
        }
        .to_zenoh()
        .unwrap();
        let text = format!("{c}");
        assert!(
            text.contains("127.0.0.1:7000") && text.contains("127.0.0.1:7001"),
            "{text}"
        );
        let err = BusConfig::connect_to("not an endpoint")
            .to_zenoh()
            .unwrap_err()
            .to_string();
        assert!(err.contains("connect/endpoints"), "{err}");
        let err = BusConfig {
            config_file: Some("/nonexistent/zenoh.json5".into()),
            ..BusConfig::default()
        }
        .to_zenoh()
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/zenoh.json5"), "{err}");
    }

    #[test]
    fn a_client_listens_nowhere_and_refuses_listen_endpoints() {
        let c = BusConfig {
            mode: Some(Mode::Client),
            ..BusConfig::connect_to("tcp/127.0.0.1:7000")
        }
        .to_zenoh()
        .unwrap();
        let text = format!("{c}");
        assert!(text.contains("\"mode\":\"client\""), "{text}");
        let err = BusConfig {
            mode: Some(Mode::Client),
            listen: vec!["tcp/127.0.0.1:7001".into()],
            ..BusConfig::default()
        }
        .to_zenoh()
        .unwrap_err()
        .to_string();
        assert!(err.contains("listens nowhere"), "{err}");
    }

    #[test]
    fn two_sessions_on_loopback_exchange_a_sample() {
        use std::sync::mpsc;
        let a = BusConfig::listen_on("tcp/127.0.0.1:17461").open().unwrap();
        let b = BusConfig::connect_to("tcp/127.0.0.1:17461").open().unwrap();
        let (tx, rx) = mpsc::channel();
        let _sub = b
            .declare_subscriber("vigor/test/ping")
            .callback(move |s| {
                let _ = tx.send(s.payload().to_bytes().to_vec());
            })
            .wait()
            .unwrap();
        // Give the subscription time to reach the other peer, then publish until it arrives.
        let mut got = None;
        for _ in 0..50 {
            a.put("vigor/test/ping", vec![1u8, 2, 3]).wait().unwrap();
            if let Ok(p) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
                got = Some(p);
                break;
            }
        }
        assert_eq!(got, Some(vec![1, 2, 3]));
    }
}
