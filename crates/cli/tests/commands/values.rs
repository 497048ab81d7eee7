//! Every value given on the command line is checked as strictly as the API checks it: a
//! mistyped id, DN or number is a usage error (exit 2) that names the flag and says what it
//! takes, before anything is read; never a filter that silently matches nothing.

use std::path::PathBuf;
use std::process::{Command, Output};

fn seed() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink");
    path.to_str().expect("utf-8 path").to_string()
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

/// Runs `args` + the seed and expects exit 2 with a message naming `flag` and saying `what`.
fn refused(args: &[&str], flag: &str, what: &str) {
    let seed = seed();
    let output = callstitch(&[args, &[seed.as_str()]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(flag) && stderr.contains(what),
        "{args:?} should name {flag} and say {what}: {stderr}"
    );
    assert!(output.stdout.is_empty(), "{args:?}: nothing printed");
}

#[test]
fn a_malformed_conn_id_is_a_usage_error_not_an_empty_result() {
    refused(&["trace", "--conn-id", "xyz"], "--conn-id", "up to 16 hex digits");
    refused(&["trace", "--conn-id", "009a0218430384071"], "--conn-id", "up to 16 hex digits");
    let ok = callstitch(&["trace", "--json", "--conn-id", "9A021843038407", &seed()]);
    assert_eq!(ok.status.code(), Some(0), "fewer digits, any case: as the API");
    assert_eq!(String::from_utf8_lossy(&ok.stdout).lines().count(), 1);
}

#[test]
fn malformed_ids_are_usage_errors_naming_the_flag() {
    refused(&["trace", "--call-uuid", "NOPE"], "--call-uuid", "32 letters and digits");
    refused(&["trace", "--islink", "316"], "--islink", "32 letters and digits");
    refused(&["trace", "--dn", ""], "--dn", "without blanks");
    refused(&["trace", "--dn", "70 01"], "--dn", "without blanks");
    refused(&["ladder", "--call-uuid", "x"], "--call-uuid", "32 letters and digits");
    refused(&["recording", "not-an-id"], "<ID>", "interaction id");
    refused(&["ladder", "seed.svg"], "seed.svg", "interaction id");
}

#[test]
fn numbers_out_of_range_are_usage_errors_naming_the_flag() {
    refused(&["trace", "--link-timeout", "0"], "--link-timeout", "seconds from 1");
    refused(&["trace", "--link-timeout", "10m"], "--link-timeout", "seconds from 1");
    refused(&["check", "--idle-timeout", "0"], "--idle-timeout", "seconds from 1");
    refused(
        &["ladder", "--page", "0", "--call-uuid", "00RP30KH7088L1IC08GB82LAES000317"],
        "--page",
        "from 1",
    );
    refused(
        &["ladder", "--per-page", "1000", "--call-uuid", "00RP30KH7088L1IC08GB82LAES000317"],
        "--per-page",
        "1 to 300",
    );
}

#[test]
fn a_missing_media_feed_is_a_usage_error() {
    refused(&["trace", "--media", "/nowhere/media.jsonl"], "--media", "no such file");
}

#[test]
fn an_islink_id_given_as_a_call_uuid_is_pointed_out() {
    let output = callstitch(&["trace", "--call-uuid", "00RP30KH7088L1IC08GB82LAES000316", &seed()]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is the Inter-Site Link id of interaction 8800f70a5c563897")
            && stderr.contains("--islink 00RP30KH7088L1IC08GB82LAES000316"),
        "{stderr}"
    );
}
