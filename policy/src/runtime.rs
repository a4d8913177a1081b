//! Running a policy on the robot: one trait for every kind the robot can run, and the deployment
//! the controller's policy thread holds (a primary policy and, for a depth student, the blind
//! student it falls back to when depth frames stop).
//!
//! Per policy tick the thread hands [`Deployment::tick`] the newest robot state (joints in the
//! manifest's order), the seconds since engagement and whether depth is fresh; it gets joint
//! position targets back. Depth frames go to [`Deployment::push_depth`] as they arrive. Every
//! input a student sees is built by [`crate::StudentInputs`], the code training used.
//!
//! Invariants: a teacher is refused at load (it reads the simulator's privileged state); the
//! joints a policy drives must be the robot's, in slot order; the fallback observes every tick, so
//! its history is current when it takes over, and switching back and forth takes effect on the
//! tick the depth age crosses the limit.

use std::path::{Path, PathBuf};

use tch::Device;
use vigor_msgs::project::DepthFrame;
use vigor_perception::PerceptionError;

use crate::artifact::{
    self, ActionMode, ArtifactError, MANIFEST_FILE, Manifest, Network, Policy, PolicyKind,
};
use crate::obs::{ObservationLayout, Proprioception};
use crate::student::StudentPolicy;
use crate::student_runtime::StudentRuntime;

/// The robot's joints as the controller knows them: names and default pose by motor slot.
#[derive(Debug, Clone, Copy)]
pub struct RobotJoints<'a> {
    /// Joint names, by slot.
    pub names: &'a [String],
    /// Default (stand) positions, rad, by slot.
    pub default_q: &'a [f32],
}

/// The newest robot state, joints in the policy's order.
#[derive(Debug, Clone, Copy)]
pub struct RobotState<'a> {
    /// Pelvis IMU angular velocity, body frame, rad/s.
    pub gyro: [f32; 3],
    /// Pelvis IMU orientation, w x y z.
    pub quat_wxyz: [f32; 4],
    /// Joint positions, rad.
    pub q: &'a [f32],
    /// Joint velocities, rad/s.
    pub dq: &'a [f32],
}

/// One tick's outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyOutput {
    /// Joint position targets, rad, before the controller's joint limits.
    pub targets: Vec<f32>,
    /// The raw action (fed back as the next frame's `last_action`).
    pub action: Vec<f32>,
    /// A student's inferred goal-in-context latent z_hat (empty for an MLP).
    pub latent: Vec<f32>,
    /// A student's reference track, picked at engagement.
    pub track: Option<usize>,
}

/// A policy the robot can run.
pub trait PolicyRuntime: Send + std::fmt::Debug {
    /// The artifact's manifest.
    fn manifest(&self) -> &Manifest;
    /// Whether it reads depth frames.
    fn reads_depth(&self) -> bool;
    /// Starts over: the next tick engages (a student picks its track and fills its history).
    /// Depth frames already taken are kept: they show the scene the robot is in.
    fn engage(&mut self);
    /// Takes a depth frame as it arrives (ignored by policies that do not read depth).
    ///
    /// # Errors
    /// A frame whose size does not match its data (it is then ignored).
    fn push_depth(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError>;
    /// Takes the newest state, `engaged_s` after engagement, without acting, so that its history
    /// (and a student's track) stays current.
    fn observe(&mut self, state: &RobotState<'_>, last_action: &[f32], engaged_s: f32);
    /// Takes the newest state and acts, `engaged_s` after engagement.
    ///
    /// # Errors
    /// A libtorch error or inputs of the wrong size.
    fn act(
        &mut self,
        state: &RobotState<'_>,
        last_action: &[f32],
        engaged_s: f32,
        out: &mut PolicyOutput,
    ) -> Result<(), ArtifactError>;
}

/// Fills `frame` with the proprioceptive frame of `layout`.
fn write_frame(
    layout: &ObservationLayout,
    default_q: &[f32],
    state: &RobotState<'_>,
    last_action: &[f32],
    frame: &mut [f32],
) {
    layout.write_proprioception(
        &Proprioception {
            gyro: state.gyro,
            quat_wxyz: state.quat_wxyz,
            q: state.q,
            dq: state.dq,
            default_q,
            last_action,
        },
        frame,
    );
}

/// A proprioceptive MLP on the robot.
#[derive(Debug)]
pub struct MlpRuntime {
    policy: Policy,
    default_q: Vec<f32>,
    obs: Vec<f32>,
}

impl MlpRuntime {
    /// Wraps a loaded MLP for a robot with `default_q`.
    ///
    /// # Errors
    /// An observation the robot's state cannot fill.
    pub fn new(policy: Policy, default_q: &[f32]) -> Result<Self, ArtifactError> {
        let layout = &policy.network().observation;
        if let Some(why) = layout.unbuildable_block(default_q.len()) {
            return Err(ArtifactError::Inconsistent(why));
        }
        let obs = vec![0.0; layout.len()];
        Ok(Self {
            policy,
            default_q: default_q.to_vec(),
            obs,
        })
    }
}

impl PolicyRuntime for MlpRuntime {
    fn manifest(&self) -> &Manifest {
        self.policy.manifest()
    }

    fn reads_depth(&self) -> bool {
        false
    }

    fn engage(&mut self) {}

    fn push_depth(&mut self, _frame: &DepthFrame) -> Result<(), PerceptionError> {
        Ok(())
    }

    fn observe(&mut self, _state: &RobotState<'_>, _last_action: &[f32], _engaged_s: f32) {}

    fn act(
        &mut self,
        state: &RobotState<'_>,
        last_action: &[f32],
        _engaged_s: f32,
        out: &mut PolicyOutput,
    ) -> Result<(), ArtifactError> {
        let net = self.policy.network();
        write_frame(
            &net.observation,
            &self.default_q,
            state,
            last_action,
            &mut self.obs,
        );
        out.action = self.policy.act(&self.obs)?;
        let (mode, scale) = (net.action.mode, net.action.scale);
        out.targets.clear();
        for (k, a) in out.action.iter().enumerate() {
            let base = match mode {
                ActionMode::DefaultOffset => self.default_q.get(k),
                ActionMode::CurrentDelta => state.q.get(k),
            };
            out.targets
                .push(base.copied().unwrap_or(f32::NAN) + scale * a);
        }
        out.latent.clear();
        out.track = None;
        Ok(())
    }
}

/// A depth or blind student on the robot.
#[derive(Debug)]
pub struct StudentDeployment {
    runtime: StudentRuntime,
    layout: ObservationLayout,
    default_q: Vec<f32>,
    frame: Vec<f32>,
}

impl StudentDeployment {
    /// Wraps a loaded student for a robot with `default_q`.
    ///
    /// # Errors
    /// A frame layout the robot's state cannot fill.
    pub fn new(policy: StudentPolicy, default_q: &[f32]) -> Result<Self, ArtifactError> {
        let layout = policy.student().observation.clone();
        if let Some(why) = layout.unbuildable_block(default_q.len()) {
            return Err(ArtifactError::Inconsistent(why));
        }
        let frame = vec![0.0; layout.len()];
        Ok(Self {
            runtime: StudentRuntime::new(policy)?,
            layout,
            default_q: default_q.to_vec(),
            frame,
        })
    }
}

impl PolicyRuntime for StudentDeployment {
    fn manifest(&self) -> &Manifest {
        self.runtime.policy().manifest()
    }

    fn reads_depth(&self) -> bool {
        self.runtime.policy().student().depth.is_some()
    }

    fn engage(&mut self) {
        self.runtime.restart();
    }

    fn push_depth(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        self.runtime.push_depth(frame)
    }

    fn observe(&mut self, state: &RobotState<'_>, last_action: &[f32], engaged_s: f32) {
        write_frame(
            &self.layout,
            &self.default_q,
            state,
            last_action,
            &mut self.frame,
        );
        // The frame is built from the same layout, so its length always fits.
        let _ = self.runtime.observe(&self.frame, engaged_s);
    }

    fn act(
        &mut self,
        state: &RobotState<'_>,
        last_action: &[f32],
        engaged_s: f32,
        out: &mut PolicyOutput,
    ) -> Result<(), ArtifactError> {
        write_frame(
            &self.layout,
            &self.default_q,
            state,
            last_action,
            &mut self.frame,
        );
        let o = self.runtime.step(&self.frame, engaged_s)?;
        out.targets = o.targets;
        out.action = o.action;
        out.latent = o.latent;
        out.track = self.runtime.track();
        Ok(())
    }
}

/// Loads the artifact in `dir` for a robot with `joints`, as the controller runs it.
///
/// # Errors
/// A teacher (it needs privileged inputs), joints that are not the robot's, or any load error,
/// naming the file and the field.
pub fn load_runtime(
    dir: &Path,
    joints: RobotJoints<'_>,
) -> Result<Box<dyn PolicyRuntime>, ArtifactError> {
    let manifest = artifact::read_manifest(dir)?;
    let path = dir.join(MANIFEST_FILE);
    check_joints(&manifest, &path, joints)?;
    match manifest.kind {
        PolicyKind::Teacher => Err(ArtifactError::WrongKind {
            path,
            kind: manifest.kind,
            message: "the teacher reads the simulator's privileged state (terrain scan, contacts, \
                      the demonstration) and cannot run on the robot: deploy a student distilled \
                      from it (`vigor train student --teacher DIR`)"
                .into(),
        }),
        PolicyKind::Mlp => Ok(Box::new(MlpRuntime::new(
            Policy::load(dir)?,
            joints.default_q,
        )?)),
        PolicyKind::DepthStudent | PolicyKind::BlindStudent => Ok(Box::new(
            StudentDeployment::new(StudentPolicy::load(dir, Device::Cpu)?, joints.default_q)?,
        )),
    }
}

fn check_joints(m: &Manifest, path: &Path, joints: RobotJoints<'_>) -> Result<(), ArtifactError> {
    let bad = |message: String| ArtifactError::Field {
        path: path.to_path_buf(),
        field: "joints".into(),
        message,
    };
    if m.joints.len() != joints.names.len() {
        return Err(bad(format!(
            "{} joints; the robot has {}",
            m.joints.len(),
            joints.names.len()
        )));
    }
    match m.joints.iter().zip(joints.names).position(|(a, b)| a != b) {
        Some(i) => Err(bad(format!(
            "joints[{i}] is `{}`; the robot's joint in slot {i} is `{}`",
            m.joints[i], joints.names[i]
        ))),
        None => Ok(()),
    }
}

/// Where the fallback of the depth student in `dir` is: `explicit` if given, else the artifact's
/// own `fallback` (relative to `dir`), else none.
#[must_use]
pub fn fallback_dir(dir: &Path, manifest: &Manifest, explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        manifest
            .student()
            .and_then(|s| s.fallback.as_ref())
            .map(|f| dir.join(f))
    })
}

/// Names `fallback` (a folder relative to `dir`, e.g. `../student-blind`) as the blind fallback of
/// the depth student in `dir`, or with `None` removes the one it names, rewriting only its
/// manifest. A fallback is checked first as the controller would load the pair for a robot with
/// `joints`: both load, the fallback reads no depth and drives the same joints. Returns the
/// manifest written.
///
/// # Errors
/// `dir` is not a depth student, `fallback` is absolute, either artifact does not load, or the
/// pair is inconsistent; the manifest is then left as it was.
pub fn set_fallback(
    dir: &Path,
    fallback: Option<&str>,
    joints: RobotJoints<'_>,
) -> Result<Manifest, ArtifactError> {
    let mut manifest = artifact::read_manifest(dir)?;
    let path = dir.join(MANIFEST_FILE);
    if manifest.kind != PolicyKind::DepthStudent {
        return Err(ArtifactError::WrongKind {
            path,
            kind: manifest.kind,
            message: "only a depth student has a blind fallback (for when depth frames stop)"
                .into(),
        });
    }
    if let Some(rel) = fallback {
        if Path::new(rel).is_absolute() {
            return Err(ArtifactError::Field {
                path,
                field: "network.student.fallback".into(),
                message: format!(
                    "`{rel}` is absolute; give it relative to {} so the pair can move together",
                    dir.display()
                ),
            });
        }
        Deployment::new(
            load_runtime(dir, joints)?,
            Some(load_runtime(&dir.join(rel), joints)?),
        )?;
    }
    if let Network::Student(s) = &mut manifest.network {
        s.fallback = fallback.map(str::to_owned);
    }
    artifact::write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// Which policy acted on a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    /// The primary policy.
    Primary,
    /// The blind fallback (depth stale).
    Fallback,
}

/// What the controller's policy thread holds: the primary policy, an optional blind fallback,
/// the last action and the engagement.
#[derive(Debug)]
pub struct Deployment {
    primary: Box<dyn PolicyRuntime>,
    fallback: Option<Box<dyn PolicyRuntime>>,
    last_action: Vec<f32>,
    engaged: bool,
    acting: Acting,
    out: PolicyOutput,
}

impl Deployment {
    /// A deployment of `primary`, falling back to `fallback` when depth is stale.
    ///
    /// # Errors
    /// A fallback that reads depth itself or drives other joints.
    pub fn new(
        primary: Box<dyn PolicyRuntime>,
        fallback: Option<Box<dyn PolicyRuntime>>,
    ) -> Result<Self, ArtifactError> {
        if let Some(f) = &fallback {
            if f.reads_depth() {
                return Err(ArtifactError::Inconsistent(format!(
                    "the fallback `{}` reads depth itself; it must be a blind policy",
                    f.manifest().name
                )));
            }
            if f.manifest().joints != primary.manifest().joints {
                return Err(ArtifactError::Inconsistent(format!(
                    "the fallback `{}` drives other joints than `{}`",
                    f.manifest().name,
                    primary.manifest().name
                )));
            }
        }
        let n = primary.manifest().joints.len();
        Ok(Self {
            primary,
            fallback,
            last_action: vec![0.0; n],
            engaged: false,
            acting: Acting::Primary,
            out: PolicyOutput::default(),
        })
    }

    /// The primary policy.
    #[must_use]
    pub fn primary(&self) -> &dyn PolicyRuntime {
        self.primary.as_ref()
    }

    /// The fallback, if any.
    #[must_use]
    pub fn fallback(&self) -> Option<&dyn PolicyRuntime> {
        self.fallback.as_deref()
    }

    /// Whether the primary policy reads depth.
    #[must_use]
    pub fn reads_depth(&self) -> bool {
        self.primary.reads_depth()
    }

    /// Which policy acted on the newest tick.
    #[must_use]
    pub fn acting(&self) -> Acting {
        self.acting
    }

    /// Takes a depth frame as it arrives.
    ///
    /// # Errors
    /// A frame whose size does not match its data (it is then ignored).
    pub fn push_depth(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        self.primary.push_depth(frame)
    }

    /// Not engaged (the controller is not Active): the next tick engages again.
    pub fn disengage(&mut self) {
        self.engaged = false;
    }

    /// One policy tick, `engaged_s` after engagement: the primary acts while depth is fresh (or
    /// not read), the fallback while it is stale (the primary if there is none; the controller
    /// then applies its configured depth action). The policy that does not act observes.
    ///
    /// # Errors
    /// A policy that fails to run (the controller treats it like a non-finite action).
    pub fn tick(
        &mut self,
        state: &RobotState<'_>,
        engaged_s: f32,
        depth_fresh: bool,
    ) -> Result<&PolicyOutput, ArtifactError> {
        if !self.engaged {
            self.primary.engage();
            if let Some(f) = self.fallback.as_mut() {
                f.engage();
            }
            self.last_action.fill(0.0);
            self.engaged = true;
        }
        let use_fallback = !depth_fresh && self.primary.reads_depth() && self.fallback.is_some();
        let (acting, other) = match (use_fallback, self.fallback.as_mut()) {
            (true, Some(f)) => (f, Some(&mut self.primary)),
            (_, f) => (&mut self.primary, f),
        };
        acting.act(state, &self.last_action, engaged_s, &mut self.out)?;
        if let Some(o) = other {
            o.observe(state, &self.last_action, engaged_s);
        }
        self.acting = if use_fallback {
            Acting::Fallback
        } else {
            Acting::Primary
        };
        if self.out.action.len() == self.last_action.len() {
            self.last_action.copy_from_slice(&self.out.action);
        } else {
            self.last_action.fill(f32::NAN);
        }
        Ok(&self.out)
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
