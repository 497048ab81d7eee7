//! A progress bar on stderr for long reads (or a counter, for work without a known end), drawn
//! only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-counting progress bar that may be switched off; messages printed through it do not
/// tear the bar.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool, total_bytes: u64) -> Progress {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(total_bytes);
        let style = ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar: Some(bar) }
    }

    /// A counter of `what` (no total: a follower's work has no end), with its rate.
    pub fn counter(enabled: bool, what: &str) -> Progress {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        let template = format!("{{spinner}} {{human_pos}} {what} ({{per_sec}}){{msg}}");
        bar.set_style(
            ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// Adds to a counter.
    pub fn add(&self, count: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(count);
        }
    }

    pub fn set(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    pub fn println(&self, message: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{}", message.as_ref()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
