//! Compressed logs through the binary: rotated archives are usually gzip (`.log.gz`) or
//! zstd (`.log.zst`). Every command that reads logs (parse, check, trace, recording,
//! ladder, import) reads them directly and finds the same events as in the plain logs; an
//! archive is told by its first bytes, not its name; a truncated or corrupt one is named,
//! with what is wrong, and the other inputs are read.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SEED_UUID: &str = "00RP30KH7088L1IC08GB82LAES000317";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("in memory")
}

/// The seed's two logs, plain in `plain/`, and in `packed/` one gzip, one zstd.
fn seed_copies(dir: &Path) -> (PathBuf, PathBuf) {
    let (plain, packed) = (dir.join("plain"), dir.join("packed"));
    std::fs::create_dir_all(&plain).expect("dir");
    std::fs::create_dir_all(&packed).expect("dir");
    let ts2 = std::fs::read(fixtures().join("seed-islink/Tserver2.log")).expect("seed");
    let sip1 = std::fs::read(fixtures().join("seed-islink/SIPServer1.log")).expect("seed");
    std::fs::write(plain.join("Tserver2.log"), &ts2).expect("write");
    std::fs::write(plain.join("SIPServer1.log"), &sip1).expect("write");
    std::fs::write(packed.join("Tserver2.log.gz"), gzip(&ts2)).expect("write");
    std::fs::write(packed.join("SIPServer1.log.zst"), zstd(&sip1)).expect("write");
    (plain, packed)
}

/// Output with the file names an event carries made alike.
fn unnamed(output: &Output) -> String {
    text(&output.stdout).replace(".log.gz", ".log").replace(".log.zst", ".log").replace("/packed/", "/plain/")
}

fn ok(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn every_command_reads_gzip_and_zstd_logs_as_the_plain_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plain, packed) = seed_copies(dir.path());
    let (plain, packed) = (plain.to_str().expect("utf-8"), packed.to_str().expect("utf-8"));
    let commands: Vec<Vec<&str>> = vec![
        vec!["parse"],
        vec!["parse", "--stats", "--json"],
        vec!["check", "--json"],
        vec!["trace", "--json"],
        vec!["trace"],
        vec!["recording", SEED_UUID],
        vec!["ladder", "--call-uuid", SEED_UUID],
    ];
    for command in commands {
        let run = |dir: &str| {
            let mut args = command.clone();
            args.push(dir);
            callstitch(&args)
        };
        let (from_plain, from_packed) = (run(plain), run(packed));
        ok(&from_plain);
        ok(&from_packed);
        assert!(!from_packed.stdout.is_empty());
        assert!(!text(&from_packed.stderr).contains("nothing callstitch can read"), "{command:?}");
        if command.contains(&"--stats") {
            let stats: serde_json::Value = serde_json::from_slice(&from_packed.stdout).expect("json");
            let kinds: Vec<&str> = stats["inputs"]
                .as_array()
                .expect("inputs")
                .iter()
                .filter_map(|i| i["compression"].as_str())
                .collect();
            assert_eq!(kinds, ["zstd", "gzip"], "each archive's kind is said");
            assert_eq!(stats["events"], serde_json::json!(4));
            continue;
        }
        assert_eq!(unnamed(&from_packed), unnamed(&from_plain), "{command:?}");
    }

    let database = dir.path().join("callstitch.db");
    let imported = callstitch(&["import", "--json", "--database", database.to_str().expect("utf-8"), packed]);
    ok(&imported);
    let summary: serde_json::Value = serde_json::from_slice(&imported.stdout).expect("json summary");
    assert_eq!(summary["events"], serde_json::json!(4), "{summary}");
    assert_eq!(summary["stored"]["interactions"], serde_json::json!(1), "{summary}");
}

#[test]
fn an_archive_is_told_by_its_first_bytes_not_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ts2 = std::fs::read(fixtures().join("seed-islink/Tserver2.log")).expect("seed");
    let hidden = dir.path().join("Tserver2.txt");
    std::fs::write(&hidden, gzip(&ts2)).expect("write");
    let output = callstitch(&["parse", hidden.to_str().expect("utf-8")]);
    ok(&output);
    assert_eq!(text(&output.stdout).lines().count(), 2, "the seed's two events");

    // Standard input too.
    let mut child = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(&zstd(&ts2)).expect("written");
    let output = child.wait_with_output().expect("ends");
    ok(&output);
    assert_eq!(text(&output.stdout).lines().count(), 2);
}

#[test]
fn a_truncated_archive_is_named_and_the_other_inputs_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let center = dir.path().join("center");
    let simulated = callstitch(&[
        "simulate",
        "--out",
        center.to_str().expect("utf-8"),
        "--interactions",
        "200",
        "--sites",
        "2",
    ]);
    ok(&simulated);
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&center)
        .expect("listing")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 2, "{logs:?}");
    // One site's log cut in the middle of its archive.
    let victim = logs[0].clone();
    let archive = gzip(&std::fs::read(&victim).expect("log"));
    let cut = victim.with_extension("log.gz");
    std::fs::write(&cut, &archive[..archive.len() / 2]).expect("write");
    std::fs::remove_file(&victim).expect("remove");

    let output = callstitch(&["parse", "--stats", "--json", center.to_str().expect("utf-8")]);
    ok(&output);
    let stderr = text(&output.stderr);
    let name = cut.display().to_string();
    assert!(
        stderr.contains(&format!("callstitch: error: {name}: ")) && stderr.contains("truncated gzip archive"),
        "{stderr}"
    );
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let plain_events: u64 = logs[1..]
        .iter()
        .map(|log| {
            let parsed = callstitch(&["parse", "--stats", "--json", log.to_str().expect("utf-8")]);
            serde_json::from_slice::<serde_json::Value>(&parsed.stdout).expect("json")["events"]
                .as_u64()
                .expect("count")
        })
        .sum();
    let events = stats["events"].as_u64().expect("count");
    assert!(
        events > plain_events,
        "the archive's events before the cut are read: {events} vs {plain_events}"
    );
    assert_eq!(stats["io_errors"].as_array().map(Vec::len), Some(1), "{stats}");

    // trace goes on with what there is.
    let traced = callstitch(&["trace", "--json", center.to_str().expect("utf-8")]);
    ok(&traced);
    assert!(text(&traced.stdout).lines().count() > 10);
}

#[test]
fn garbage_behind_a_magic_number_or_another_archive_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut garbage = vec![0x1f, 0x8b, 0x08, 0x00];
    garbage.extend((0..3000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 11) as u8));
    let corrupt = dir.path().join("TS1.log.gz");
    std::fs::write(&corrupt, garbage).expect("write");
    let bzip2 = dir.path().join("TS2.log.bz2");
    std::fs::write(&bzip2, b"BZh91AY&SY\x00\x01\x02").expect("write");
    let seed = fixtures().join("seed-islink/Tserver2.log");
    let output = callstitch(&[
        "parse",
        corrupt.to_str().expect("utf-8"),
        bzip2.to_str().expect("utf-8"),
        seed.to_str().expect("utf-8"),
    ]);
    ok(&output);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{}: ", corrupt.display())) && stderr.contains("gzip archive"),
        "{stderr}"
    );
    assert!(stderr.contains("a bzip2 archive") && stderr.contains("decompress it first"), "{stderr}");
    assert!(!stderr.contains("nothing callstitch can read"), "no hint about log settings: {stderr}");
    assert_eq!(text(&output.stdout).lines().count(), 2, "the plain log is read");
}
