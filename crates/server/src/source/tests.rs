//! The stored positions: the form written before the sections were typed restores, sections
//! no source claims survive a commit, and unreadable positions start the sources afresh.

use std::path::PathBuf;

use callstitch_follow::{Fingerprint, Position};
use serde_json::Value;

use super::{Checkpoints, FollowCheckpoint, ImportMark};

/// Positions as the service stored them before the sections were typed (a followed file,
/// and an import that was interrupted).
const STORED_BEFORE: &str = r#"{"follow":[{"path":"/logs/TS1.log","fingerprint":{"len":1024,"hash":"00000000deadbeef"},"offset":4096,"finished":false}],"import":{"inputs":[["/old/TS2.log",81920]],"consumed":500,"finished":false}}"#;

fn followed_file() -> Position {
    Position {
        path: PathBuf::from("/logs/TS1.log"),
        fingerprint: Fingerprint { len: 1024, hash: 0xdead_beef },
        offset: 4096,
        finished: false,
    }
}

fn interrupted_import() -> ImportMark {
    ImportMark { inputs: vec![("/old/TS2.log".to_string(), 81_920)], consumed: 500, finished: false }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn positions_stored_before_the_sections_were_typed_restore_as_they_were() {
    let checkpoints = Checkpoints::restore(Some(STORED_BEFORE));
    assert_eq!(checkpoints.get::<FollowCheckpoint>(), FollowCheckpoint(vec![followed_file()]));
    assert_eq!(checkpoints.get::<Option<ImportMark>>(), Some(interrupted_import()));
    let written = checkpoints.to_text().expect("written");
    assert_eq!(json(&written), json(STORED_BEFORE), "written back in the same form");
}

#[test]
fn setting_a_section_writes_the_form_read_before() {
    let mut checkpoints = Checkpoints::default();
    checkpoints.set(&FollowCheckpoint(vec![followed_file()])).expect("set");
    checkpoints.set(&Some(interrupted_import())).expect("set");
    let written = checkpoints.to_text().expect("written");
    assert_eq!(json(&written), json(STORED_BEFORE));
}

#[test]
fn a_section_no_source_of_the_run_claims_is_kept_as_it_was() {
    let mut checkpoints = Checkpoints::restore(Some(STORED_BEFORE));
    // An import that finished, in a run that follows no files.
    let finished = ImportMark { finished: true, ..interrupted_import() };
    checkpoints.set(&Some(finished.clone())).expect("set");
    let written = Checkpoints::restore(Some(&checkpoints.to_text().expect("written")));
    assert_eq!(written.get::<FollowCheckpoint>(), FollowCheckpoint(vec![followed_file()]));
    assert_eq!(written.get::<Option<ImportMark>>(), Some(finished));
}

#[test]
fn no_import_leaves_no_import_section() {
    let mut checkpoints = Checkpoints::restore(Some(STORED_BEFORE));
    checkpoints.set(&None::<ImportMark>).expect("set");
    let written = json(&checkpoints.to_text().expect("written"));
    assert!(written.get("import").is_none(), "{written}");
    assert!(written.get("follow").is_some(), "{written}");
}

#[test]
fn unreadable_positions_start_every_source_afresh() {
    for stored in [None, Some("not JSON"), Some("[1, 2]"), Some("null")] {
        let checkpoints = Checkpoints::restore(stored);
        assert_eq!(checkpoints.get::<FollowCheckpoint>(), FollowCheckpoint::default(), "{stored:?}");
        assert_eq!(checkpoints.get::<Option<ImportMark>>(), None, "{stored:?}");
    }
}

#[test]
fn an_unreadable_section_starts_its_source_afresh_and_leaves_the_others() {
    let stored = r#"{"follow":"garbled","import":{"inputs":[["/old/TS2.log",81920]],"consumed":500,"finished":false}}"#;
    let checkpoints = Checkpoints::restore(Some(stored));
    assert_eq!(checkpoints.get::<FollowCheckpoint>(), FollowCheckpoint::default());
    assert_eq!(checkpoints.get::<Option<ImportMark>>(), Some(interrupted_import()));
}
