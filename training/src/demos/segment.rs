//! Cutting long takes into fall -> lie -> get-up clips.
//!
//! A frame is *standing* when the pelvis is above [`SegmentParams::standing_above_m`] with the spine
//! within 37° of vertical, and *lying* when the pelvis is below [`SegmentParams::lying_below_m`].
//! Standing runs shorter than [`SegmentParams::min_stand_s`] do not count. Every stretch between
//! two standing runs that holds at least [`SegmentParams::min_lie_s`] of lying frames is one
//! event; its clip keeps [`SegmentParams::margin_s`] of standing on either side, so every clip
//! starts and ends standing. Stretches at the end of a take (no get-up) are dropped.
//!
//! Labels: the start posture is the first lying class (supine, prone, side) held for at least
//! [`SegmentParams::min_label_s`]: where the fall ends and the recovery begins (people often pass
//! through sitting on the way down, so sitting counts only when no lying class does). The
//! behaviour is the sequence of posture classes from that run to the end, runs shorter than
//! [`SegmentParams::min_label_s`] and transitions left out, e.g. `supine>side>prone>all_fours>
//! squat>standing`. An event with no such run starts from the class held at the lowest pelvis
//! height.

use rapier3d::na::Vector3;
use vigor_sim::robot::Robot;

use super::DemoError;
use super::clip::{Clip, Frame};
use super::lafan::Take;
use super::posture::{LYING_PELVIS_M, Posture, STANDING_PELVIS_M};

/// How takes are cut and labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentParams {
    /// Rate of the output clips, Hz (the policy rate, 50 Hz in VIGOR).
    pub rate_hz: f64,
    /// Pelvis height below which a frame is lying, m.
    pub lying_below_m: f64,
    /// Pelvis height above which an upright frame is standing, m.
    pub standing_above_m: f64,
    /// Shortest standing run that separates two events, s.
    pub min_stand_s: f64,
    /// Shortest total lying time for a stretch to be an event, s.
    pub min_lie_s: f64,
    /// Standing kept before the fall and after the get-up, s.
    pub margin_s: f64,
    /// Shortest posture run named in the behaviour label, s.
    pub min_label_s: f64,
}

impl Default for SegmentParams {
    fn default() -> Self {
        Self {
            rate_hz: 50.0,
            lying_below_m: LYING_PELVIS_M,
            standing_above_m: STANDING_PELVIS_M,
            min_stand_s: 0.3,
            min_lie_s: 0.2,
            margin_s: 0.5,
            min_label_s: 0.2,
        }
    }
}

/// Where one event lies in its take, in take frames (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First frame of the clip (standing).
    pub start: usize,
    /// First frame after the last standing run before the fall.
    pub fall: usize,
    /// First frame of the standing run that ends the get-up.
    pub stood: usize,
    /// One past the last frame of the clip.
    pub end: usize,
}

/// Posture class of every frame of `frames`.
#[must_use]
pub fn postures(robot: &Robot, frames: &[Frame]) -> Vec<Posture> {
    let knees: Vec<usize> = ["left_knee_link", "right_knee_link"]
        .iter()
        .filter_map(|n| robot.link_index(n))
        .collect();
    frames
        .iter()
        .map(|f| {
            let root = f.root();
            let poses = robot.forward_kinematics(&root, &f.joint_pos_rad);
            let knee = knees
                .iter()
                .map(|&k| poses[k].translation.vector.z)
                .fold(f64::INFINITY, f64::min);
            Posture::classify(&root, knee)
        })
        .collect()
}

/// Runs of equal values: `(value, start, end)` with `end` exclusive.
fn runs<T: Copy + PartialEq>(v: &[T]) -> Vec<(T, usize, usize)> {
    let mut out: Vec<(T, usize, usize)> = Vec::new();
    for (i, &x) in v.iter().enumerate() {
        match out.last_mut() {
            Some(last) if last.0 == x => last.2 = i + 1,
            _ => out.push((x, i, i + 1)),
        }
    }
    out
}

/// The events of a take, in take frames.
#[must_use]
pub fn find_spans(take: &Take, params: &SegmentParams) -> Vec<Span> {
    let frames = |s: f64| (s * take.rate_hz).round().max(1.0) as usize;
    let standing: Vec<bool> = take
        .frames
        .iter()
        .map(|f| {
            let up = (f.root().rotation * Vector3::z()).z;
            f.root_pos_m[2] > params.standing_above_m && up > 0.8
        })
        .collect();
    // Standing runs long enough to separate events.
    let stands: Vec<(usize, usize)> = runs(&standing)
        .into_iter()
        .filter(|&(s, a, b)| s && b - a >= frames(params.min_stand_s))
        .map(|(_, a, b)| (a, b))
        .collect();
    let margin = frames(params.margin_s);
    let mut spans = Vec::new();
    for pair in stands.windows(2) {
        let ((a0, a1), (b0, b1)) = (pair[0], pair[1]);
        let lying = take.frames[a1..b0]
            .iter()
            .filter(|f| f.root_pos_m[2] < params.lying_below_m)
            .count();
        if lying >= frames(params.min_lie_s) {
            spans.push(Span {
                start: a1.saturating_sub(margin).max(a0),
                fall: a1,
                stood: b0,
                end: (b0 + margin).min(b1),
            });
        }
    }
    spans
}

/// Start posture and behaviour label of `frames` (one event, see the module docs).
#[must_use]
pub fn label(
    robot: &Robot,
    frames: &[Frame],
    rate_hz: f64,
    params: &SegmentParams,
) -> (Posture, String) {
    let classes = postures(robot, frames);
    let min_run = (params.min_label_s * rate_hz).round().max(1.0) as usize;
    let all = runs(&classes);
    // Where the recovery starts: the first settled lying run, else the first settled sitting run,
    // else the run holding the lowest pelvis.
    let lowest = frames
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.root_pos_m[2].total_cmp(&b.1.root_pos_m[2]))
        .map_or(0, |(i, _)| i);
    let settled =
        |pick: fn(Posture) -> bool| all.iter().position(|r| pick(r.0) && r.2 - r.1 >= min_run);
    let start = settled(Posture::is_lying)
        .or_else(|| settled(Posture::is_on_ground))
        .or_else(|| all.iter().position(|r| r.1 <= lowest && lowest < r.2));
    let Some(first) = start else {
        return (Posture::Other, String::new());
    };
    (all[first].0, behaviour(&all, first, min_run))
}

/// The behaviour of `frames` from the first frame on (a fall that starts standing): the classes
/// in order, each run shorter than [`SegmentParams::min_label_s`] or unclassified skipped after
/// the first, as [`label`] names them.
#[must_use]
pub fn label_from_start(
    robot: &Robot,
    frames: &[Frame],
    rate_hz: f64,
    params: &SegmentParams,
) -> String {
    let classes = postures(robot, frames);
    let min_run = (params.min_label_s * rate_hz).round().max(1.0) as usize;
    behaviour(&runs(&classes), 0, min_run)
}

fn behaviour(all: &[(Posture, usize, usize)], first: usize, min_run: usize) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (i, &(p, a, b)) in all.iter().enumerate().skip(first) {
        if i > first && (p == Posture::Other || b - a < min_run) {
            continue;
        }
        if names.last() != Some(&p.name()) {
            names.push(p.name());
        }
    }
    names.join(">")
}

/// Cuts `take` into labelled clips at [`SegmentParams::rate_hz`], named `<take>_<k>` (k from 1),
/// each moved so that its first pelvis position is above the origin.
///
/// # Errors
/// [`DemoError::Clip`] when the take's frames do not fit the robot.
pub fn segment_take(
    take: &Take,
    robot: &Robot,
    params: &SegmentParams,
) -> Result<Vec<Clip>, DemoError> {
    let mut clips = Vec::new();
    for (k, span) in find_spans(take, params).into_iter().enumerate() {
        let [x0, y0, _] = take.frames[span.start].root_pos_m;
        let frames: Vec<Frame> = take.frames[span.start..span.end]
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f.root_pos_m[0] -= x0;
                f.root_pos_m[1] -= y0;
                f
            })
            .collect();
        let (posture, behaviour) = label(robot, &frames, take.rate_hz, params);
        let raw = Clip {
            name: format!("{}_{:02}", take.name, k + 1),
            source: format!(
                "lafan1-g1:{} frames {}..{} (fall at {}, standing again at {})",
                take.path
                    .file_name()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                span.start,
                span.end,
                span.fall,
                span.stood
            ),
            posture,
            behaviour,
            robot: robot.name.clone(),
            rate_hz: take.rate_hz,
            frames,
        };
        raw.check_against(robot, super::lafan::LIMIT_TOLERANCE_RAD)?;
        clips.push(raw.resampled(params.rate_hz));
    }
    Ok(clips)
}
