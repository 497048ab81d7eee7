//! Masking the customer's numbers in API output (`mask_numbers = true`).
//!
//! A caller's number is not only in `ani`: it is the external party's DN, the OtherDN of
//! the agent's events, a user-data value. So masking first gathers the numbers a document
//! names as ANI or DNIS (`ani`, `dnis`, `callerPhoneNumber`, `dialedPhoneNumber`), then
//! replaces every string equal to one of them, anywhere in the document, keeping the last
//! four digits so support staff can still tell calls apart.

use callstitch_store::Summary;
use serde_json::Value;

/// The keys whose values are the customer's numbers.
const NUMBER_KEYS: &[&str] = &["ani", "dnis", "callerPhoneNumber", "dialedPhoneNumber"];

/// `+14155550123` → `********0123`; numbers of four characters or fewer become `****`.
pub fn mask_number(number: &str) -> String {
    let count = number.chars().count();
    if count <= 4 {
        return "*".repeat(count.max(4));
    }
    let keep: String = number.chars().skip(count - 4).collect();
    format!("{}{keep}", "*".repeat(count - 4))
}

fn gather(value: &Value, numbers: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if NUMBER_KEYS.contains(&key.as_str()) {
                    if let Some(text) = inner.as_str().filter(|text| !text.is_empty()) {
                        numbers.push(text.to_string());
                    }
                }
                gather(inner, numbers);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| gather(item, numbers)),
        _ => {}
    }
}

fn replace(value: &mut Value, numbers: &[String]) {
    match value {
        Value::String(text) if numbers.iter().any(|number| number == text) => *text = mask_number(text),
        Value::Object(map) => map.values_mut().for_each(|inner| replace(inner, numbers)),
        Value::Array(items) => items.iter_mut().for_each(|item| replace(item, numbers)),
        _ => {}
    }
}

/// Masks the numbers of `value` and of `context` (documents that belong together, such as an
/// interaction and its raw events, share their numbers).
pub fn mask_all(values: &mut [&mut Value]) {
    let mut numbers = Vec::new();
    for value in values.iter() {
        gather(value, &mut numbers);
    }
    numbers.sort();
    numbers.dedup();
    if numbers.is_empty() {
        return;
    }
    for value in values.iter_mut() {
        replace(value, &numbers);
    }
}

/// Masks the customer's numbers of a search row (its ANI and DNIS) in every text of it.
pub fn mask_summary(summary: &mut Summary) {
    let mut numbers: Vec<String> = [&summary.ani, &summary.dnis]
        .into_iter()
        .flatten()
        .filter(|number| !number.is_empty())
        .cloned()
        .collect();
    numbers.sort();
    numbers.dedup();
    if numbers.is_empty() {
        return;
    }
    for text in summary.texts_mut() {
        if numbers.contains(text) {
            *text = mask_number(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_masked_wherever_they_appear() {
        let mut doc = json!({
            "ani": "4155550123",
            "dnis": "8005551000",
            "segments": [{"parties": [{"dn": "4155550123"}, {"dn": "7001"}]}],
        });
        let mut event = json!({"other_dn": "4155550123", "this_dn": "7001"});
        mask_all(&mut [&mut doc, &mut event]);
        assert_eq!(doc["ani"], "******0123");
        assert_eq!(doc["dnis"], "******1000");
        assert_eq!(doc["segments"][0]["parties"][0]["dn"], "******0123");
        assert_eq!(doc["segments"][0]["parties"][1]["dn"], "7001");
        assert_eq!(event["other_dn"], "******0123");
        assert_eq!(event["this_dn"], "7001");
    }

    #[test]
    fn a_search_rows_numbers_are_masked_wherever_they_appear() {
        let mut summary = Summary {
            ani: Some("4155550123".into()),
            dnis: Some("8005551000".into()),
            parties: vec!["4155550123".into(), "7001".into()],
            released_by_dn: Some("4155550123".into()),
            ..Summary::default()
        };
        mask_summary(&mut summary);
        assert_eq!(summary.ani.as_deref(), Some("******0123"));
        assert_eq!(summary.dnis.as_deref(), Some("******1000"));
        assert_eq!(summary.parties, ["******0123", "7001"]);
        assert_eq!(summary.released_by_dn.as_deref(), Some("******0123"));
    }

    #[test]
    fn short_numbers_reveal_nothing() {
        assert_eq!(mask_number("12"), "****");
        assert_eq!(mask_number("12345"), "*2345");
    }
}
