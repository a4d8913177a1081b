//! Requests to the simulated robot: pushes, scenario resets, terrain choice.

use serde::{Deserialize, Serialize};

use super::{Dec, Enc, Kind};
use crate::DecodeError;

/// Longest link, scenario or terrain name accepted, bytes.
pub const MAX_NAME_LEN: usize = 64;

/// What the simulated robot is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SimRequestKind {
    /// Apply a constant world-frame force to a link for a while.
    Push {
        /// Link name from the robot description (e.g. `pelvis`, `torso_link`).
        link: String,
        /// Force in the world frame, N.
        force_n: [f32; 3],
        /// How long the force acts, s (0 < duration <= 10).
        duration_s: f32,
    },
    /// Reset the robot into a named scenario.
    Reset {
        /// Scenario name (e.g. `supine`, `push_fall`).
        scenario: String,
        /// Seed for the scenario's randomisation.
        seed: u64,
    },
    /// Reset into exactly the episode that `vigor eval` runs in-process for this scenario, terrain
    /// and episode seed: the same terrain tile, start pose and settling, without domain
    /// randomisation (as the shipped policies are evaluated). Lying starts only: a fall start's
    /// push comes as a [`SimRequestKind::Push`].
    Episode {
        /// Scenario name (a lying start, e.g. `supine`).
        scenario: String,
        /// Terrain type name (e.g. `flat`); a scenario that needs its own terrain overrides it.
        terrain: String,
        /// Difficulty in 0..=1.
        difficulty: f32,
        /// Episode seed, as in the evaluation's episode list.
        seed: u64,
    },
    /// Switch terrain (takes effect at the next reset).
    Terrain {
        /// Terrain type name (e.g. `flat`, `stairs_up`).
        name: String,
        /// Difficulty in 0..=1.
        difficulty: f32,
        /// Seed of the terrain generator.
        seed: u64,
    },
}

/// A request to the simulated robot. Topic: [`crate::topics::SIM_REQUEST`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRequest {
    /// Sender's request counter.
    pub seq: u64,
    /// Send time, ns, sender's clock.
    pub stamp_ns: u64,
    /// The request.
    pub request: SimRequestKind,
}

impl SimRequest {
    const NAME: &'static str = "SimRequest";

    /// Encodes the request.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for a name longer than [`MAX_NAME_LEN`] or a non-finite or
    /// out-of-range number (the checks decoding makes).
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        self.check()?;
        let mut e = Enc::new(Kind::SimRequest, 64);
        e.u64(self.seq);
        e.u64(self.stamp_ns);
        match &self.request {
            SimRequestKind::Push {
                link,
                force_n,
                duration_s,
            } => {
                e.u8(0);
                e.str(link);
                for &f in force_n {
                    e.f32(f);
                }
                e.f32(*duration_s);
            }
            SimRequestKind::Reset { scenario, seed } => {
                e.u8(1);
                e.str(scenario);
                e.u64(*seed);
            }
            SimRequestKind::Terrain {
                name,
                difficulty,
                seed,
            } => {
                e.u8(2);
                e.str(name);
                e.f32(*difficulty);
                e.u64(*seed);
            }
            SimRequestKind::Episode {
                scenario,
                terrain,
                difficulty,
                seed,
            } => {
                e.u8(3);
                e.str(scenario);
                e.str(terrain);
                e.f32(*difficulty);
                e.u64(*seed);
            }
        }
        Ok(e.finish())
    }

    fn check(&self) -> Result<(), DecodeError> {
        let invalid = |field, reason| DecodeError::Invalid {
            message: Self::NAME,
            field,
            reason,
        };
        match &self.request {
            SimRequestKind::Push {
                link,
                force_n,
                duration_s,
            } => {
                if link.len() > MAX_NAME_LEN {
                    return Err(invalid("link", "string longer than allowed"));
                }
                check_push(force_n, *duration_s).map_err(|(f, r)| invalid(f, r))
            }
            SimRequestKind::Reset { scenario, .. } if scenario.len() > MAX_NAME_LEN => {
                Err(invalid("scenario", "string longer than allowed"))
            }
            SimRequestKind::Terrain {
                name, difficulty, ..
            } => {
                if name.len() > MAX_NAME_LEN {
                    return Err(invalid("name", "string longer than allowed"));
                }
                check_difficulty(*difficulty).map_err(|(f, r)| invalid(f, r))
            }
            SimRequestKind::Episode {
                scenario,
                terrain,
                difficulty,
                ..
            } => {
                if scenario.len() > MAX_NAME_LEN {
                    return Err(invalid("scenario", "string longer than allowed"));
                }
                if terrain.len() > MAX_NAME_LEN {
                    return Err(invalid("terrain", "string longer than allowed"));
                }
                check_difficulty(*difficulty).map_err(|(f, r)| invalid(f, r))
            }
            SimRequestKind::Reset { .. } => Ok(()),
        }
    }

    /// Decodes a request.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::SimRequest, Self::NAME)?;
        let seq = d.u64("seq")?;
        let stamp_ns = d.u64("stamp_ns")?;
        let request = match d.u8("request")? {
            0 => {
                let link = d.str("link", MAX_NAME_LEN)?;
                let force_n = [d.f32("force_n")?, d.f32("force_n")?, d.f32("force_n")?];
                let duration_s = d.f32("duration_s")?;
                check_push(&force_n, duration_s).map_err(|(f, r)| d.invalid(f, r))?;
                SimRequestKind::Push {
                    link,
                    force_n,
                    duration_s,
                }
            }
            1 => SimRequestKind::Reset {
                scenario: d.str("scenario", MAX_NAME_LEN)?,
                seed: d.u64("seed")?,
            },
            2 => {
                let name = d.str("name", MAX_NAME_LEN)?;
                let difficulty = d.f32("difficulty")?;
                check_difficulty(difficulty).map_err(|(f, r)| d.invalid(f, r))?;
                SimRequestKind::Terrain {
                    name,
                    difficulty,
                    seed: d.u64("seed")?,
                }
            }
            3 => {
                let scenario = d.str("scenario", MAX_NAME_LEN)?;
                let terrain = d.str("terrain", MAX_NAME_LEN)?;
                let difficulty = d.f32("difficulty")?;
                check_difficulty(difficulty).map_err(|(f, r)| d.invalid(f, r))?;
                SimRequestKind::Episode {
                    scenario,
                    terrain,
                    difficulty,
                    seed: d.u64("seed")?,
                }
            }
            _ => return Err(d.invalid("request", "unknown code")),
        };
        d.finish()?;
        Ok(Self {
            seq,
            stamp_ns,
            request,
        })
    }
}

fn check_push(force_n: &[f32; 3], duration_s: f32) -> Result<(), (&'static str, &'static str)> {
    if !force_n.iter().all(|f| f.is_finite()) {
        return Err(("force_n", "not finite"));
    }
    if !(duration_s > 0.0 && duration_s <= 10.0) {
        return Err(("duration_s", "outside (0, 10] s"));
    }
    Ok(())
}

fn check_difficulty(difficulty: f32) -> Result<(), (&'static str, &'static str)> {
    if (0.0..=1.0).contains(&difficulty) {
        Ok(())
    } else {
        Err(("difficulty", "outside 0..=1"))
    }
}
