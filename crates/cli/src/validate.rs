//! Values given on the command line, checked as strictly as the API checks them, so that a
//! mistyped id is a usage error (exit 2) naming the flag and what it takes, never a filter
//! that silently matches nothing.
//!
//! Each function is a clap value parser: clap says `invalid value 'xyz' for '--conn-id
//! <HEX>': ` and then the text these return.

/// A ConnID: 1 to 16 hex digits, either case (as the API's `conn_id`); returned as the 16
/// lowercase digits calls are stored under.
pub fn conn_id(text: &str) -> Result<String, String> {
    let valid = !text.is_empty() && text.len() <= 16 && text.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid {
        return Err("a ConnID is up to 16 hex digits (e.g. 009a021843038407)".to_string());
    }
    Ok(format!("{:0>16}", text.to_ascii_lowercase()))
}

/// 32 letters and digits: the form of CallUUIDs and of Inter-Site Link ids
/// (docs/log-format.md; e.g. `00RP30KH7088L1IC08GB82LAES000317`).
fn is_genesys_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// The key of a call its server gave no CallUUID: `~<ConnID>-<n>` (docs/trace-json.md).
fn is_call_key(text: &str) -> bool {
    let Some((conn, number)) = text.strip_prefix('~').and_then(|rest| rest.split_once('-')) else {
        return false;
    };
    conn_id(conn).is_ok() && !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit())
}

/// An interaction id: the 16 hex digits `trace` prints.
fn is_interaction_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

const CALL_UUID_FORM: &str =
    "a CallUUID is 32 letters and digits (e.g. 00RP30KH7088L1IC08GB82LAES000317), or the key `trace` prints for a call without one (~<ConnID>-<n>)";

/// A CallUUID (or the key of a call without one).
pub fn call_uuid(text: &str) -> Result<String, String> {
    match is_genesys_id(text) || is_call_key(text) {
        true => Ok(text.to_string()),
        false => Err(CALL_UUID_FORM.to_string()),
    }
}

/// An Inter-Site Link id: the CallUUID form.
pub fn islink(text: &str) -> Result<String, String> {
    match is_genesys_id(text) {
        true => Ok(text.to_string()),
        false => {
            Err("an Inter-Site Link id is 32 letters and digits (e.g. 00RP30KH7088L1IC08GB82LAES000316)"
                .to_string())
        }
    }
}

/// What names an interaction: its id (16 hex digits), or a CallUUID of one of its calls
/// (the root's is its recording id).
pub fn interaction_ref(text: &str) -> Result<String, String> {
    match is_interaction_id(text) || is_genesys_id(text) || is_call_key(text) {
        true => Ok(text.to_string()),
        false => Err(format!(
            "give an interaction id (16 hex digits, as `callstitch trace` prints it, e.g. 8800f70a5c563897) or a CallUUID; {CALL_UUID_FORM}"
        )),
    }
}

/// A DN (a party, ANI or DNIS): not empty, no blank or control character.
pub fn dn(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 256
        && !text.chars().any(|character| character.is_whitespace() || character.is_control());
    match valid {
        true => Ok(text.to_string()),
        false => Err("a DN is a non-empty word without blanks (e.g. 7001 or +15551234567)".to_string()),
    }
}

/// A wait in seconds of event time: 1 second to 7 days.
pub fn seconds(text: &str) -> Result<u32, String> {
    const MAX: u32 = 7 * 24 * 3600;
    match text.parse::<u32>() {
        Ok(value @ 1..=MAX) => Ok(value),
        _ => Err(format!("give whole seconds from 1 to {MAX} (7 days)")),
    }
}

/// A page number: 1 or more.
pub fn page(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(value @ 1..) => Ok(value),
        _ => Err("pages are numbered from 1".to_string()),
    }
}

/// Events per page of a ladder: 1 to [`callstitch_ladder::MAX_PER_PAGE`].
pub fn per_page(text: &str) -> Result<usize, String> {
    let most = callstitch_ladder::MAX_PER_PAGE;
    match text.parse::<usize>() {
        Ok(value) if (1..=most).contains(&value) => Ok(value),
        _ => Err(format!("give 1 to {most} events per page")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_ids_are_hex_and_padded() {
        assert_eq!(conn_id("009A021843038407").as_deref(), Ok("009a021843038407"));
        assert_eq!(conn_id("1f").as_deref(), Ok("000000000000001f"));
        for bad in ["", "xyz", "0x1f", "00000000000000001", "12 34"] {
            assert!(conn_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn call_uuids_have_the_genesys_form_or_are_keys() {
        assert!(call_uuid("00RP30KH7088L1IC08GB82LAES000317").is_ok());
        assert!(call_uuid("~009a021843038407-2").is_ok());
        for bad in [
            "",
            "NOPE",
            "00RP30KH7088L1IC08GB82LAES00031",
            "00RP30KH7088L1IC08GB82LAES00031!",
            "~xyz-1",
            "~1f-",
        ] {
            assert!(call_uuid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn interactions_are_named_by_id_or_call_uuid() {
        assert!(interaction_ref("8800f70a5c563897").is_ok());
        assert!(interaction_ref("00RP30KH7088L1IC08GB82LAES000317").is_ok());
        assert!(interaction_ref("seed.svg").is_err());
        assert!(interaction_ref("fixtures/seed-islink/").is_err());
    }

    #[test]
    fn dns_and_seconds() {
        assert!(dn("+15551234567").is_ok() && dn("7001").is_ok());
        assert!(dn("").is_err() && dn("70 01").is_err() && dn("7001\n").is_err());
        assert_eq!(seconds("600"), Ok(600));
        assert!(seconds("0").is_err() && seconds("-1").is_err() && seconds("1h").is_err());
        assert!(seconds("604801").is_err());
    }
}
