//! The arrival-order harness of issue 12: a simulated estate (logs and truth, written by the
//! real binary), its events as feeds in the orders they reach callstitch in practice
//! (`callstitch_sim::feed`), and `callstitch trace --json` → `callstitch verify` on each,
//! with the figures and the interaction ids printed more than once.
//!
//! ```ignore
//! let estate = Estate::simulate("mine", &["--sites", "3", "--interactions", "100"]);
//! let feed = estate.write_feed("site-after-site", estate.events.site_after_site());
//! estate.trace("site-after-site", &[&feed]).expect_exact();
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use callstitch_sim::feed;
use callstitch_tlib::Event;

use super::binary;

/// A simulated estate on disk and its events read back.
pub struct Estate {
    /// The directory `callstitch simulate` wrote: one log per site, truth.jsonl, center.json.
    pub dir: PathBuf,
    /// Where the feeds of this estate are written (next to `dir`, so that `trace DIR` does
    /// not see them).
    pub feeds: PathBuf,
    /// Every site's events, read back from the logs as `callstitch parse` reads them.
    pub events: feed::Estate,
}

impl Estate {
    /// Runs `callstitch simulate --out <tmp>/<name>/logs ARGS` afresh (under the target
    /// directory, so that a failing run can be looked at) and reads the logs back.
    pub fn simulate(name: &str, args: &[&str]) -> Estate {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("estates").join(name);
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("logs");
        let feeds = root.join("feeds");
        std::fs::create_dir_all(&feeds).expect("the feeds directory");
        let output =
            binary().arg("simulate").arg("--out").arg(&dir).args(args).output().expect("simulate runs");
        assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
        let events =
            feed::Estate::read_dir(&dir).unwrap_or_else(|error| panic!("reading the logs back: {error}"));
        Estate { dir, feeds, events }
    }

    pub fn truth(&self) -> PathBuf {
        self.dir.join("truth.jsonl")
    }

    /// Writes `events` as one JSON-lines file `<name>.jsonl` and returns its path.
    pub fn write_feed<'e>(&self, name: &str, events: impl IntoIterator<Item = &'e Event>) -> PathBuf {
        let path = self.feeds.join(format!("{name}.jsonl"));
        let file = std::fs::File::create(&path).expect("a feed file");
        let mut out = std::io::BufWriter::new(file);
        feed::write_json_lines(&mut out, events).expect("the feed is written");
        out.flush().expect("the feed is flushed");
        path
    }

    /// Writes each site of `estate` as its own JSON-lines file `<name>/<site>.jsonl`
    /// (a reader given several files merges them by time).
    pub fn write_site_files(&self, name: &str, estate: &feed::Estate) -> Vec<PathBuf> {
        let dir = self.feeds.join(name);
        std::fs::create_dir_all(&dir).expect("a feed directory");
        estate
            .sites
            .iter()
            .map(|site| {
                let path = dir.join(format!("{}.jsonl", site.site));
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("a site file"));
                feed::write_json_lines(&mut out, &site.events).expect("the site file is written");
                out.flush().expect("the site file is flushed");
                path
            })
            .collect()
    }

    /// `callstitch trace --json INPUTS…`; the output is kept as `<label>.found.jsonl`.
    pub fn trace(&self, label: &str, inputs: &[&Path]) -> Traced {
        let output = binary().args(["trace", "--json"]).args(inputs).output().expect("trace runs");
        self.traced(label, inputs.iter().map(|path| path.display().to_string()).collect(), output)
    }

    /// `callstitch trace --json -` with `input` on standard input.
    pub fn trace_stdin(&self, label: &str, input: &Path) -> Traced {
        let file = std::fs::File::open(input).expect("the feed opens");
        let output =
            binary().args(["trace", "--json", "-"]).stdin(Stdio::from(file)).output().expect("trace runs");
        self.traced(label, vec![format!("- < {}", input.display())], output)
    }

    fn traced(&self, label: &str, inputs: Vec<String>, output: Output) -> Traced {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let found = self.feeds.join(format!("{label}.found.jsonl"));
        std::fs::write(&found, &stdout).expect("the output is kept");
        Traced {
            truth: self.truth(),
            inputs,
            status: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            lines: stdout.lines().map(str::to_string).collect(),
            found,
        }
    }
}

/// What `trace --json` printed for one feed.
pub struct Traced {
    pub truth: PathBuf,
    pub inputs: Vec<String>,
    pub status: Option<i32>,
    pub stderr: String,
    /// One interaction per line.
    pub lines: Vec<String>,
    /// The same lines, kept on disk for `verify`.
    pub found: PathBuf,
}

/// What `callstitch verify` said about one feed's output.
pub struct Verdict {
    /// `verify --json`.
    pub report: serde_json::Value,
    /// `verify` as text, for messages.
    pub text: String,
}

impl Verdict {
    pub fn figure(&self, name: &str) -> f64 {
        self.report[name].as_f64().unwrap_or(f64::NAN)
    }

    pub fn count(&self, name: &str) -> u64 {
        self.report[name].as_u64().unwrap_or(u64::MAX)
    }

    /// Precision, recall, exact and order all 1, nothing missing, nothing extra.
    pub fn is_perfect(&self) -> bool {
        ["precision", "recall", "exact_rate", "order_rate"].iter().all(|name| self.figure(name) == 1.0)
            && self.count("missing_segments") == 0
            && self.count("unknown_segments") == 0
    }

    /// The figures on one line, as the report of a run gives them.
    pub fn summary(&self) -> String {
        format!(
            "precision {:.4} recall {:.4} exact {:.4} ({} of {}) order {:.4}, found {}, segments missing {}",
            self.figure("precision"),
            self.figure("recall"),
            self.figure("exact_rate"),
            self.count("exact"),
            self.count("truth_interactions"),
            self.figure("order_rate"),
            self.count("found_interactions"),
            self.count("missing_segments"),
        )
    }
}

impl Traced {
    /// The interaction ids printed more than once, with how often.
    pub fn repeated_ids(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for line in &self.lines {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            let id = value["interaction_id"].as_str().unwrap_or_default().to_string();
            *counts.entry(id).or_default() += 1;
        }
        counts.into_iter().filter(|(_, count)| *count > 1).collect()
    }

    /// `callstitch verify --json` and `callstitch verify` of this output against the truth.
    pub fn verify(&self) -> Verdict {
        let run = |json: bool| {
            let mut command = binary();
            command.arg("verify").arg("--max-differences").arg("8");
            if json {
                command.arg("--json");
            }
            let output = command.arg(&self.truth).arg(&self.found).output().expect("verify runs");
            assert!(output.status.success(), "verify failed: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let report = serde_json::from_str(&run(true)).expect("verify --json prints JSON");
        Verdict { report, text: run(false) }
    }

    /// Asserts that trace ran, printed each interaction id once and found every interaction
    /// of the truth exactly and in order. Prints the figures first (`--nocapture` shows
    /// them even when the assertion passes).
    pub fn expect_exact(&self) {
        let verdict = self.verify();
        let repeated = self.repeated_ids();
        let printed = repeated.iter().map(|(_, count)| count - 1).sum::<usize>();
        eprintln!(
            "trace --json {}: {} lines, {} ids printed more than once ({printed} extra lines); {}",
            self.inputs.join(" "),
            self.lines.len(),
            repeated.len(),
            verdict.summary()
        );
        assert_eq!(self.status, Some(0), "trace failed: {}", self.stderr);
        assert!(
            verdict.is_perfect(),
            "trace --json {}\n{}\n{}",
            self.inputs.join(" "),
            verdict.text,
            first_lines(&self.stderr, 5)
        );
        assert!(repeated.is_empty(), "ids printed more than once: {:?}", &repeated[..repeated.len().min(8)]);
    }
}

fn first_lines(text: &str, count: usize) -> String {
    text.lines().take(count).collect::<Vec<_>>().join("\n")
}
