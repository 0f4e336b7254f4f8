//! Firehose's S3 prefixes (streaming-facts §4.2): text with `!{timestamp:<pattern>}` (UTC, of
//! the oldest record in the object; Java `DateTimeFormatter` letters), `!{firehose:random-string}`
//! (11 characters), `!{firehose:error-output-type}` (error prefixes only) and
//! `!{partitionKeyFromQuery:<name>}` (dynamic partitioning). Parsed once, checked by the model,
//! evaluated by the runtime for each object.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The longest key prefix after evaluation.
pub const MAX_PREFIX_CHARS: usize = 512;

/// One piece of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// `!{timestamp:yyyy/MM/dd}`: the pattern's pieces.
    Timestamp(Vec<TimePiece>),
    RandomString,
    ErrorOutputType,
    PartitionKey(String),
}

/// A piece of a timestamp pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimePiece {
    /// `yyyy` (or `uuuu`): the year.
    Year,
    /// `YYYY`: the ISO week-based year (the workshop's prefix uses it; it differs from `yyyy`
    /// only around New Year).
    WeekYear,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millis,
    Literal(String),
}

/// A parsed prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefix {
    pub parts: Vec<Part>,
}

/// What a prefix is evaluated with.
pub struct Values<'a> {
    /// The arrival time of the oldest record in the object (epoch ms).
    pub oldest_arrival_ms: i64,
    pub random_string: &'a str,
    pub error_output_type: Option<&'a str>,
    /// Dynamic partitioning keys: name and value.
    pub partition_keys: &'a [(String, String)],
}

impl Prefix {
    /// Parses `text`; the reason when an expression is not one Firehose knows.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("!{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("`!{{` without its `}}` in `{text}`"));
            };
            let expression = &after[..end];
            parts.push(parse_expression(expression)?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// Whether the prefix has any `!{...}` expression.
    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    pub fn has_timestamp(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Timestamp(_)))
    }

    pub fn has_error_output_type(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::ErrorOutputType))
    }

    /// The partition keys it names, in order.
    pub fn partition_keys(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::PartitionKey(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The prefix with `values`, or why it cannot be made.
    pub fn evaluate(&self, values: &Values) -> Result<String, String> {
        let time = DateTime::<Utc>::from_timestamp_millis(values.oldest_arrival_ms)
            .ok_or("the arrival time is out of range")?;
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Timestamp(pieces) => format_time(&time, pieces, &mut out),
                Part::RandomString => out.push_str(values.random_string),
                Part::ErrorOutputType => match values.error_output_type {
                    Some(kind) => out.push_str(kind),
                    None => {
                        return Err("!{firehose:error-output-type} outside an error prefix".into());
                    }
                },
                Part::PartitionKey(name) => {
                    let value = values
                        .partition_keys
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                        .ok_or_else(|| format!("no partition key `{name}`"))?;
                    out.push_str(value);
                }
            }
        }
        let chars = out.chars().count();
        if chars > MAX_PREFIX_CHARS {
            return Err(format!(
                "the prefix evaluates to {chars} characters; Firehose takes at most {MAX_PREFIX_CHARS}"
            ));
        }
        Ok(out)
    }
}

fn parse_expression(expression: &str) -> Result<Part, String> {
    let (namespace, argument) = expression
        .split_once(':')
        .ok_or_else(|| format!("`!{{{expression}}}` is not namespace:value"))?;
    match (namespace, argument) {
        ("timestamp", pattern) => Ok(Part::Timestamp(parse_pattern(pattern)?)),
        ("firehose", "random-string") => Ok(Part::RandomString),
        ("firehose", "error-output-type") => Ok(Part::ErrorOutputType),
        ("partitionKeyFromQuery", name) if !name.is_empty() => {
            Ok(Part::PartitionKey(name.to_string()))
        }
        ("partitionKeyFromLambda", _) => Err(
            "!{partitionKeyFromLambda:...} needs a Lambda that returns partition keys; use !{partitionKeyFromQuery:name} with a partition key here".into(),
        ),
        _ => Err(format!(
            "`!{{{expression}}}` is not a Firehose expression: use timestamp:<pattern>, firehose:random-string, firehose:error-output-type or partitionKeyFromQuery:<name>"
        )),
    }
}

/// Parses a `DateTimeFormatter` pattern: runs of `yyyy`, `YYYY`, `MM`, `dd`, `HH`, `mm`, `ss`,
/// `SSS`, quoted text, and any other character as itself.
fn parse_pattern(pattern: &str) -> Result<Vec<TimePiece>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .ok_or_else(|| format!("an unclosed quote in `{pattern}`"))?;
            pieces.push(TimePiece::Literal(
                chars[i + 1..i + 1 + end].iter().collect(),
            ));
            i += end + 2;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let piece = match (c, run) {
            ('y' | 'u', 4) => TimePiece::Year,
            ('Y', 4) => TimePiece::WeekYear,
            ('M', 2) => TimePiece::Month,
            ('d', 2) => TimePiece::Day,
            ('H', 2) => TimePiece::Hour,
            ('m', 2) => TimePiece::Minute,
            ('s', 2) => TimePiece::Second,
            ('S', 3) => TimePiece::Millis,
            (c, _) if c.is_ascii_alphabetic() => {
                return Err(format!(
                    "`{}` in `{pattern}` is not a pattern Eddy knows: use yyyy, YYYY, MM, dd, HH, mm, ss or SSS",
                    chars[i..i + run].iter().collect::<String>()
                ));
            }
            (c, run) => TimePiece::Literal(std::iter::repeat_n(c, run).collect()),
        };
        pieces.push(piece);
        i += run;
    }
    Ok(pieces)
}

fn format_time(time: &DateTime<Utc>, pieces: &[TimePiece], out: &mut String) {
    use std::fmt::Write;
    for piece in pieces {
        let _ = match piece {
            TimePiece::Year => write!(out, "{:04}", time.year()),
            TimePiece::WeekYear => write!(out, "{:04}", time.iso_week().year()),
            TimePiece::Month => write!(out, "{:02}", time.month()),
            TimePiece::Day => write!(out, "{:02}", time.day()),
            TimePiece::Hour => write!(out, "{:02}", time.hour()),
            TimePiece::Minute => write!(out, "{:02}", time.minute()),
            TimePiece::Second => write!(out, "{:02}", time.second()),
            TimePiece::Millis => write!(out, "{:03}", time.timestamp_subsec_millis()),
            TimePiece::Literal(text) => write!(out, "{text}"),
        };
    }
}

/// `YYYY-MM-dd-HH-mm-ss` of `ms` (UTC): the time in an object's name.
pub fn name_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d-%H-%M-%S").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-15T13:45:30.250Z
    const ARRIVAL: i64 = 1_705_326_330_250;

    fn evaluate(text: &str, error: Option<&str>, keys: &[(String, String)]) -> String {
        Prefix::parse(text)
            .unwrap()
            .evaluate(&Values {
                oldest_arrival_ms: ARRIVAL,
                random_string: "a1b2c3d4e5f",
                error_output_type: error,
                partition_keys: keys,
            })
            .unwrap()
    }

    #[test]
    fn the_workshops_prefixes_evaluate_as_firehose_writes_them() {
        assert_eq!(
            evaluate(
                "nyctaxitrips/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
                None,
                &[]
            ),
            "nyctaxitrips/year=2024/month=01/day=15/hour=13/"
        );
        assert_eq!(
            evaluate(
                "nyctaxitripserror/!{firehose:error-output-type}/year=!{timestamp:YYYY}/",
                Some("processing-failed"),
                &[]
            ),
            "nyctaxitripserror/processing-failed/year=2024/"
        );
        // The default UTC path Firehose adds, and a literal in quotes.
        assert_eq!(
            evaluate("!{timestamp:yyyy/MM/dd/HH/}", None, &[]),
            "2024/01/15/13/"
        );
        assert_eq!(
            evaluate("!{timestamp:yyyy-MM-dd'T'HH:mm:ss.SSS}", None, &[]),
            "2024-01-15T13:45:30.250"
        );
        assert_eq!(
            evaluate(
                "by/!{partitionKeyFromQuery:zone}/!{firehose:random-string}/",
                None,
                &[("zone".into(), "132".into())]
            ),
            "by/132/a1b2c3d4e5f/"
        );
        assert_eq!(name_time(ARRIVAL), "2024-01-15-13-45-30");
    }

    #[test]
    fn the_week_based_year_differs_around_new_year() {
        // 2024-12-30 is in week 1 of 2025.
        let late_december = 1_735_560_000_000;
        let prefix = Prefix::parse("!{timestamp:YYYY}-!{timestamp:yyyy}").unwrap();
        let text = prefix
            .evaluate(&Values {
                oldest_arrival_ms: late_december,
                random_string: "",
                error_output_type: None,
                partition_keys: &[],
            })
            .unwrap();
        assert_eq!(text, "2025-2024");
    }

    #[test]
    fn unknown_expressions_and_long_results_are_refused_with_the_reason() {
        assert!(
            Prefix::parse("x/!{timestamp:yyyy")
                .unwrap_err()
                .contains("without its")
        );
        assert!(
            Prefix::parse("!{firehose:uuid}")
                .unwrap_err()
                .contains("not a Firehose expression")
        );
        assert!(
            Prefix::parse("!{timestamp:EEE}")
                .unwrap_err()
                .contains("EEE")
        );
        let long = Prefix::parse(&format!("{}/!{{timestamp:yyyy}}", "a".repeat(600))).unwrap();
        let error = long
            .evaluate(&Values {
                oldest_arrival_ms: ARRIVAL,
                random_string: "",
                error_output_type: None,
                partition_keys: &[],
            })
            .unwrap_err();
        assert!(error.contains("at most 512"), "{error}");
    }
}
