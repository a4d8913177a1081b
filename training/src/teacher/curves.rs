//! Pictures of a run: `curves.png` (learning curves drawn with plotters: a panel per quantity with
//! axes, ticks, a grid and a legend) and `metrics.rrd` (every metric as a rerun time series), both
//! regenerated from `metrics.jsonl` at each checkpoint so they survive crashes and resumes.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::runner::{CURVES, METRICS, METRICS_RRD, TrainError, read_metrics};
use crate::metrics::Metrics;

/// One panel's size, pixels.
const PANEL_W: u32 = 560;
const PANEL_H: u32 = 320;
/// Line colours, in the order of a panel's metrics.
const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];
/// Points above which a series is dense: more than about one per two pixels of a panel.
const DENSE: usize = (PANEL_W / 2) as usize;
/// TrueType fonts tried for the text, in order, after `$VIGOR_FONT` (Debian's `fonts-dejavu-core`,
/// which `scripts/setup.sh` installs, first).
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers the first readable font as plotters' `sans-serif`, once; false when there is none
/// (the curves are then drawn without text).
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let candidates = std::env::var("VIGOR_FONT")
            .ok()
            .into_iter()
            .chain(FONTS.iter().map(|s| (*s).to_owned()));
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                // plotters keeps fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// The y range of `series`: their extent with 5 % on either side (1 around a constant).
fn y_range(series: &[(&str, Vec<(f64, f64)>)]) -> (f64, f64) {
    let ys = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

/// Draws one panel into `area`.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (title, x_desc): (&str, &str),
    series: &[(&str, Vec<(f64, f64)>)],
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let xs = || series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let x_max = xs().fold(f64::MIN_POSITIVE, f64::max);
    // From 0, unless the series start late (a run continued from another's state): then from
    // their first point, so the part that differs fills the panel.
    let x_min = xs().fold(f64::INFINITY, f64::min);
    let x_lo = if x_min.is_finite() && x_min > 0.2 * x_max && x_min < x_max {
        x_min
    } else {
        0.0
    };
    let (y_lo, y_hi) = y_range(series);
    let mut builder = ChartBuilder::on(area);
    builder.margin(10);
    if text {
        builder
            .caption(title, ("sans-serif", 20))
            .x_label_area_size(34)
            .y_label_area_size(62);
    }
    let mut chart = builder.build_cartesian_2d(x_lo..x_max, y_lo..y_hi)?;
    let y_decimals = decimals(y_hi - y_lo);
    let y_label = |v: &f64| tick(*v, y_decimals);
    let x_decimals = decimals(x_max - x_lo).saturating_sub(1);
    let x_label = |v: &f64| tick(*v, x_decimals);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if text {
        mesh.x_desc(x_desc)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label);
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    for (k, (name, pts)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        // plotters joins a wide line's segments with mitres, which shoot far past the panel
        // where a dense, noisy series turns sharply: such a series is drawn 1 px wide.
        let width = if pts.len() > DENSE { 1 } else { 2 };
        let drawn = chart.draw_series(LineSeries::new(
            pts.iter().copied(),
            colour.stroke_width(width),
        ))?;
        if text && series.len() > 1 {
            drawn.label(*name).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        }
    }
    if text && series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}

/// RGB pixels as PNG bytes.
fn encode(px: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut wr) = enc.write_header() {
            let _ = wr.write_image_data(px);
        }
    }
    out
}

/// A tick label with `decimals` decimals, never "-0.00" for a value that rounds to zero.
fn tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => s,
    }
}

/// Decimals that tell ticks apart over a span: about three significant digits of it.
fn decimals(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    }
}

/// The panels of `curves.png`: title and the metrics drawn in it.
pub const PANELS: [(&str, &[&str]); 11] = [
    ("mean return", &["mean_return"]),
    ("success", &["success", "safe_success"]),
    ("tracking rms (m)", &["tracking_rms_m"]),
    ("assist (fraction of weight)", &["curriculum/assist"]),
    ("action std", &["ppo/action_std"]),
    ("kl", &["ppo/kl"]),
    ("env steps/s", &["steps_per_s"]),
    ("terrain level", &["curriculum/mean_level"]),
    (
        "level: flat, rough, waves, boxes",
        &[
            "curriculum/level/flat",
            "curriculum/level/rough",
            "curriculum/level/waves",
            "curriculum/level/boxes",
        ],
    ),
    (
        "level: slopes and platform",
        &[
            "curriculum/level/slope_up",
            "curriculum/level/slope_down",
            "curriculum/level/inverted_slope",
            "curriculum/level/platform",
        ],
    ),
    (
        "level: stairs and pits",
        &[
            "curriculum/level/stairs_up",
            "curriculum/level/stairs_down",
            "curriculum/level/stepping_stones",
            "curriculum/level/gaps",
        ],
    ),
];

/// Renders the learning curves of `rows` as PNG bytes.
#[must_use]
pub fn render(rows: &[Metrics]) -> Vec<u8> {
    render_panels(rows, &PANELS)
}

/// Renders `panels` (title, metric keys) of `rows`, two per row, as PNG bytes.
#[must_use]
pub fn render_panels(rows: &[Metrics], panels: &[(&str, &[&str])]) -> Vec<u8> {
    let rows_n = panels.len().div_ceil(2).max(1) as u32;
    let (w, h) = (PANEL_W * 2, PANEL_H * rows_n);
    let mut px = vec![255u8; (w * h * 3) as usize];
    let text = font_ready();
    {
        let root = BitMapBackend::with_buffer(&mut px, (w, h)).into_drawing_area();
        let areas = root.split_evenly((rows_n as usize, 2));
        for ((title, keys), area) in panels.iter().zip(&areas) {
            let series: Vec<(&str, Vec<(f64, f64)>)> = keys
                .iter()
                .map(|key| {
                    let pts = rows
                        .iter()
                        .filter_map(|m| Some((m.iteration as f64, m.get(key)?)))
                        .filter(|(_, y)| y.is_finite())
                        .collect();
                    (key.rsplit('/').next().unwrap_or(key), pts)
                })
                .collect();
            // A panel that cannot be drawn stays blank; the others and the file still come.
            let _ = panel(area, (title, "iteration"), &series, text);
        }
        let _ = root.present();
    }
    encode(&px, w, h)
}

/// Rewrites `curves.png` and `metrics.rrd` of the run in `run` from its metrics.
///
/// # Errors
/// The metrics cannot be read or the files written.
pub fn write_all(run: &Path) -> Result<(), TrainError> {
    write_panels(run, &PANELS)
}

/// [`write_all`] with other panels.
///
/// # Errors
/// The metrics cannot be read or the files written.
pub fn write_panels(run: &Path, panels: &[(&str, &[&str])]) -> Result<(), TrainError> {
    let rows = read_metrics(&run.join(METRICS))?;
    let png_path = run.join(CURVES);
    vigor_common::fsutil::write_atomic(&png_path, &render_panels(&rows, panels)).map_err(
        |source| TrainError::Io {
            path: png_path,
            source,
        },
    )?;
    let series: Vec<(i64, Vec<(String, f64)>)> = rows
        .iter()
        .map(|m| {
            let values = m
                .values()
                .into_iter()
                .filter(|(k, v)| k.as_str() != "iteration" && v.is_finite())
                .collect();
            (i64::try_from(m.iteration).unwrap_or(i64::MAX), values)
        })
        .collect();
    let rrd = run.join(METRICS_RRD);
    vigor_record::write_series(&rrd, "iteration", &series).map_err(|e| TrainError::Io {
        path: rrd,
        source: std::io::Error::other(e.to_string()),
    })
}

/// One run in a comparison: its name and its metrics rows.
pub type NamedRun = (String, Vec<Metrics>);

fn value(m: &Metrics, key: &str) -> Option<f64> {
    m.get(key).filter(|v| v.is_finite())
}

/// The mean of `key` over each run's rows `from..to` (by position), `None` where a run has none.
fn window_mean(rows: &[Metrics], key: &str, from: usize, to: usize) -> Option<f64> {
    let v: Vec<f64> = rows
        .get(from..to.min(rows.len()))?
        .iter()
        .filter_map(|m| value(m, key))
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn cell(key: &str, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if key.contains("success") || key.contains("assist") || key.contains("share") => {
            format!("{:.0} %", 100.0 * v)
        }
        Some(v) => format!("{v:.2}"),
    }
}

/// A markdown table of `runs` side by side, after a line that names the metrics: one row per
/// `window` iterations (up to the longest run, or to `until_steps` environment steps), each cell
/// the window's means of `metrics` separated by slashes (rates in percent).
#[must_use]
pub fn compare_table(
    runs: &[NamedRun],
    metrics: &[String],
    window: usize,
    until_steps: Option<f64>,
) -> String {
    let window = window.max(1);
    let longest = runs
        .iter()
        .map(|(_, rows)| {
            rows.iter()
                .take_while(|m| {
                    until_steps.is_none_or(|u| value(m, "env_steps").is_none_or(|s| s <= u))
                })
                .count()
        })
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "Each cell: {}, means over the window.\n\n| iterations | env steps | {} |\n",
        metrics.join(" / "),
        runs.iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    out.push_str(&format!("|---|---|{}\n", "---|".repeat(runs.len())));
    let mut from = 0;
    while from < longest {
        let to = (from + window).min(longest);
        let steps = runs
            .iter()
            .filter_map(|(_, rows)| rows.get(to - 1).and_then(|m| value(m, "env_steps")))
            .fold(0.0f64, f64::max);
        let cells: Vec<String> = runs
            .iter()
            .map(|(_, rows)| {
                metrics
                    .iter()
                    .map(|k| cell(k, window_mean(rows, k, from, to)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .collect();
        out.push_str(&format!(
            "| {}-{} | {:.2} M | {} |\n",
            from + 1,
            to,
            steps / 1e6,
            cells.join(" | ")
        ));
        from = to;
    }
    out
}

/// The rolling mean of `(x, y)` points over `window` points.
fn rolling(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let w = window.max(1);
    let mut sum = 0.0;
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            sum += y;
            if i >= w {
                sum -= points[i - w].1;
            }
            (x, sum / (i + 1).min(w) as f64)
        })
        .collect()
}

/// Renders `runs` against each other as PNG bytes: a row per metric, its rolling mean over
/// `window` iterations against environment steps (left) and wall-clock hours (right), a line per
/// run.
#[must_use]
pub fn render_compare(runs: &[NamedRun], metrics: &[String], window: usize) -> Vec<u8> {
    let rows_n = metrics.len().max(1) as u32;
    let (w, h) = (PANEL_W * 2, PANEL_H * rows_n);
    let mut px = vec![255u8; (w * h * 3) as usize];
    let text = font_ready();
    {
        let root = BitMapBackend::with_buffer(&mut px, (w, h)).into_drawing_area();
        let areas = root.split_evenly((rows_n as usize, 2));
        for (k, key) in metrics.iter().enumerate() {
            for (side, (x_key, scale, x_desc)) in [
                ("env_steps", 1e-6, "env steps (millions)"),
                ("wall_s", 1.0 / 3600.0, "wall-clock (hours)"),
            ]
            .into_iter()
            .enumerate()
            {
                let series: Vec<(&str, Vec<(f64, f64)>)> = runs
                    .iter()
                    .map(|(name, rows)| {
                        let pts: Vec<(f64, f64)> = rows
                            .iter()
                            .filter_map(|m| Some((value(m, x_key)? * scale, value(m, key)?)))
                            .collect();
                        (name.as_str(), rolling(&pts, window))
                    })
                    .collect();
                let title = format!("{key} (mean of {window})");
                let _ = panel(&areas[k * 2 + side], (&title, x_desc), &series, text);
            }
        }
        let _ = root.present();
    }
    encode(&px, w, h)
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn tick_labels_never_read_minus_zero() {
        assert_eq!(tick(-1e-17, 2), "0.00");
        assert_eq!(tick(-0.004, 2), "0.00");
        assert_eq!(tick(-0.5, 1), "-0.5");
        assert_eq!(tick(12.0, 0), "12");
    }
}
