//! Where a real Kinesis stream is: its name, its region and, for a local emulator, an endpoint.
//! Shared by the Kinesis source and sink. Credentials never appear here: they come from the
//! standard AWS chain (environment variables, `~/.aws` profiles, instance roles).

use crate::model::kind::Report;

/// Checks a stream name (`[a-zA-Z0-9_.-]`, 1 to 128 characters, as the Kinesis API has it).
pub fn check_stream_name(name: &str, report: &mut Report) {
    let fits = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !fits {
        report.error(
            "stream",
            format!(
                "a Kinesis stream name is 1 to 128 letters, digits, `_`, `.` or `-`, not `{name}`"
            ),
        );
    }
}

/// Checks a region name such as `us-east-1`.
pub fn check_region(region: &str, report: &mut Report) {
    let fits = !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && region.contains('-');
    if !fits {
        report.error(
            "region",
            format!("`{region}` is not an AWS region; write e.g. us-east-1"),
        );
    }
}

/// Checks an endpoint: an `http://` or `https://` address with a host, and nothing that could
/// carry a secret (a user or password before the host, a query).
pub fn check_endpoint(endpoint: &str, report: &mut Report) {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    let Some(rest) = rest else {
        report.error(
            "endpoint",
            format!(
                "an endpoint starts with http:// or https://, e.g. http://127.0.0.1:4567, not `{endpoint}`"
            ),
        );
        return;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    // A user or password before the host is refused as a credential (see `model::secrets`).
    if authority.contains('@') {
        return;
    }
    if authority.is_empty() || rest.contains('?') || rest.contains('#') {
        report.error(
            "endpoint",
            format!("`{endpoint}` is not a plain address with a host"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(check: impl Fn(&mut Report)) -> Vec<String> {
        let mut report = Report::new("k");
        check(&mut report);
        report
            .into_problems()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn names_regions_and_endpoints_follow_the_rules() {
        assert!(problems(|r| check_stream_name("taxi-trips_1.v2", r)).is_empty());
        assert_eq!(problems(|r| check_stream_name("taxi trips", r)).len(), 1);
        assert_eq!(
            problems(|r| check_stream_name(&"a".repeat(129), r)).len(),
            1
        );
        assert!(problems(|r| check_region("eu-west-1", r)).is_empty());
        assert_eq!(problems(|r| check_region("Frankfurt", r)).len(), 1);
        assert!(problems(|r| check_endpoint("http://127.0.0.1:4567", r)).is_empty());
        assert!(
            problems(|r| check_endpoint("https://kinesis.eu-west-1.amazonaws.com", r)).is_empty()
        );
        assert!(problems(|r| check_endpoint("127.0.0.1:4567", r))[0].contains("starts with http"));
        assert!(
            problems(|r| check_endpoint("http://127.0.0.1:4567/?x=1", r))[0]
                .contains("plain address")
        );
    }
}
