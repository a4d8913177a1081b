//! N environments stepped in parallel on worker threads.
//!
//! Each environment owns its world and its random streams (seeded from the run seed and its
//! index), and workers take fixed contiguous chunks, so results are bit-identical whatever the
//! thread count. An environment whose episode ends is reset by its own worker in the same call,
//! without stalling the others.

use crate::env::EnvError;
use crate::env::{Env, EnvConfig, EpisodeSpec};
use crate::rapier::{JointCommand, RobotState};
use crate::robot::Robot;

/// A batch of environments.
pub struct VecEnv {
    envs: Vec<Env>,
    threads: usize,
}

impl VecEnv {
    /// Builds `specs.len()` environments (in parallel) and resets each into its spec.
    ///
    /// `threads` = 0 means one per available core.
    ///
    /// # Errors
    /// Invalid terrain parameters.
    pub fn new(
        robot: &Robot,
        config: &EnvConfig,
        specs: &[EpisodeSpec],
        threads: usize,
    ) -> Result<Self, EnvError> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            threads
        };
        let chunk = specs.len().div_ceil(threads.max(1)).max(1);
        let built: Vec<Result<Vec<Env>, EnvError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = specs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|s| Env::new(robot, config, *s)).collect())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut envs = Vec::with_capacity(specs.len());
        for part in built {
            envs.extend(part?);
        }
        Ok(Self { envs, threads })
    }

    /// Number of environments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Worker threads used.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The environments.
    #[must_use]
    pub fn envs(&self) -> &[Env] {
        &self.envs
    }

    /// One policy step of every environment: `commands[i]` drives environment `i`; then every
    /// environment for which `reset(i, env)` returns a spec is reset into it (on its worker).
    ///
    /// # Errors
    /// A reset with invalid terrain parameters.
    ///
    /// # Panics
    /// If `commands.len()` differs from the number of environments.
    pub fn step<F>(&mut self, commands: &[Vec<JointCommand>], reset: F) -> Result<(), EnvError>
    where
        F: Fn(usize, &Env) -> Option<EpisodeSpec> + Sync,
    {
        assert_eq!(
            commands.len(),
            self.envs.len(),
            "one command vector per environment"
        );
        let chunk = self.envs.len().div_ceil(self.threads.max(1)).max(1);
        let reset = &reset;
        let results: Vec<Result<(), EnvError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .envs
                .chunks_mut(chunk)
                .zip(commands.chunks(chunk))
                .enumerate()
                .map(|(c, (envs, cmds))| {
                    scope.spawn(move || {
                        for (k, (env, cmd)) in envs.iter_mut().zip(cmds).enumerate() {
                            env.step(cmd);
                            if let Some(spec) = reset(c * chunk + k, env) {
                                env.reset(spec)?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        results.into_iter().collect()
    }

    /// The true state of every environment.
    #[must_use]
    pub fn states(&self) -> Vec<RobotState> {
        self.envs.iter().map(Env::state).collect()
    }
}
