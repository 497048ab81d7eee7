//! The first hour: every shell command of the README (its ```sh blocks) works as written on
//! a fresh copy of the repository.
//!
//! The repository's tracked files are copied to a temporary directory (what a clone holds)
//! and each block runs there under `bash -e -o pipefail`, with these stand-ins:
//! - `cargo run --release -p callstitch --` is this build's binary, and `cargo build
//!   --release -p callstitch` with `$PWD/target/release` put it on PATH (building a
//!   release from inside a test would take minutes and prove nothing more);
//! - `/tmp/` is a directory of this test's own (runs side by side do not collide);
//! - `demo` runs forever: it is started on a free port in a directory of this test's own,
//!   its address waited for, its UI and API asked, and then it is stopped;
//! - `cargo test` is this test suite itself: it is checked to be there, not run.
//!
//! Afterwards the copy holds no file the README's commands left empty (a failed `> file`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository")
}

/// The lines of the README's ```sh blocks, block by block.
fn shell_blocks(readme: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), command) if !command.trim().is_empty() => block.push(command.to_string()),
            _ => {}
        }
    }
    blocks
}

/// The repository's tracked files, copied to `to` (as a fresh clone has them).
fn copy_tracked_files(to: &Path) {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repository())
        .output()
        .expect("git lists the repository's files");
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    for name in listed.stdout.split(|byte| *byte == 0).filter(|name| !name.is_empty()) {
        let name = std::str::from_utf8(name).expect("utf-8 file name");
        let from = repository().join(name);
        if !from.is_file() {
            continue; // deleted in the work tree, not yet committed
        }
        let target = to.join(name);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("directory");
        std::fs::copy(&from, &target).expect("copy");
    }
}

/// A README line made runnable here (see the module documentation).
fn stand_in(line: &str, tmp: &Path) -> String {
    let binary = env!("CARGO_BIN_EXE_callstitch");
    let binary_dir = Path::new(binary).parent().expect("the binary's directory").display().to_string();
    // `/tmp/` first: the binary and the test's own directory may be under /tmp themselves.
    line.replace("/tmp/", &format!("{}/", tmp.display()))
        .replace("cargo run --release -p callstitch --", &format!("'{binary}'"))
        .replace("cargo build --release -p callstitch", "true")
        .replace("$PWD/target/release", &binary_dir)
}

/// Starts the demo as the README says, on a free port, and checks that it answers.
fn run_demo(line: &str, clone: &Path, tmp: &Path) {
    let command = format!("{} --listen 127.0.0.1:0 --dir '{}/demo'", stand_in(line, tmp), tmp.display());
    let mut child = Command::new("bash")
        .args(["-c", &format!("exec {command}")])
        .current_dir(clone)
        .env("CALLSTITCH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the demo starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.expect("the demo prints");
        if let Some(rest) = line.split("open http://").nth(1) {
            address = rest.split('/').next().map(str::to_string);
            break;
        }
    }
    // The rest of what it prints is read (and dropped) while it runs, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    let address = address.unwrap_or_else(|| panic!("`{line}` printed no address to open"));
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let deadline = Instant::now() + Duration::from_secs(30);
    for path in ["/", "/v1/interactions", "/healthz"] {
        loop {
            match agent.get(&format!("http://{address}{path}")).call() {
                Ok(response) => {
                    assert_eq!(response.status(), 200, "{path}");
                    break;
                }
                Err(error) if Instant::now() < deadline => {
                    eprintln!("{path}: {error}; again");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => panic!("the demo does not answer {path}: {error}"),
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn every_command_of_the_readme_works_on_a_fresh_copy() {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let blocks = shell_blocks(&readme);
    assert!(blocks.len() >= 3, "the README's ```sh blocks: {blocks:?}");
    let work = tempfile::tempdir().expect("temp dir");
    let clone = work.path().join("callstitch");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    copy_tracked_files(&clone);

    let (mut demos, mut test_commands, mut ran) = (0, 0, 0);
    for block in &blocks {
        let mut script = String::from("set -e -o pipefail\n");
        for line in block {
            if line.starts_with("cargo test") {
                assert!(line.contains("--workspace"), "the README's test command runs every crate: {line}");
                test_commands += 1;
            } else if line.split_whitespace().any(|word| word == "demo") {
                run_demo(line, &clone, &tmp);
                demos += 1;
            } else {
                script.push_str(&stand_in(line, &tmp));
                script.push('\n');
                ran += 1;
            }
        }
        let output = Command::new("bash")
            .args(["-c", &script])
            .current_dir(&clone)
            .output()
            .expect("bash runs the block");
        assert!(
            output.status.success(),
            "a README block failed:\n{script}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!((demos, test_commands), (1, 1), "the demo and the test command are in the README");
    assert!(ran >= 6, "{ran} commands ran");

    let svg = std::fs::read_to_string(clone.join("seed.svg")).expect("the README's ladder wrote seed.svg");
    assert!(svg.starts_with("<svg") && svg.contains("Tserver2") && svg.contains("SIPServer1"), "{svg:.200}");
    let empty: Vec<PathBuf> = std::fs::read_dir(&clone)
        .expect("listing")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file() && std::fs::metadata(path).is_ok_and(|meta| meta.len() == 0))
        .collect();
    assert!(empty.is_empty(), "files left empty in the repository: {empty:?}");
}

#[test]
fn a_failed_ladder_leaves_no_output_file_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svg = dir.path().join("seed.svg");
    let seed = repository().join("fixtures/seed-islink");
    // The seed's IS-Link id is not a CallUUID of any call: no such interaction.
    let failed = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["ladder", "--call-uuid", "00RP30KH7088L1IC08GB82LAES000316", "-o"])
        .arg(&svg)
        .arg(&seed)
        .output()
        .expect("runs");
    assert_eq!(failed.status.code(), Some(2), "{}", String::from_utf8_lossy(&failed.stderr));
    assert!(!svg.exists(), "no empty seed.svg");
    assert_eq!(std::fs::read_dir(dir.path()).expect("listing").count(), 0, "no temporary file either");

    let drawn = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["ladder", "--call-uuid", "00RP30KH7088L1IC08GB82LAES000317", "--output"])
        .arg(&svg)
        .arg(&seed)
        .output()
        .expect("runs");
    assert_eq!(drawn.status.code(), Some(0), "{}", String::from_utf8_lossy(&drawn.stderr));
    assert!(drawn.stdout.is_empty(), "the SVG goes to the file, not stdout");
    assert!(std::fs::read_to_string(&svg).expect("written").starts_with("<svg"));
}

#[test]
fn the_demo_runs_on_when_its_output_is_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir.path().join("demo"))
        .env("CALLSTITCH_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    drop(child.stdout.take()); // whoever read its output went away before it said anything
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
    let deadline = Instant::now() + Duration::from_secs(30);
    let answered = loop {
        if let Ok(response) = agent.get(&format!("http://127.0.0.1:{port}/healthz")).call() {
            break response.status() == 200;
        }
        assert!(child.try_wait().expect("status").is_none(), "the demo died when its output was closed");
        assert!(Instant::now() < deadline, "the demo never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_millis(500));
    let alive = child.try_wait().expect("status").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered && alive, "the demo answers and keeps running");
}
