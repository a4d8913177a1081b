//! Progress on long work: an indicatif bar on a terminal, or with `--plain` one line per step
//! (for logs and files).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display over `total` steps.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` steps on stderr, or plain lines when `plain`.
    #[must_use]
    pub fn new(total: u64, plain: bool) -> Self {
        if plain {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:24.cyan/blue} {pos}/{len} {msg} [{elapsed_precise}, ETA {eta_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("##."),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        Self { bar: Some(bar) }
    }

    /// Step `pos` is done; `line` says how it went (printed as is when plain).
    pub fn set(&self, pos: u64, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(pos);
                bar.set_message(line.to_owned());
            }
            None => eprintln!("{line}"),
        }
    }

    /// Leaves the finished bar on screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
