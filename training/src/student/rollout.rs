//! Running environments with the student, the teacher beside it (DAgger).
//!
//! Each policy step, for every environment: the student's inputs are built by the robot's own code
//! ([`vigor_policy::StudentInputs`]); the teacher reads its privileged row and gives the labels
//! (its latent z and its action); the step executes the teacher's action with probability beta,
//! else the student's (DAgger's mixture policy). Actions are residuals on the reference track each
//! policy picked, so labels and executed actions are converted between the two bases.

use std::time::Instant;

use vigor_common::seed::{SplitMix64, derive};
use vigor_policy::StudentPolicy;

use super::sensor::StudentSensor;
use super::symmetry::StudentMirror;
use crate::teacher::Teacher;
use crate::teacher::rollout::par_each;
use crate::teacher::task::{Outcome, TaskEnv};

/// Distillation samples, one per environment step (`index = t * envs + i`), followed by the
/// mirror images of those that were mirrored ([`StudentActing::mirror`]).
#[derive(Debug, Clone, Default)]
pub struct StudentBatch {
    /// Samples.
    pub len: usize,
    /// Depth stacks.
    pub depth: Vec<f32>,
    /// Normalised proprioception histories.
    pub history: Vec<f32>,
    /// Phases.
    pub phase: Vec<f32>,
    /// The teacher's latents.
    pub latent: Vec<f32>,
    /// The teacher's actions in the student's base.
    pub action: Vec<f32>,
}

/// One environment-0 tick as the robot would see it, for the deployment check.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTick {
    /// A depth image pushed this tick (metres, camera resolution), if the camera ticked.
    pub depth_m: Option<Vec<f32>>,
    /// The proprioceptive frame.
    pub frame: Vec<f32>,
    /// Seconds since engagement.
    pub engaged_s: f32,
    /// The student's action (from the batched training path).
    pub action: Vec<f32>,
}

/// What a student rollout gives back.
#[derive(Debug, Clone, Default)]
pub struct StudentRollout {
    /// Samples (empty unless recording).
    pub batch: StudentBatch,
    /// Per environment, the outcome.
    pub outcomes: Vec<Outcome>,
    /// Mean squared latent error of the student while acting (with a teacher).
    pub latent_mse: f64,
    /// Mean squared action error while acting (with a teacher).
    pub action_mse: f64,
    /// Share of steps that executed the teacher's action.
    pub teacher_share: f64,
    /// Share of environments whose student picked the environment's own reference track.
    pub track_match: f64,
    /// Mirror-image samples appended to the batch.
    pub mirrored: usize,
    /// Environment 0's ticks (when probing).
    pub probe: Vec<ProbeTick>,
    /// Seconds simulating, rendering and building inputs.
    pub sim_s: f64,
    /// Seconds in network forward passes.
    pub forward_s: f64,
}

/// How the rollout runs.
#[derive(Debug, Clone, Copy)]
pub struct StudentActing<'a> {
    /// The teacher (labels and, with probability `beta`, actions); `None` in evaluation.
    pub teacher: Option<&'a Teacher>,
    /// Chance that a step executes the teacher's action.
    pub beta: f32,
    /// Seed of the beta draws.
    pub seed: u64,
    /// Keep the samples.
    pub record: bool,
    /// Keep environment 0's ticks.
    pub probe: bool,
    /// With a teacher and recording: also record the mirror image of every state whose tracks
    /// have mirror partners, labelled by the teacher on its mirrored row.
    pub mirror: Option<&'a StudentMirror>,
}

fn residual(base: &[f32], target_base: &[f32], a: &[f32], scale: f32, clip: f32) -> Vec<f32> {
    // q* = base + scale clip(a)  ==  target_base + scale a'  =>  a' = (base - target_base) / scale + clip(a).
    base.iter()
        .zip(target_base)
        .zip(a)
        .map(|((b, t), x)| (b - t) / scale + x.clamp(-clip, clip))
        .collect()
}

/// Runs every environment (already reset, with its sensor reset) for `steps` policy steps.
/// `on_step(t, envs)` runs after each step.
#[allow(clippy::too_many_arguments)]
pub fn run_student<F>(
    envs: &mut [TaskEnv],
    sensors: &mut [StudentSensor],
    student: &StudentPolicy,
    acting: StudentActing<'_>,
    steps: usize,
    threads: usize,
    mut on_step: F,
) -> StudentRollout
where
    F: FnMut(usize, &[TaskEnv]),
{
    let m = student.student();
    let n = envs.len();
    let act = m.spec.actions;
    let dl = sensors.first().map_or(0, |s| s.inputs.depth_len());
    let hl = m.spec.history * m.spec.frame;
    let mut out = StudentRollout::default();
    // A blind student has no depth values; one unused value per environment keeps the chunks.
    let dw = dl.max(1);
    let (mut depth, mut hist, mut phase) = (vec![0.0; n * dw], vec![0.0; n * hl], vec![0.0; n]);
    let mut rngs: Vec<SplitMix64> = (0..n)
        .map(|i| SplitMix64::new(derive(acting.seed, "dagger", i as u64)))
        .collect();
    let (mut sq_z, mut sq_a, mut count, mut teacher_steps) = (0.0f64, 0.0f64, 0usize, 0usize);
    let mut mirrored = StudentBatch::default();
    for t in 0..steps {
        let started = Instant::now();
        {
            let mut views: Vec<_> = envs
                .iter_mut()
                .zip(sensors.iter_mut())
                .zip(depth.chunks_mut(dw))
                .zip(hist.chunks_mut(hl))
                .zip(phase.iter_mut())
                .collect();
            par_each(&mut views, threads, |_, ((((env, sensor), d), h), p)| {
                sensor.sense(env, m);
                **p = sensor.inputs.write(env.since_engaged_s(), &mut d[..dl], h);
            });
        }
        out.sim_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let (z_hat, a_student) = student.act_batch(n, &depth, &hist, &phase);
        let labels = acting.teacher.map(|teacher| {
            let row = teacher.net.spec.row();
            let mut rows = vec![0.0f32; n * row];
            {
                let mut views: Vec<_> = envs.iter().zip(rows.chunks_mut(row)).collect();
                par_each(&mut views, threads, |_, (env, r)| env.observe(r));
            }
            let images = acting
                .mirror
                .filter(|_| acting.record)
                .map(|mirror| mirror_images(mirror, teacher, envs, sensors, &rows, row));
            teacher.manifest.normaliser.apply_rows(&mut rows);
            (teacher.net.latent_and_mean(&rows), images)
        });
        out.forward_s += started.elapsed().as_secs_f64();
        let mut executed = vec![0.0f32; n * act];
        for i in 0..n {
            let env = &envs[i];
            // Each track at its own time: a hand-over restarts it (`task.reanchor`).
            let te = sensors[i].inputs.track_time_s(env.since_engaged_s());
            let tt = env.reference_time_s();
            let own = &m.references[sensors[i].inputs.track().unwrap_or(0)];
            let truth = &m.references[env.reference_index().min(m.references.len() - 1)];
            let a_s = &a_student[i * act..(i + 1) * act];
            let as_env = residual(own.at(te), truth.at(tt), a_s, m.action_scale, m.action_clip);
            let mut chosen = as_env;
            let mut own_terms = a_s.to_vec();
            if let Some(((z, a_t), _)) = &labels {
                let a_t = &a_t[i * act..(i + 1) * act];
                let label = residual(truth.at(tt), own.at(te), a_t, m.action_scale, m.action_clip);
                let l = m.spec.latent;
                sq_z += z_hat[i * l..(i + 1) * l]
                    .iter()
                    .zip(&z[i * l..(i + 1) * l])
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
                    / l as f64;
                sq_a += a_s
                    .iter()
                    .zip(&label)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
                    / act as f64;
                count += 1;
                if acting.record {
                    out.batch.latent.extend_from_slice(&z[i * l..(i + 1) * l]);
                    out.batch.action.extend_from_slice(&label);
                }
                if rngs[i].next_f32() < acting.beta {
                    chosen = a_t.to_vec();
                    own_terms = label;
                    teacher_steps += 1;
                }
            }
            sensors[i].set_last_action(&own_terms);
            executed[i * act..(i + 1) * act].copy_from_slice(&chosen);
        }
        if acting.record && labels.is_some() {
            if dl > 0 {
                out.batch.depth.extend_from_slice(&depth);
            }
            out.batch.history.extend_from_slice(&hist);
            out.batch.phase.extend_from_slice(&phase);
            out.batch.len += n;
        }
        if let (Some(mirror), Some((_, Some(images)))) = (acting.mirror, &labels) {
            let l = m.spec.latent;
            for (k, &(i, own, truth)) in images.envs.iter().enumerate() {
                let te = sensors[i].inputs.track_time_s(envs[i].since_engaged_s());
                let tt = envs[i].reference_time_s();
                let a_m = &images.actions[k * act..(k + 1) * act];
                mirrored.action.extend(residual(
                    m.references[truth].at(tt),
                    m.references[own].at(te),
                    a_m,
                    m.action_scale,
                    m.action_clip,
                ));
                mirrored
                    .latent
                    .extend_from_slice(&images.latents[k * l..(k + 1) * l]);
                if dl > 0 {
                    mirrored
                        .depth
                        .extend(mirror.depth(&depth[i * dw..i * dw + dl]));
                }
                let raw = mirror.history(sensors[i].inputs.raw_history());
                let at = mirrored.history.len();
                mirrored.history.resize(at + hl, 0.0);
                sensors[i]
                    .inputs
                    .normalise_history(&raw, &mut mirrored.history[at..]);
                mirrored.phase.push(phase[i]);
                mirrored.len += 1;
            }
        }
        if acting.probe && n > 0 {
            out.probe.push(ProbeTick {
                depth_m: sensors[0].pushed.clone(),
                frame: sensors[0].frame().to_vec(),
                engaged_s: envs[0].since_engaged_s(),
                action: a_student[..act].to_vec(),
            });
        }
        let started = Instant::now();
        {
            let mut views: Vec<_> = envs.iter_mut().zip(executed.chunks(act)).collect();
            par_each(&mut views, threads, |_, (env, a)| {
                env.step(a);
            });
        }
        out.sim_s += started.elapsed().as_secs_f64();
        on_step(t, envs);
    }
    out.mirrored = mirrored.len;
    out.batch.len += mirrored.len;
    out.batch.depth.extend(mirrored.depth);
    out.batch.history.extend(mirrored.history);
    out.batch.phase.extend(mirrored.phase);
    out.batch.latent.extend(mirrored.latent);
    out.batch.action.extend(mirrored.action);
    if count > 0 {
        out.latent_mse = sq_z / count as f64;
        out.action_mse = sq_a / count as f64;
        out.teacher_share = teacher_steps as f64 / count as f64;
    }
    out.track_match = envs
        .iter()
        .zip(sensors.iter())
        .filter(|(e, s)| s.inputs.track() == Some(e.reference_index()))
        .count() as f64
        / n.max(1) as f64;
    out.outcomes = envs.iter().map(TaskEnv::outcome).collect();
    out
}

/// The teacher's labels for the mirror images of one step's states.
struct MirrorImages {
    /// Per mirrored state: its environment, and the partner tracks the student's and the
    /// teacher's mirrored states play.
    envs: Vec<(usize, usize, usize)>,
    /// The teacher's latents on the mirrored rows.
    latents: Vec<f32>,
    /// The teacher's actions on the mirrored rows (residuals on the teacher's partner track).
    actions: Vec<f32>,
}

/// The teacher's answers for the mirror image of every state whose student track and teacher
/// track both have mirror partners; `raw_rows` are the teacher's unnormalised rows of `row`
/// values.
fn mirror_images(
    mirror: &StudentMirror,
    teacher: &Teacher,
    envs: &[TaskEnv],
    sensors: &[StudentSensor],
    raw_rows: &[f32],
    row: usize,
) -> MirrorImages {
    let mut chosen = Vec::new();
    let mut rows = Vec::new();
    for (i, (env, sensor)) in envs.iter().zip(sensors).enumerate() {
        let own = sensor.inputs.track().and_then(|t| mirror.partner(t));
        let truth = mirror.partner(env.reference_index());
        if let (Some(own), Some(truth)) = (own, truth) {
            chosen.push((i, own, truth));
            rows.extend(mirror.teacher_rows(&raw_rows[i * row..(i + 1) * row]));
        }
    }
    if chosen.is_empty() {
        return MirrorImages {
            envs: chosen,
            latents: Vec::new(),
            actions: Vec::new(),
        };
    }
    teacher.manifest.normaliser.apply_rows(&mut rows);
    let (latents, actions) = teacher.net.latent_and_mean(&rows);
    MirrorImages {
        envs: chosen,
        latents,
        actions,
    }
}
