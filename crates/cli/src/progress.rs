//! A progress bar on stderr for long reads, drawn only when stderr is a terminal.

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
