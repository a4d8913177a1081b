//! A student run's files: the deployable artifact with its probe (`run/student/`), and the
//! checkpoints with exact resume that [`RunDir`] keeps (`run/checkpoints/iter_N/`: weights and
//! manifest, optimiser moments, state, task; `run/latest` names the newest).

use std::path::Path;
use std::sync::Arc;

use tch::{Device, Tensor};
use vigor_common::fsutil;
use vigor_policy::StudentPolicy;
use vigor_sim::SimParams;
use vigor_sim::robot::Robot;
use vigor_sim::sensors::RobotGeometry;

use super::rollout::{ProbeTick, StudentActing, run_student};
use super::runner::{
    PROBE_FILE, PROBE_STEPS, STATE, StudentState, StudentTask, TASK_FILE, build_envs, episode_spec,
    invalid, io, named_params,
};
use super::sensor::StudentSensor;
use crate::rl::Adam;
use crate::run_dir::{OPTIMIZER, RunDir, load_moments, save_moments};
use crate::teacher::runner::TrainError;

/// Writes the deployable artifact into `dir`: `manifest.json`, `weights.safetensors`,
/// `task.json`, and a probe (a short evaluation episode's recorded inputs with the actions the
/// batched training path computed for them).
///
/// # Errors
/// File, libtorch or simulator errors.
pub fn export(
    student: &mut StudentPolicy,
    task: &StudentTask,
    robot: &Robot,
    sim: &SimParams,
    dir: &Path,
) -> Result<(), TrainError> {
    student.save(dir).map_err(invalid)?;
    let json = serde_json::to_vec_pretty(task).map_err(invalid)?;
    let path = dir.join(TASK_FILE);
    fsutil::write_atomic(&path, &json).map_err(io(&path))?;
    // An iteration no run reaches (the iteration count is at most 1e6): its own episode.
    let spec = episode_spec(&task.student, &task.teacher, 1 << 40, 0);
    let (mut envs, mut sensors, _) =
        build_envs(task, student.manifest(), robot, sim, &[spec], false, 1)?;
    for s in &mut sensors {
        *s = StudentSensor::new(
            student.manifest(),
            task.camera,
            Arc::new(RobotGeometry::new(robot)),
            task.student.depth_rate_hz,
            None,
            None,
            true,
        )
        .map_err(TrainError::Invalid)?;
    }
    let ro = run_student(
        &mut envs,
        &mut sensors,
        student,
        StudentActing {
            teacher: None,
            beta: 0.0,
            seed: 0,
            record: false,
            probe: true,
            mirror: None,
        },
        PROBE_STEPS,
        1,
        |_, _| {},
    );
    let size = [
        i64::from(task.camera.width_px),
        i64::from(task.camera.height_px),
    ];
    write_probe(&dir.join(PROBE_FILE), &ro.probe, size)
}

fn write_probe(path: &Path, ticks: &[ProbeTick], depth_size: [i64; 2]) -> Result<(), TrainError> {
    let mut frames_m = Vec::new();
    let mut depth_index = Vec::new();
    let mut n_depth = 0i64;
    for t in ticks {
        if let Some(d) = &t.depth_m {
            frames_m.extend_from_slice(d);
            depth_index.push(n_depth);
            n_depth += 1;
        } else {
            depth_index.push(-1);
        }
    }
    let steps = ticks.len() as i64;
    let cat = |f: &dyn Fn(&ProbeTick) -> Vec<f32>| {
        Tensor::from_slice(&ticks.iter().flat_map(f).collect::<Vec<f32>>()).view([steps, -1])
    };
    let mut named = vec![
        ("depth_index".to_owned(), Tensor::from_slice(&depth_index)),
        ("frame".to_owned(), cat(&|t| t.frame.clone())),
        ("engaged_s".to_owned(), cat(&|t| vec![t.engaged_s])),
        ("action".to_owned(), cat(&|t| t.action.clone())),
    ];
    if n_depth > 0 {
        named.push((
            "depth_m".to_owned(),
            Tensor::from_slice(&frames_m).view([n_depth, -1]),
        ));
        named.push(("depth_size".to_owned(), Tensor::from_slice(&depth_size)));
    }
    let tmp = fsutil::temp_sibling(path);
    Tensor::write_safetensors(&named, &tmp).map_err(invalid)?;
    fsutil::commit(&tmp, path).map_err(io(path))
}

/// Writes a checkpoint's files into `dir` (the student artifact, the optimiser's moments, the
/// state and the task); [`RunDir::commit_checkpoint`] gives the folder and puts it in place.
pub(super) fn write_checkpoint(
    dir: &Path,
    student: &mut StudentPolicy,
    adam: &Adam,
    state: &StudentState,
    task: &StudentTask,
) -> Result<(), TrainError> {
    student.save(dir).map_err(invalid)?;
    save_moments(adam, &dir.join(OPTIMIZER))?;
    for (file, value) in [
        (STATE, serde_json::to_vec_pretty(state).map_err(invalid)?),
        (TASK_FILE, serde_json::to_vec_pretty(task).map_err(invalid)?),
    ] {
        let p = dir.join(file);
        fsutil::write_atomic(&p, &value).map_err(io(&p))?;
    }
    Ok(())
}

/// The student, optimiser and state of the newest complete checkpoint of `run`, which must have
/// been trained for `task`.
pub(super) fn resume(
    run: &RunDir,
    task: &StudentTask,
) -> Result<(StudentPolicy, Adam, StudentState), TrainError> {
    let (student, adam, state) = run.load_latest(|dir| load_checkpoint(dir, task))?;
    run.truncate_metrics(state.iteration)?;
    Ok((student, adam, state))
}

fn load_checkpoint(
    dir: &Path,
    task: &StudentTask,
) -> Result<(StudentPolicy, Adam, StudentState), TrainError> {
    let read = |file: &str| -> Result<Vec<u8>, TrainError> {
        let p = dir.join(file);
        std::fs::read(&p).map_err(io(&p))
    };
    let mut saved: StudentTask = serde_json::from_slice(&read(TASK_FILE)?).map_err(invalid)?;
    saved.student.iterations = task.student.iterations;
    // Results do not depend on the thread counts.
    saved.student.threads = task.student.threads;
    saved.student.torch_threads = task.student.torch_threads;
    if saved != *task {
        return Err(TrainError::Resume(format!(
            "{}: the run was started with a different configuration or teacher (only `iterations` may change on --resume)",
            dir.display()
        )));
    }
    let state: StudentState = serde_json::from_slice(&read(STATE)?).map_err(invalid)?;
    let student = StudentPolicy::load(dir, Device::Cpu).map_err(invalid)?;
    let mut adam = Adam::new(&named_params(&student));
    load_moments(
        &mut adam,
        &dir.join(OPTIMIZER),
        state.adam_steps,
        Device::Cpu,
    )?;
    Ok((student, adam, state))
}

/// Reads a student artifact with its task (for evaluation).
///
/// # Errors
/// Missing or mismatched files, naming them.
pub fn load_student(dir: &Path) -> Result<(StudentPolicy, StudentTask), TrainError> {
    let student = StudentPolicy::load(dir, Device::Cpu).map_err(invalid)?;
    let path = dir.join(TASK_FILE);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let task = serde_json::from_slice(&bytes)
        .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
    Ok((student, task))
}
