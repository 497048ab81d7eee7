//! Snapshots written by earlier builds restore, and write the same bytes again: a service
//! upgraded over its database starts from the snapshot it left.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests panic on their own set-up")]

use callstitch_engine::EngineConfig;
use callstitch_link::LinkerConfig;
use callstitch_pipeline::{Pipeline, PipelineConfig};

/// Regression (the capture that copies the linker's and the signals' maps as they are and
/// leaves the sorting to the encoding): a snapshot stored by `import --keep-open` of a
/// three-site set with skew, long calls and noise (`simulate --sites 3 --interactions 400
/// --skew-ms 700 --long-calls 20 --noise --seed 3`) by the build before that change, as the
/// store holds it (zstd), restores and encodes to the very same bytes.
#[test]
fn a_snapshot_stored_before_the_capture_kept_maps_restores_to_the_same_bytes() {
    let stored = include_bytes!("data/snapshot-before-capture-as-maps.zst");
    let bytes = zstd::stream::decode_all(&stored[..]).expect("the stored snapshot unpacks");
    let config = PipelineConfig::new(EngineConfig::default(), LinkerConfig::default(), None);
    let pipeline = Pipeline::restore(&bytes, &config).expect("an earlier build's snapshot restores");
    let (calls, segments) = pipeline.in_memory();
    assert!(calls > 0 && segments > 0, "the fixture holds calls and segments ({calls}, {segments})");
    let again = pipeline.snapshot().expect("it snapshots");
    assert!(
        again == bytes,
        "the restored state writes other bytes ({} against {})",
        again.len(),
        bytes.len()
    );
    let captured = pipeline.capture().encode().expect("the capture encodes");
    assert!(captured == bytes, "the capture encodes to other bytes");
}
