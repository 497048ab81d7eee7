//! Colours: the readable output is coloured on a terminal, never in a pipe or in JSON;
//! `--color always|never` and `NO_COLOR` (https://no-color.org) are honoured. The terminal
//! cases run the binary under a pseudo-terminal made by util-linux `script`.

use std::path::PathBuf;
use std::process::{Command, Output};

const ESC: char = '\u{1b}';

fn seed() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink");
    path.to_str().expect("utf-8 path").to_string()
}

fn callstitch(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callstitch"));
    command.args(args).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn coloured(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).contains(ESC)
}

/// Runs `callstitch ARGS` on a pseudo-terminal; what it printed (stdout and stderr), or
/// `None` where `script` is not installed.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (to make a pseudo-terminal) is not installed");
        return None;
    }
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_callstitch"));
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]).env("TERM", "xterm-256color");
    command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command.output().expect("script runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn colour_follows_the_color_flag_and_never_reaches_a_pipe_or_json() {
    let seed = seed();
    for command in
        [vec!["trace"], vec!["check"], vec!["parse", "--stats"], vec!["parse", "--format", "table"]]
    {
        let with = |extra: &[&str]| {
            let mut args = extra.to_vec();
            args.extend(&command);
            args.push(&seed);
            callstitch(&args, &[])
        };
        let always = with(&["--color", "always"]);
        assert_eq!(always.status.code(), Some(0));
        assert!(coloured(&always.stdout), "{command:?} --color always");
        assert!(!coloured(&with(&["--color", "never"]).stdout), "{command:?} --color never");
        assert!(!coloured(&with(&[]).stdout), "{command:?} into a pipe");
        let forced = callstitch(&[&command[..], &[seed.as_str()]].concat(), &[("CLICOLOR_FORCE", "1")]);
        assert!(coloured(&forced.stdout), "{command:?} with CLICOLOR_FORCE=1");
    }
    for json in
        [vec!["trace", "--json"], vec!["check", "--json"], vec!["parse"], vec!["parse", "--stats", "--json"]]
    {
        let args = [&["--color", "always"][..], &json[..], &[seed.as_str()]].concat();
        assert!(!coloured(&callstitch(&args, &[]).stdout), "{json:?}: JSON is never coloured");
    }
    let error = callstitch(&["--color", "always", "trace", "/nowhere/at/all"], &[]);
    assert_eq!(error.status.code(), Some(2));
    assert!(coloured(&error.stderr), "errors are coloured too");
    assert!(!coloured(&callstitch(&["trace", "/nowhere/at/all"], &[]).stderr));
}

#[test]
fn on_a_terminal_colour_is_on_unless_no_color_says_otherwise() {
    let seed = seed();
    let trace = format!("trace {seed}");
    let Some(plain_terminal) = on_a_terminal(&trace, None) else { return };
    assert!(plain_terminal.contains(ESC), "a terminal gets colour: {plain_terminal}");
    let no_color = on_a_terminal(&trace, Some("1")).expect("script is there");
    assert!(!no_color.contains(ESC), "NO_COLOR=1: {no_color}");
    assert!(no_color.contains("interaction "), "the same text: {no_color}");
    let empty = on_a_terminal(&trace, Some("")).expect("script is there");
    assert!(empty.contains(ESC), "an empty NO_COLOR is no wish (no-color.org)");
    let flag = on_a_terminal(&format!("--color always {trace}"), Some("1")).expect("script is there");
    assert!(flag.contains(ESC), "--color always wins over NO_COLOR");
    let never = on_a_terminal(&format!("--color never {trace}"), None).expect("script is there");
    assert!(!never.contains(ESC));
}

#[test]
fn parse_stats_on_a_terminal_is_a_table() {
    let Some(output) = on_a_terminal(&format!("parse --stats {}", seed()), Some("1")) else { return };
    assert!(!output.trim_start().starts_with('{'), "not JSON: {output}");
    assert!(output.lines().any(|line| line.starts_with("events")), "{output}");
}
