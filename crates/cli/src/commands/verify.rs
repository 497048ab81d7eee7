//! `callstitch verify`: interactions found (the output of `callstitch trace --json`) against
//! a simulator's truth file: pairwise precision and recall, exact-interaction rate, order
//! rate, who released each interaction and party, who is heard on each media file, and the
//! first differences in words (docs/simulator.md).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use callstitch_sim::{
    read_groupings, read_interactions, read_verdicts, verify, verify_verdicts, VerifyOptions,
};
use clap::Args;

use crate::input::UsageError;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The truth: truth.jsonl written by `callstitch simulate`.
    #[arg(value_name = "TRUTH")]
    pub truth: PathBuf,

    /// The interactions found: JSON lines (or a JSON array) of objects with
    /// `segments: [{site, call_uuid}, ...]`, e.g. `callstitch trace --json` output; - for
    /// standard input.
    #[arg(value_name = "OUTPUT")]
    pub output: PathBuf,

    /// Leave the truth's consultation calls out on both sides (for output that folds a
    /// merged consultation into its main call).
    #[arg(long)]
    pub ignore_consultations: bool,

    /// List at most this many differences.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_differences: usize,

    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Exit 1 unless precision = recall = 1, every interaction is exact and in order, no
    /// release verdict names someone the truth does not, and every media file hears whom the
    /// truth says.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    let truth_text = read_text(&args.truth)?;
    let found_text = read_text(&args.output)?;
    let truth = read_interactions(&truth_text)
        .with_context(|| format!("reading the truth {}", args.truth.display()))?;
    let found = read_groupings(&found_text).with_context(|| format!("reading {}", args.output.display()))?;
    let options = VerifyOptions {
        ignore_consultations: args.ignore_consultations,
        max_differences: args.max_differences,
    };
    let mut report = verify(&truth, &found, &options);
    let verdicts =
        read_verdicts(&found_text).with_context(|| format!("reading {}", args.output.display()))?;
    report.verdicts = Some(verify_verdicts(&truth, &verdicts, args.max_differences));
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    if args.strict && !report.is_perfect() {
        bail!("the interactions found differ from the truth");
    }
    Ok(())
}

fn read_text(path: &PathBuf) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
        return Ok(text);
    }
    if !path.is_file() {
        return Err(UsageError(format!("no such file: {}", path.display())).into());
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
