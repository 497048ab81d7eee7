//! The pipeline split in two (crates/pipeline, `split`: one engine per site telling its news
//! as data, the linker side taking every site's news merged) over a directory's logs prints
//! what `callstitch trace --json` prints for it, line for line: the merge the linker side
//! does is the one the command's reader does.

use std::path::Path;

use callstitch_engine::EngineConfig;
use callstitch_link::{LinkerConfig, SiteDirectory, SECOND};
use callstitch_pipeline::split::{link_sites, EstateLinker, SiteEngine, SiteStream};
use callstitch_pipeline::{Collected, PipelineConfig, TraceDocument};
use callstitch_sim::feed::Estate;
use callstitch_tlib::Text;

use crate::common::binary;

/// `trace --json`'s lines for the logs of `dir`.
fn traced(dir: &Path) -> Vec<String> {
    let output = binary().args(["trace", "--json"]).arg(dir).output().expect("trace runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

/// The same logs, split: each site's engine, then the linker side; the documents written as
/// `trace --json` writes them.
fn split(dir: &Path) -> Vec<String> {
    let estate = Estate::read_dir(dir).expect("the logs read back");
    // trace's default link timeout (--link-timeout 600).
    let linker = LinkerConfig { link_timeout: 600 * SECOND, ..LinkerConfig::default() };
    let config = PipelineConfig::new(EngineConfig::default(), linker, None);
    let streams: Vec<_> = estate
        .sites
        .iter()
        .map(|site| {
            let mut engine = SiteEngine::new(Text::from(site.site.as_str()), &config);
            let news: Vec<_> = site.events.iter().map(|event| engine.push(event).news).collect();
            let (last, _) = engine.finish();
            SiteStream { site: Text::from(site.site.as_str()), news: news.into_iter(), last }
        })
        .collect();
    let sites = SiteDirectory::new(estate.sites.iter().map(|site| site.site.as_str()));
    let mut linker = EstateLinker::new(&config, sites, None);
    let mut out = Collected::default();
    link_sites(&mut linker, streams, &mut out);
    out.interactions
        .into_iter()
        .map(|(interaction, recording)| TraceDocument::new(interaction, recording).to_sorted_json().unwrap())
        .collect()
}

fn assert_same_lines(dir: &Path) {
    let (want, got) = (traced(dir), split(dir));
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len(), "interactions of {}", dir.display());
    for (index, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "interaction {index} of {}", dir.display());
    }
}

#[test]
fn split_prints_what_trace_prints_for_the_seed_logs() {
    assert_same_lines(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink"));
}

#[test]
fn split_prints_what_trace_prints_for_a_simulated_estate_with_noise_and_skew() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logs");
    let status = binary()
        .args(["simulate", "--sites", "5", "--seed", "23", "--interactions", "400", "--noise"])
        .args([
            "--skew-ms",
            "20000",
            "--long-calls",
            "20%",
            "--conn-reuse",
            "30%",
            "--conn-reuse-after",
            "5s",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("simulate runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert_same_lines(&out);
}
