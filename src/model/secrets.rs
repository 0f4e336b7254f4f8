//! A pipeline file is shared and kept in git, so it must never hold a credential: every text a
//! node's settings hold (names, SQL, paths, endpoints, notes aside) is looked at for an AWS access
//! key id, a secret access key or a password in an address, and refused with where to put it
//! instead. Credentials come from the standard AWS chain (environment variables, `~/.aws`).

use crate::model::kind::Report;
use crate::model::kinds::NodeKind;

/// Why `text` looks like a credential, if it does.
pub fn looks_secret(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    // Access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters or digits.
    for start in 0..bytes.len().saturating_sub(19) {
        let prefix = &bytes[start..start + 4];
        if (prefix == b"AKIA" || prefix == b"ASIA")
            && bytes[start + 4..start + 20]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && !bytes
                .get(start + 20)
                .is_some_and(|b| b.is_ascii_alphanumeric())
            && (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
        {
            return Some("an AWS access key id");
        }
    }
    // Secret access keys: 40 characters of base64 with upper and lower case letters and digits.
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+')) {
        if word.len() == 40
            && word.bytes().any(|b| b.is_ascii_uppercase())
            && word.bytes().any(|b| b.is_ascii_lowercase())
            && word.bytes().any(|b| b.is_ascii_digit())
        {
            return Some("an AWS secret access key");
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("aws_secret_access_key") || lower.contains("aws_session_token") {
        return Some("an AWS credential setting");
    }
    if let Some(scheme) = lower.find("://") {
        let authority = lower[scheme + 3..].split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Some("a user name or password in an address");
        }
    }
    None
}

/// Refuses every setting of `kind` that looks like a credential.
pub fn check_node(kind: &NodeKind, report: &mut Report) {
    let Ok(value) = serde_json::to_value(kind) else {
        return;
    };
    let mut found = Vec::new();
    walk(&value, "", &mut found);
    for (field, what) in found {
        report.error(
            &field,
            format!(
                "this setting looks like {what}; a pipeline file is shared and kept in git, so credentials come from the standard AWS chain (environment variables, ~/.aws profiles), never from it"
            ),
        );
    }
}

/// Every string under `value`, with the name of the field that holds it.
fn walk(value: &serde_json::Value, field: &str, found: &mut Vec<(String, &'static str)>) {
    match value {
        serde_json::Value::String(text) => {
            if let Some(what) = looks_secret(text) {
                found.push((field.to_string(), what));
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                walk(item, field, found);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                // Enum variants wrap their fields: keep the innermost real field name.
                let name = if key.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    field
                } else {
                    key.as_str()
                };
                walk(item, name, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_secrets_and_passwords_in_addresses_are_found() {
        // The documentation's example credentials.
        assert_eq!(
            looks_secret("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key id")
        );
        assert_eq!(
            looks_secret("key 'ASIAIOSFODNN7EXAMPLE' here"),
            Some("an AWS access key id")
        );
        assert_eq!(
            looks_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            Some("an AWS secret access key")
        );
        assert_eq!(
            looks_secret("http://user:pass@127.0.0.1:4567"),
            Some("a user name or password in an address")
        );
        assert_eq!(
            looks_secret("aws_secret_access_key=abc"),
            Some("an AWS credential setting")
        );
    }

    #[test]
    fn ordinary_settings_are_not_secrets() {
        for text in [
            "CAST(pickup_location_id AS VARCHAR)",
            "263187143165413342834953797935508226048",
            "http://127.0.0.1:4567",
            "sensor-0001",
            "AKIA",
            "data/trips_2024_01_15_part_0001_of_0020.csv",
            "MAKIAIOSFODNN7EXAMPLE1",
        ] {
            assert_eq!(looks_secret(text), None, "{text}");
        }
    }
}
