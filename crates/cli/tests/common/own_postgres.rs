//! A PostgreSQL server of a test's own: a cluster made with `initdb` in a temporary directory
//! and run with `pg_ctl` on a free port, so a test can stop it hard and start it again (a
//! real server restart) without taking the machine's shared server away from the other tests.
//!
//! The server binaries are found with `pg_config --bindir`, else under
//! `/usr/lib/postgresql/*/bin` (Debian's layout, what scripts/services relies on). Run as
//! root, the cluster is owned by and run as the `postgres` user (PostgreSQL refuses root).
//! When no binaries are found the test is skipped, unless `CALLSTITCH_REQUIRE_POSTGRES=1`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster of a test's own; stopped (immediately) and removed when dropped.
pub struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Run the server's commands as this user (the process runs as root).
    user: Option<&'static str>,
}

impl OwnPostgres {
    /// A new cluster, started, with a database `callstitch`; `None` (the test is skipped)
    /// when the machine has no PostgreSQL server binaries.
    pub fn start() -> Option<OwnPostgres> {
        let Some(bin) = server_binaries() else {
            let why = "no PostgreSQL server binaries (initdb, pg_ctl) on this machine";
            if std::env::var("CALLSTITCH_REQUIRE_POSTGRES").is_ok_and(|value| value == "1") {
                panic!("{why}; CALLSTITCH_REQUIRE_POSTGRES=1 (apt-get install postgresql)");
            }
            eprintln!("skipped: {why}");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let user = is_root().then_some("postgres");
        if let Some(user) = user {
            // The server's user must reach its directory (a temp dir is root's, mode 0700).
            run(Command::new("chmod").arg("0755").arg(dir.path()));
            run(Command::new("chown").arg(format!("{user}:")).arg(dir.path()));
        }
        let port = free_port();
        let server = OwnPostgres { bin, dir, port, user };
        server.ctl("initdb", &["-A", "trust", "-U", "root", "-E", "UTF8", "--no-sync", "-D"], true);
        server.pg_ctl(&["start", "-w", "-t", "60"]);
        let created = server.psql("CREATE DATABASE callstitch");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        Some(server)
    }

    /// The URL of its database `callstitch`.
    pub fn url(&self) -> String {
        format!("postgres://root@127.0.0.1:{}/callstitch", self.port)
    }

    /// Stops the server the hardest way `pg_ctl` has (`immediate`: every backend quit at once,
    /// no shutdown checkpoint; the next start recovers from the write-ahead log, as after a
    /// crash).
    pub fn crash(&self) {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }

    /// Starts it again (after [`OwnPostgres::crash`]), waiting until it accepts connections.
    pub fn start_again(&self) {
        self.pg_ctl(&["start", "-w", "-t", "60"]);
    }

    /// Restarts it the way an operator does (`fast`: sessions ended, a checkpoint, started).
    pub fn restart(&self) {
        self.pg_ctl(&["restart", "-m", "fast", "-w", "-t", "60"]);
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let mut all: Vec<String> = args.iter().map(ToString::to_string).collect();
        all.extend(["-D".to_string(), self.data().display().to_string(), "-o".to_string(), options]);
        all.extend(["-l".to_string(), self.dir.path().join("server.log").display().to_string()]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.ctl("pg_ctl", &all, false);
    }

    /// Runs one of the server's programs (as its user when run as root); `data_last` appends
    /// the data directory (initdb's `-D`).
    fn ctl(&self, program: &str, args: &[&str], data_last: bool) {
        let mut command = self.command(program);
        command.args(args);
        if data_last {
            command.arg(self.data());
        }
        let output = run(&mut command);
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    fn psql(&self, sql: &str) -> Output {
        Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "root", "-d", "postgres"])
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .expect("psql runs")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let mut command = self.command("pg_ctl");
        command.args(["stop", "-m", "immediate", "-D"]).arg(self.data());
        let _ = command.output();
    }
}

/// The directory of `initdb` and `pg_ctl`.
fn server_binaries() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let configured = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(dir) = configured.filter(|dir| has(dir)) {
        return Some(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|dir| has(dir))
        .collect();
    // The newest version: directories named by version sort by it (numerically, 9 < 15).
    found.sort_by_key(|dir| {
        dir.parent()
            .and_then(|version| version.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"))
}
