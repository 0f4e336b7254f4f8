//! The PATTERN text of a pattern node, as MATCH_RECOGNIZE writes it: step names one after another
//! (strict contiguity: no row may come between them), each with an optional quantifier — `*`,
//! `+`, `?`, `{n}`, `{n,}`, `{n,m}`, `{,m}` — greedy, or reluctant with a `?` after it. What Flink
//! does not support (groups, alternation, `??`, a pattern that can match nothing, a greedy
//! quantifier at the end) is refused with the reason.

/// The most rows one step may be asked to count (`{n}`), to keep partial matches bounded.
pub const MAX_REPEAT: u32 = 10_000;

/// One step of a pattern: its variable and how many consecutive rows it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub min: u32,
    /// `None`: no upper bound.
    pub max: Option<u32>,
    /// Greedy steps take as many rows as they can; reluctant ones as few.
    pub greedy: bool,
}

impl Step {
    /// How the step is written back: `B+`, `A{3}`, `C*?`.
    pub fn quantifier(&self) -> String {
        let base = match (self.min, self.max) {
            (1, Some(1)) => String::new(),
            (0, None) => "*".into(),
            (1, None) => "+".into(),
            (0, Some(1)) => "?".into(),
            (n, Some(m)) if n == m => format!("{{{n}}}"),
            (n, None) => format!("{{{n},}}"),
            (0, Some(m)) => format!("{{,{m}}}"),
            (n, Some(m)) => format!("{{{n},{m}}}"),
        };
        if self.greedy || base.is_empty() || self.min == self.max.unwrap_or(u32::MAX) {
            base
        } else {
            format!("{base}?")
        }
    }

    /// A step that keeps taking rows, where Flink lets the rows it can take never start the next
    /// step (`B*`, `B{2,4}`; not `B?`).
    pub fn is_greedy_loop(&self) -> bool {
        self.greedy && self.max != Some(self.min) && self.max != Some(1)
    }
}

/// Parses the PATTERN text into steps, or says what is wrong.
pub fn parse_pattern(text: &str) -> Result<Vec<Step>, String> {
    let mut body = text.trim();
    if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        body = inner.trim();
    }
    if body.contains(['(', ')']) {
        return Err(
            "groups such as `(A B)+` are not supported (nor by Flink): write the steps one after another"
                .into(),
        );
    }
    if body.contains('|') {
        return Err(
            "alternatives (`A | B`) are not supported (nor by Flink): use one step whose condition allows both"
                .into(),
        );
    }
    let chars: Vec<char> = body.chars().collect();
    let mut steps: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if !(chars[i].is_alphabetic() || chars[i] == '_') {
            return Err(format!(
                "`{}` at position {} is neither a step name nor a quantifier after one",
                chars[i],
                i + 1
            ));
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        let (min, max, next) = quantifier(&chars, i)?;
        i = next;
        let mut greedy = true;
        if chars.get(i) == Some(&'?') {
            if (min, max) == (0, Some(1)) {
                return Err(format!(
                    "`{name}??`: a reluctant optional step is not supported (nor by Flink); use `{name}?`"
                ));
            }
            greedy = false;
            i += 1;
        }
        if steps.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
            return Err(format!(
                "the step `{name}` appears twice; give each step its own name"
            ));
        }
        steps.push(Step {
            name,
            min,
            max,
            greedy,
        });
    }
    let Some(last) = steps.last() else {
        return Err("the pattern has no steps: write e.g. `A B+ C`".into());
    };
    if steps.iter().all(|s| s.min == 0) {
        return Err(
            "every step may take no row, so the pattern could match nothing; make one step required"
                .into(),
        );
    }
    if last.min == 0 {
        return Err(format!(
            "the last step `{}` may take no row; end the pattern with a required step",
            last.name
        ));
    }
    if last.greedy && last.max != Some(last.min) {
        return Err(format!(
            "a greedy quantifier cannot end the pattern (nor in Flink): `{0}{1}` would never know it had taken its last row; make it reluctant (`{0}{1}?`) or add a step after it whose condition is the negation of `{0}`'s",
            last.name,
            last.quantifier()
        ));
    }
    Ok(steps)
}

/// The quantifier starting at `i`: (min, max, where the text goes on).
fn quantifier(chars: &[char], i: usize) -> Result<(u32, Option<u32>, usize), String> {
    match chars.get(i) {
        Some('*') => Ok((0, None, i + 1)),
        Some('+') => Ok((1, None, i + 1)),
        Some('?') => Ok((0, Some(1), i + 1)),
        Some('{') => {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '}')
                .map(|p| i + p)
                .ok_or("a `{` without its `}`")?;
            let inside: String = chars[i + 1..end].iter().collect();
            let number = |t: &str| -> Result<Option<u32>, String> {
                let t = t.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                match t.parse::<u32>() {
                    Ok(n) if n <= MAX_REPEAT => Ok(Some(n)),
                    _ => Err(format!(
                        "`{{{inside}}}`: counts are whole numbers up to {MAX_REPEAT}"
                    )),
                }
            };
            let (min, max) = match inside.split_once(',') {
                None => {
                    let n = number(&inside)?.ok_or("`{}` needs a count: `{3}`")?;
                    (n, Some(n))
                }
                Some((a, b)) => (number(a)?.unwrap_or(0), number(b)?),
            };
            if max == Some(0) || max.is_some_and(|m| m < min) {
                return Err(format!(
                    "`{{{inside}}}` allows no row: the upper count must be at least 1 and the lower one"
                ));
            }
            Ok((min, max, end + 1))
        }
        _ => Ok((1, Some(1), i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<String> {
        parse_pattern(text)
            .unwrap()
            .iter()
            .map(|s| format!("{}{}", s.name, s.quantifier()))
            .collect()
    }

    #[test]
    fn steps_and_quantifiers_read_back_as_written() {
        assert_eq!(
            shape("(START_ROW PRICE_DOWN+ PRICE_UP)"),
            ["START_ROW", "PRICE_DOWN+", "PRICE_UP"]
        );
        assert_eq!(shape("SMALL{3} LARGE"), ["SMALL{3}", "LARGE"]);
        assert_eq!(shape("A B*? C"), ["A", "B*?", "C"]);
        assert_eq!(
            shape("A{2,} B{,4} C{1,3}? D"),
            ["A{2,}", "B{,4}", "C{1,3}?", "D"]
        );
        assert_eq!(shape("A B? C+?"), ["A", "B?", "C+?"]);
    }

    #[test]
    fn what_flink_refuses_is_refused_with_the_reason() {
        for (text, says) in [
            ("A B+", "greedy quantifier cannot end"),
            ("A B{2,3}", "greedy quantifier cannot end"),
            ("A*", "could match nothing"),
            ("A B??", "reluctant optional"),
            ("A (B C)+", "groups"),
            ("A | B", "alternatives"),
            ("A A", "appears twice"),
            ("A{0}", "allows no row"),
            ("A{5,2} B", "allows no row"),
            ("A{99999} B", "up to 10000"),
            ("", "no steps"),
            ("A B?", "may take no row"),
        ] {
            let error = parse_pattern(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
