//! Colours for people: headings, outcomes, warnings and findings stand out when the output
//! is a terminal; pipes, files and JSON get plain text.
//!
//! `--color auto|always|never` (global) decides, per stream (stdout, stderr). `auto`, the
//! default, colours a stream that is a terminal, unless `NO_COLOR` is set to anything but
//! the empty string (https://no-color.org) or `CLICOLOR=0`; `CLICOLOR_FORCE=1` colours even
//! a pipe. `--color always` and `--color never` win over the environment (a flag given for
//! one run is the more specific wish). JSON output is never coloured, whatever the choice.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Effects, Style};

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Decides, once at start, whether stdout and stderr are coloured.
pub fn init(choice: clap::ColorChoice) {
    let (stdout, stderr) = match choice {
        clap::ColorChoice::Always => (true, true),
        clap::ColorChoice::Never => (false, false),
        clap::ColorChoice::Auto => {
            anstream::ColorChoice::Auto.write_global();
            let colored = |choice: anstream::ColorChoice| choice != anstream::ColorChoice::Never;
            (
                colored(anstream::AutoStream::choice(&io::stdout())),
                colored(anstream::AutoStream::choice(&io::stderr())),
            )
        }
    };
    STDOUT.store(stdout, Ordering::Relaxed);
    STDERR.store(stderr, Ordering::Relaxed);
}

/// What a piece of text is, which gives its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Table headings, section titles, the head line of an interaction.
    Heading,
    /// A good outcome: answered, conformant, complete.
    Good,
    /// A bad outcome: abandoned, busy, rejected, cleared; an inconsistent link; an error.
    Bad,
    /// Something to look at: a deviation, a problem in the input, a note, a timeout.
    Warning,
    /// A recording finding.
    Finding,
    /// Counts and footers: less important than the rest.
    Quiet,
}

impl Role {
    fn style(self) -> Style {
        match self {
            Role::Heading => Style::new().effects(Effects::BOLD),
            Role::Good => Style::new().fg_color(Some(AnsiColor::Green.into())),
            Role::Bad => Style::new().fg_color(Some(AnsiColor::Red.into())).effects(Effects::BOLD),
            Role::Warning => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Role::Finding => Style::new().fg_color(Some(AnsiColor::Magenta.into())),
            Role::Quiet => Style::new().effects(Effects::DIMMED),
        }
    }
}

fn paint(on: bool, role: Role, text: &str) -> String {
    if !on || text.is_empty() {
        return text.to_string();
    }
    let style = role.style();
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// `text` for standard output, coloured when stdout is.
pub fn out(role: Role, text: &str) -> String {
    paint(STDOUT.load(Ordering::Relaxed), role, text)
}

/// `text` for standard error, coloured when stderr is.
pub fn err(role: Role, text: &str) -> String {
    paint(STDERR.load(Ordering::Relaxed), role, text)
}

/// The role of an outcome word (`answered`, `abandoned-in-queue`, ...).
pub fn outcome_role(outcome: &str) -> Option<Role> {
    match outcome {
        "answered" | "transferred" | "conferenced" => Some(Role::Good),
        "routed" | "in-progress" | "unknown" | "abandoned-consultation" => None,
        _ if outcome.starts_with("abandoned")
            || matches!(outcome, "rejected" | "destination-busy" | "busy" | "cleared" | "failed") =>
        {
            Some(Role::Bad)
        }
        _ => None,
    }
}

/// An outcome word for stdout, coloured by what it means.
pub fn outcome(text: &str) -> String {
    match outcome_role(text) {
        Some(role) => out(role, text),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_wraps_only_when_on() {
        assert_eq!(paint(false, Role::Bad, "abandoned"), "abandoned");
        let painted = paint(true, Role::Bad, "abandoned");
        assert!(
            painted.starts_with("\u{1b}[") && painted.contains("abandoned") && painted.ends_with("\u{1b}[0m")
        );
        assert_eq!(paint(true, Role::Bad, ""), "");
    }

    #[test]
    fn outcomes_are_good_bad_or_plain() {
        assert_eq!(outcome_role("answered"), Some(Role::Good));
        assert_eq!(outcome_role("abandoned-in-queue"), Some(Role::Bad));
        assert_eq!(outcome_role("destination-busy"), Some(Role::Bad));
        assert_eq!(outcome_role("routed"), None);
        assert_eq!(outcome_role("abandoned-consultation"), None);
    }
}
