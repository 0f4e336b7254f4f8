//! Durations written for humans in pipeline files: `"250ms"`, `"10s"`, `"5m"`, `"1h30m"`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time in whole milliseconds; negative only where a field allows it (window offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: i64,
}

const UNITS: [(&str, i64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    pub const ZERO: Duration = Duration { millis: 0 };

    pub const fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self {
            millis: secs * 1_000,
        }
    }

    pub const fn as_millis(self) -> i64 {
        self.millis
    }

    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }
}

impl fmt::Display for Duration {
    /// Canonical form: the largest units first, e.g. `1h30m`, `2s500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        if self.millis < 0 {
            f.write_str("-")?;
        }
        let mut rest = self.millis.unsigned_abs();
        for (unit, size) in UNITS {
            let size = size as u64;
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: {reason} (write e.g. \"250ms\", \"10s\", \"5m\", \"1h30m\")")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError {
            text: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        let (negative, mut rest) = match trimmed.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        if rest.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total: i64 = 0;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(fail("expected a number"));
            }
            let number: i64 = rest[..digits]
                .parse()
                .map_err(|_| fail("the number is too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = rest[..unit_len].trim();
            let size = match unit {
                "ms" => 1,
                "s" | "sec" | "secs" => 1_000,
                "m" | "min" | "mins" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => return Err(fail("a number needs a unit: ms, s, m, h or d")),
                _ => return Err(fail("unknown unit; use ms, s, m, h or d")),
            };
            rest = &rest[unit_len..];
            total = number
                .checked_mul(size)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| fail("it is too long"))?;
        }
        Ok(Duration {
            millis: if negative { -total } else { total },
        })
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_write() {
        assert_eq!("250ms".parse::<Duration>().unwrap().as_millis(), 250);
        assert_eq!("10s".parse::<Duration>().unwrap().as_millis(), 10_000);
        assert_eq!("5m".parse::<Duration>().unwrap().as_millis(), 300_000);
        assert_eq!("1h30m".parse::<Duration>().unwrap().as_millis(), 5_400_000);
        assert_eq!("-8h".parse::<Duration>().unwrap().as_millis(), -28_800_000);
        assert_eq!("2 min".parse::<Duration>().unwrap().as_millis(), 120_000);
    }

    #[test]
    fn writes_canonical_text_that_parses_back() {
        for millis in [
            0, 1, 999, 1_000, 61_000, 90_000, 3_600_000, 5_400_250, -300_000,
        ] {
            let d = Duration::from_millis(millis);
            let text = d.to_string();
            assert_eq!(text.parse::<Duration>().unwrap(), d, "{text}");
        }
        assert_eq!(Duration::from_millis(90_000).to_string(), "1m30s");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
    }

    #[test]
    fn refuses_nonsense_with_a_reason() {
        let err = "10".parse::<Duration>().unwrap_err();
        assert!(err.to_string().contains("needs a unit"), "{err}");
        assert!("10 parsecs".parse::<Duration>().is_err());
        assert!("".parse::<Duration>().is_err());
        assert!("s".parse::<Duration>().is_err());
        assert!("99999999999999999999s".parse::<Duration>().is_err());
    }
}
