//! Helpers of the end-to-end tests: the real `callstitch serve` binary started on a free port
//! against a temporary database, and a small HTTP client around it; [`estate`] is the
//! arrival-order harness of issue 12 (a simulated estate, its feeds, trace and verify).

#![allow(dead_code)]

pub mod estate;
pub mod nats;
pub mod own_postgres;
pub mod settle;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(name)
}

pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callstitch"))
}

/// `callstitch simulate` of three sites (seed 11) into `out`, its logs rotated every
/// `segment_mb` when given.
pub fn simulate(out: &Path, interactions: u32, segment_mb: Option<u32>) {
    let mut command = binary();
    command.args([
        "simulate",
        "--sites",
        "3",
        "--seed",
        "11",
        "--interactions",
        &interactions.to_string(),
        "--out",
    ]);
    command.arg(out);
    if let Some(mb) = segment_mb {
        command.args(["--segment-mb", &mb.to_string()]);
    }
    let output = command.output().expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A running service; killed when dropped.
pub struct Service {
    pub child: Child,
    pub base: String,
}

/// The config every test starts from: a free port, a database in `dir`, quick timeouts.
pub fn base_config(dir: &Path) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nlinger_s = 1\nlink_timeout_s = 2\ncall_idle_timeout_s = 2\nsite_idle_s = 60\nidle_tick_ms = 200\n",
        dir.join("callstitch.db").display()
    )
}

impl Service {
    /// Starts `callstitch serve --config <dir>/service.toml` with `config` and waits for the
    /// address it prints.
    pub fn start(dir: &Path, config: &str) -> Service {
        let path = dir.join("service.toml");
        std::fs::write(&path, config).expect("config written");
        let mut command = binary();
        command.args(["serve", "--config"]).arg(&path).stderr(Stdio::inherit()).env("CALLSTITCH_LOG", "warn");
        Service::spawn(command)
    }

    /// Runs `command`, a `callstitch serve` however it is launched (through a shell that
    /// sets limits, as another user, with its stderr elsewhere), and waits for the address
    /// it prints on stdout.
    pub fn spawn(mut command: Command) -> Service {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("the service starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the service prints its address");
        let base = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Service { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_with(path, None)
    }

    /// Waits until `/healthz` says ok: a service prints its address before it has recovered
    /// (it says `recovering` until then).
    pub fn ready(&self) -> &Service {
        self.wait_for("/healthz", Duration::from_secs(60), |body| body["status"] == "ok");
        self
    }

    pub fn get_with(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = ureq::get(&self.url(path));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        answer(request.call())
    }

    pub fn post(&self, path: &str, body: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = ureq::post(&self.url(path)).set("Content-Type", "application/x-ndjson");
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        answer(request.send_string(body))
    }

    /// Polls `path` until `done` holds for its JSON answer, or panics after `limit`.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let (status, body) = self.get(path);
            if status == 200 && done(&body) {
                return body;
            }
            assert!(start.elapsed() < limit, "waited {limit:?} for {path}; last answer {status} {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to checkpoint.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful shutdown.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("the service exits")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("request failed: {error}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body)
}

/// The JSON lines `callstitch parse` prints for these inputs.
pub fn parsed_lines(paths: &[PathBuf]) -> String {
    let output = binary().arg("parse").args(paths).output().expect("parse runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
