//! Durations as Flink SQL interval literals, and the watermark that matches Eddy's.

/// `ms` as `INTERVAL 'D HH:MM:SS.mmm' DAY TO SECOND`, which Flink takes for any length (a plain
/// `INTERVAL 'n' SECOND` stops at two digits).
pub fn interval(ms: i64) -> String {
    let ms = ms.max(0);
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    format!(
        "INTERVAL '{days} {:02}:{:02}:{:02}.{:03}' DAY({}) TO SECOND(3)",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
        days.to_string().len().max(2)
    )
}

/// Flink SQL's `WATERMARK FOR ts AS ts - d` gives `max - d`; Eddy's bounded out-of-orderness gives
/// `max - d - 1 ms` (as Flink's DataStream strategy does). Exporting `d + 1 ms` gives the same
/// watermarks, so the same rows are late.
pub fn watermark_delay(max_out_of_orderness_ms: i64) -> String {
    interval(max_out_of_orderness_ms.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_carry_every_millisecond() {
        assert_eq!(
            interval(2_001),
            "INTERVAL '0 00:00:02.001' DAY(2) TO SECOND(3)"
        );
        assert_eq!(
            interval(3_600_000 + 61_500),
            "INTERVAL '0 01:01:01.500' DAY(2) TO SECOND(3)"
        );
        assert_eq!(
            interval(400 * 86_400_000),
            "INTERVAL '400 00:00:00.000' DAY(3) TO SECOND(3)"
        );
        assert_eq!(watermark_delay(2_000), interval(2_001));
    }
}
