//! N environments stepped in parallel on a persistent worker pool ([`crate::par`]).
//!
//! Each environment owns its world and its random streams (seeded from the run seed and its
//! index), and each step's work touches only its own environment, so results are bit-identical
//! whatever the thread count. An environment whose episode ends is reset by the worker that
//! stepped it, in the same call, while idle workers take the other environments.

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
        let threads = crate::par::resolve(threads);
        let mut built: Vec<Option<Result<Env, EnvError>>> = specs.iter().map(|_| None).collect();
        crate::par::par_each(&mut built, threads, |i, slot| {
            *slot = Some(Env::new(robot, config, specs[i]));
        });
        let envs = built
            .into_iter()
            .map(|e| e.expect("every environment was built"))
            .collect::<Result<Vec<_>, _>>()?;
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
        let mut work: Vec<(&mut Env, &Vec<JointCommand>, Result<(), EnvError>)> = self
            .envs
            .iter_mut()
            .zip(commands)
            .map(|(e, c)| (e, c, Ok(())))
            .collect();
        crate::par::par_each(&mut work, self.threads, |i, (env, cmd, result)| {
            env.step(cmd);
            if let Some(spec) = reset(i, env) {
                *result = env.reset(spec);
            }
        });
        let results: Vec<Result<(), EnvError>> = work.into_iter().map(|(_, _, r)| r).collect();
        results.into_iter().collect()
    }

    /// The true state of every environment.
    #[must_use]
    pub fn states(&self) -> Vec<RobotState> {
        self.envs.iter().map(Env::state).collect()
    }
}
