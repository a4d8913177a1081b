//! Every zenoh key vigor uses. Nothing else in vigor formats key strings.
//!
//! Unitree's topics keep their DDS names, because zenoh's DDS bridge (zenoh-plugin-dds) maps DDS
//! topic `A` to zenoh key `A` (or `S/A` with a scope `S`) with the raw CDR bytes as payload: that is
//! what lets the standard bridge connect vigor to the real robot. vigor's own keys live under
//! [`PREFIX`].

/// A zenoh key and its contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// The key expression (without scope).
    pub key: &'static str,
    /// Payload type and encoding.
    pub payload: &'static str,
    /// Who publishes.
    pub publisher: &'static str,
    /// Who subscribes.
    pub subscribers: &'static str,
    /// Nominal rate.
    pub rate: &'static str,
}

impl Topic {
    /// The key under an optional scope, as the DDS bridge's `--scope` maps it (`S/key`).
    #[must_use]
    pub fn scoped(&self, scope: Option<&str>) -> String {
        match scope.map(|s| s.trim_end_matches('/')) {
            Some(s) if !s.is_empty() => format!("{s}/{}", self.key),
            _ => self.key.to_owned(),
        }
    }
}

/// Prefix of vigor's own keys.
pub const PREFIX: &str = "vigor";

/// Robot state: [`crate::unitree_hg::LowState`] XCDR1 bytes with CRC.
pub const LOWSTATE: Topic = Topic {
    key: "rt/lowstate",
    payload: "unitree_hg LowState_ (XCDR1 LE, 2092 bytes, CRC)",
    publisher: "the robot (through zenoh-plugin-dds) or `vigor sim-robot`",
    subscribers: "`vigor control`, `vigor topic echo`",
    rate: "500 Hz",
};

/// Motor commands: [`crate::unitree_hg::LowCmd`] XCDR1 bytes with CRC. Exactly one writer.
pub const LOWCMD: Topic = Topic {
    key: "rt/lowcmd",
    payload: "unitree_hg LowCmd_ (XCDR1 LE, 1004 bytes, CRC)",
    publisher: "`vigor control` (the only writer allowed)",
    subscribers: "the robot (through zenoh-plugin-dds) or `vigor sim-robot`",
    rate: "500 Hz",
};

/// Head depth camera frames: [`crate::project::DepthFrame`].
pub const DEPTH: Topic = Topic {
    key: "vigor/perception/depth",
    payload: "vigor DepthFrame",
    publisher: "`vigor perception run` (on the robot's Jetson) or `vigor sim-robot`",
    subscribers: "`vigor control`, `vigor topic echo`",
    rate: "30 Hz",
};

/// Controller state, last transition and fault counters: [`crate::project::ControllerStatus`].
pub const CONTROLLER_STATUS: Topic = Topic {
    key: "vigor/controller/status",
    payload: "vigor ControllerStatus",
    publisher: "`vigor control`",
    subscribers: "operators (`vigor topic echo`), system tests",
    rate: "10 Hz and on every transition",
};

/// Operator commands (arm, disarm, engage, e-stop, clear): [`crate::project::ControllerCommand`].
pub const CONTROLLER_COMMAND: Topic = Topic {
    key: "vigor/controller/command",
    payload: "vigor ControllerCommand",
    publisher: "operators (`vigor topic pub`), system tests",
    subscribers: "`vigor control`",
    rate: "on demand",
};

/// What the policy did on each tick (which policy acted, z_hat, reference track, depth age):
/// [`crate::project::PolicyTrace`].
pub const CONTROLLER_POLICY: Topic = Topic {
    key: "vigor/controller/policy",
    payload: "vigor PolicyTrace",
    publisher: "`vigor control`",
    subscribers: "`vigor control --record`, operators (`vigor topic echo`)",
    rate: "50 Hz (every policy tick)",
};

/// Pushes, scenario resets and terrain choice for the simulated robot:
/// [`crate::project::SimRequest`].
pub const SIM_REQUEST: Topic = Topic {
    key: "vigor/sim/request",
    payload: "vigor SimRequest",
    publisher: "operators, demos, system tests",
    subscribers: "`vigor sim-robot`",
    rate: "on demand",
};

/// Distributed training: a rollout worker asks the learner for work with a query here; the
/// answer is a [`crate::project::TrainWork`] (episodes to run, wait, or done).
pub const TRAIN_WORK: Topic = Topic {
    key: "vigor/train/work",
    payload: "query: the worker's name (UTF-8); reply: vigor TrainWork",
    publisher: "`vigor train teacher --workers` (the learner's queryable)",
    subscribers: "`vigor rollout-worker` (queries)",
    rate: "whenever a worker is idle",
};

/// Distributed training: the learner's weights at the version a query's payload names (the
/// number as UTF-8 text; the newest without one): [`crate::project::TrainWeights`].
pub const TRAIN_WEIGHTS: Topic = Topic {
    key: "vigor/train/weights",
    payload: "query: the version as UTF-8 text (optional); reply: vigor TrainWeights",
    publisher: "`vigor train teacher --workers` (the learner's queryable)",
    subscribers: "`vigor rollout-worker` (queries)",
    rate: "once per weights version per worker",
};

/// Distributed training: a worker hands in a rollout chunk as a query's payload
/// ([`crate::project::TrainChunk`]); the reply says whether the learner took it (`taken`,
/// `stale`, `duplicate`, or `bad` for one that does not fit its assignment).
pub const TRAIN_CHUNK: Topic = Topic {
    key: "vigor/train/chunk",
    payload: "query: vigor TrainChunk; reply: UTF-8 verdict",
    publisher: "`vigor rollout-worker` (queries)",
    subscribers: "`vigor train teacher --workers` (the learner's queryable)",
    rate: "one per assignment",
};

/// The training fabric's keys. They are not in [`ALL`], the robot's keys: training traffic runs
/// on its own bus (a learner's and its workers' routers) and never crosses the robot's router.
pub const TRAINING: [Topic; 3] = [TRAIN_WORK, TRAIN_WEIGHTS, TRAIN_CHUNK];

/// Every topic of the robot's bus, for listings and access control.
pub const ALL: [Topic; 7] = [
    LOWSTATE,
    LOWCMD,
    DEPTH,
    CONTROLLER_STATUS,
    CONTROLLER_COMMAND,
    CONTROLLER_POLICY,
    SIM_REQUEST,
];

/// The topic with key `key` (unscoped), if vigor knows it.
#[must_use]
pub fn by_key(key: &str) -> Option<&'static Topic> {
    ALL.iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_own_keys_use_prefix() {
        let every: Vec<Topic> = ALL.iter().chain(&TRAINING).copied().collect();
        for (i, a) in every.iter().enumerate() {
            for b in &every[i + 1..] {
                assert_ne!(a.key, b.key);
            }
            assert!(
                a.key.starts_with("rt/") || a.key.starts_with(&format!("{PREFIX}/")),
                "{}",
                a.key
            );
            assert!(!a.key.ends_with('/') && !a.key.contains("//"), "{}", a.key);
        }
    }

    #[test]
    fn scope_prefixes_like_the_dds_bridge() {
        assert_eq!(LOWCMD.scoped(None), "rt/lowcmd");
        assert_eq!(LOWCMD.scoped(Some("g1")), "g1/rt/lowcmd");
        assert_eq!(LOWCMD.scoped(Some("g1/")), "g1/rt/lowcmd");
        assert_eq!(LOWCMD.scoped(Some("")), "rt/lowcmd");
        assert_eq!(by_key("rt/lowstate"), Some(&LOWSTATE));
    }
}
