//! End-to-end tests of `callstitch ladder` through the binary: the ladder of the seed's
//! two-site example, found by interaction id or by any CallUUID, is byte for byte the
//! library's snapshot; a recording fixture with its media feed shows its finding; an id
//! that names nothing, a page that does not exist and standard input are usage errors
//! (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary from the repository's root (so file names in the SVG are repository
/// paths, as in the library's snapshots).
fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the binary runs")
}

fn snapshot(name: &str) -> String {
    let path = repo().join("crates/ladder/tests/snapshots").join(format!("{name}.svg"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const SEED_ID: &str = "8800f70a5c563897";

#[test]
fn the_seed_ladder_by_id_or_call_uuid_is_the_library_snapshot() {
    let by_id = callstitch(&["ladder", SEED_ID, "fixtures/seed-islink/"]);
    assert_eq!(by_id.status.code(), Some(0), "{}", String::from_utf8_lossy(&by_id.stderr));
    let svg = String::from_utf8_lossy(&by_id.stdout).to_string();
    assert!(svg.starts_with("<svg "));
    assert_eq!(svg, snapshot("seed-islink"));
    let by_uuid =
        callstitch(&["ladder", "--call-uuid", "01AE904GK088LFQD2CGB02LAES0000EP", "fixtures/seed-islink/"]);
    assert_eq!(by_uuid.status.code(), Some(0));
    assert_eq!(by_uuid.stdout, by_id.stdout, "the same interaction, whichever call names it");
}

#[test]
fn a_recording_fixture_with_its_feed_shows_the_finding() {
    let dir = "crates/recording/tests/fixtures/sip-refer-unrecorded-site2";
    let media = format!("{dir}/media.jsonl");
    let out = callstitch(&[
        "ladder",
        "-q",
        "--media",
        &media,
        "--call-uuid",
        "000P30KH7088L1IC08GB820000000016",
        &format!("{dir}/SIP_BLR.log"),
        &format!("{dir}/SIP_LON.log"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("⚠ REC 2 P1"), "the file of the P1 finding is marked");
    assert!(svg.contains(">site SIP_LON</text>") && svg.contains(">site SIP_BLR</text>"));
}

#[test]
fn a_name_of_nothing_a_missing_page_and_stdin_are_usage_errors() {
    let missing = callstitch(&["ladder", "0000000000000000", "fixtures/seed-islink/"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no interaction 0000000000000000 in the input"));
    assert!(missing.stdout.is_empty());
    let page = callstitch(&["ladder", "--page", "2", SEED_ID, "fixtures/seed-islink/"]);
    assert_eq!(page.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&page.stderr).contains("page 2 does not exist: the ladder has 1 page(s)"));
    let stdin = callstitch(&["ladder", SEED_ID, "-"]);
    assert_eq!(stdin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stdin.stderr).contains("not standard input"));
    let no_paths = callstitch(&["ladder", SEED_ID]);
    assert_eq!(no_paths.status.code(), Some(2));
}
