//! Syntax colours for SQL expressions in the inspector: keywords, functions, strings, numbers.

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId};

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "is",
    "null",
    "true",
    "false",
    "in",
    "between",
    "like",
    "ilike",
    "case",
    "when",
    "then",
    "else",
    "end",
    "as",
    "distinct",
    "cast",
    "interval",
    // Whole statements, for the Flink SQL view.
    "select",
    "from",
    "where",
    "group",
    "by",
    "create",
    "temporary",
    "view",
    "table",
    "insert",
    "into",
    "with",
    "union",
    "all",
    "watermark",
    "for",
    "execute",
    "statement",
    "begin",
    "set",
    "partition",
    "descriptor",
    "day",
    "to",
    "second",
];

/// Colours for one theme.
struct Palette {
    keyword: Color32,
    function: Color32,
    string: Color32,
    number: Color32,
    plain: Color32,
}

fn palette(dark: bool) -> Palette {
    if dark {
        Palette {
            keyword: Color32::from_rgb(0x7a, 0xa6, 0xda),
            function: Color32::from_rgb(0xc3, 0x97, 0xd8),
            string: Color32::from_rgb(0x9a, 0xc4, 0x7a),
            number: Color32::from_rgb(0xe6, 0xa4, 0x5c),
            plain: Color32::from_gray(0xdd),
        }
    } else {
        Palette {
            keyword: Color32::from_rgb(0x1f, 0x4e, 0x9c),
            function: Color32::from_rgb(0x7b, 0x3a, 0x9e),
            string: Color32::from_rgb(0x2e, 0x7d, 0x32),
            number: Color32::from_rgb(0xb0, 0x5a, 0x00),
            plain: Color32::from_gray(0x20),
        }
    }
}

/// Lays out `text` with SQL colours.
pub fn highlight(text: &str, dark: bool, font: FontId) -> LayoutJob {
    let colors = palette(dark);
    let mut job = LayoutJob::default();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    let slice_end = |k: usize| chars.get(k).map_or(text.len(), |(b, _)| *b);
    while i < chars.len() {
        let (start, c) = chars[i];
        let mut j = i + 1;
        let color = if c == '\'' {
            while j < chars.len() && chars[j].1 != '\'' {
                j += 1;
            }
            j = (j + 1).min(chars.len());
            colors.string
        } else if c.is_ascii_digit() {
            while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
                j += 1;
            }
            colors.number
        } else if c.is_alphabetic() || c == '_' {
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let word = &text[start..slice_end(j)];
            let next = chars[j..]
                .iter()
                .find(|(_, c)| !c.is_whitespace())
                .map(|(_, c)| *c);
            if KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                colors.keyword
            } else if next == Some('(') {
                colors.function
            } else {
                colors.plain
            }
        } else {
            colors.plain
        };
        job.append(
            &text[start..slice_end(j)],
            0.0,
            TextFormat {
                font_id: font.clone(),
                color,
                ..Default::default()
            },
        );
        i = j;
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_functions_strings_and_numbers_get_their_colours() {
        let job = highlight(
            "round(fare, 2) > 10 AND type = 'trip'",
            true,
            FontId::monospace(12.0),
        );
        let text: String = job
            .sections
            .iter()
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(text, "round(fare, 2) > 10 AND type = 'trip'");
        let colors = palette(true);
        let color_of = |needle: &str| {
            job.sections
                .iter()
                .find(|s| job.text[s.byte_range.start.0..s.byte_range.end.0].contains(needle))
                .map(|s| s.format.color)
        };
        assert_eq!(color_of("round"), Some(colors.function));
        assert_eq!(color_of("AND"), Some(colors.keyword));
        assert_eq!(color_of("'trip'"), Some(colors.string));
        assert_eq!(color_of("10"), Some(colors.number));
        // Plain neighbours may share one section: `(fare, `.
        assert_eq!(color_of("fare"), Some(colors.plain));
    }
}
