//! Pictures of a run: `curves.png` (learning curves drawn with plotters: a panel per quantity with
//! axes, ticks, a grid and a legend) and `metrics.rrd` (every metric as a rerun time series), both
//! regenerated from `metrics.jsonl` at each checkpoint so they survive crashes and resumes.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde_json::Value;

use super::runner::{CURVES, METRICS, METRICS_RRD, TrainError, read_metrics};

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
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(1.0f64, f64::max);
    let (y_lo, y_hi) = y_range(series);
    let mut builder = ChartBuilder::on(area);
    builder.margin(10);
    if text {
        builder
            .caption(title, ("sans-serif", 20))
            .x_label_area_size(34)
            .y_label_area_size(62);
    }
    let mut chart = builder.build_cartesian_2d(0.0..x_max, y_lo..y_hi)?;
    let decimals = decimals(y_hi - y_lo);
    let y_label = |v: &f64| format!("{:.decimals$}", v + 0.0);
    let x_label = |v: &f64| format!("{v:.0}");
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if text {
        mesh.x_desc("iteration")
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
        let drawn =
            chart.draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?;
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

/// Decimals that tell ticks apart over a span: about three significant digits of it.
fn decimals(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    }
}

/// The panels of `curves.png`: title and the metrics drawn in it.
pub const PANELS: [(&str, &[&str]); 8] = [
    ("mean return", &["mean_return"]),
    ("success", &["success", "safe_success"]),
    ("tracking rms (m)", &["tracking_rms_m"]),
    ("assist (fraction of weight)", &["curriculum/assist"]),
    ("action std", &["ppo/action_std"]),
    ("kl", &["ppo/kl"]),
    ("env steps/s", &["steps_per_s"]),
    ("terrain level", &["curriculum/mean_level"]),
];

/// Renders the learning curves of `rows` as PNG bytes.
#[must_use]
pub fn render(rows: &[serde_json::Map<String, Value>]) -> Vec<u8> {
    render_panels(rows, &PANELS)
}

/// Renders `panels` (title, metric keys) of `rows`, two per row, as PNG bytes.
#[must_use]
pub fn render_panels(
    rows: &[serde_json::Map<String, Value>],
    panels: &[(&str, &[&str])],
) -> Vec<u8> {
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
                        .filter_map(|m| {
                            Some((m.get("iteration")?.as_f64()?, m.get(*key)?.as_f64()?))
                        })
                        .filter(|(_, y)| y.is_finite())
                        .collect();
                    (key.rsplit('/').next().unwrap_or(key), pts)
                })
                .collect();
            // A panel that cannot be drawn stays blank; the others and the file still come.
            let _ = panel(area, title, &series, text);
        }
        let _ = root.present();
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut wr) = enc.write_header() {
            let _ = wr.write_image_data(&px);
        }
    }
    out
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
        .filter_map(|m| {
            let it = m.get("iteration")?.as_i64()?;
            let values = m
                .iter()
                .filter(|(k, _)| k.as_str() != "iteration")
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect();
            Some((it, values))
        })
        .collect();
    let rrd = run.join(METRICS_RRD);
    vigor_record::write_series(&rrd, "iteration", &series).map_err(|e| TrainError::Io {
        path: rrd,
        source: std::io::Error::other(e.to_string()),
    })
}
