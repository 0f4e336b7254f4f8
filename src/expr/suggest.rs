//! "Did you mean …?": the known name closest to a mistyped one, if it is close enough to be what
//! was meant (a slip of a letter or two, a different case, or the start of a longer name).

/// The candidate nearest to `wanted`, when it is plausibly what was meant.
pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let allowed = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = if lower == wanted_lower {
                0
            } else if wanted_lower.chars().count() >= 3 && lower.starts_with(&wanted_lower) {
                1
            } else {
                edit_distance(&wanted_lower, &lower)
            };
            (distance <= allowed).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean `x`?)` for a message, or nothing.
pub fn did_you_mean_text<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    did_you_mean(wanted, candidates)
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance over characters, two rows at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [&str; 4] = ["sensor_id", "temperature", "event_time", "humidity"];

    #[test]
    fn slips_of_a_letter_case_and_prefixes_are_suggested() {
        assert_eq!(did_you_mean("temprature", COLUMNS), Some("temperature"));
        assert_eq!(did_you_mean("Temperature", COLUMNS), Some("temperature"));
        assert_eq!(did_you_mean("temp", COLUMNS), Some("temperature"));
        assert_eq!(did_you_mean("sensorid", COLUMNS), Some("sensor_id"));
        assert_eq!(
            did_you_mean_text("humdity", COLUMNS),
            " (did you mean `humidity`?)"
        );
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        assert_eq!(did_you_mean("price", COLUMNS), None);
        assert_eq!(did_you_mean("x", COLUMNS), None);
        assert_eq!(did_you_mean_text("zone", COLUMNS), "");
    }

    #[test]
    fn distances_count_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }
}
