//! P1, P2 and P3 by hand: one thread, one loop each, no engine (the practical limit on this
//! machine), with the engine's rules (watermark = newest - 2 s - 1 ms, set every 4,096 rows here;
//! a window fires when the watermark passes its end; a row for windows that all fired is dropped).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// P1 by hand: `value > 10`, then tumbling 10 s per key (count, sum, max).
pub fn hand_written_p1(path: &Path, out: &Path) -> std::io::Result<(f64, u64)> {
    const SIZE: i64 = 10_000;
    let started = Instant::now();
    let mut state: HashMap<(Vec<u8>, i64), (i64, f64, f64)> = HashMap::new();
    let mut watermark = i64::MIN;
    let mut writer = BufWriter::new(File::create(out)?);
    let mut results = 0u64;
    let mut failed: Option<std::io::Error> = None;
    each_row(path, |event| match event {
        Event::Row(ts, key, value) => {
            let start = ts - ts.rem_euclid(SIZE);
            if value > 10.0 && start + SIZE - 1 > watermark {
                let entry = state
                    .entry((key.to_vec(), start))
                    .or_insert((0, 0.0, f64::MIN));
                entry.0 += 1;
                entry.1 += value;
                entry.2 = entry.2.max(value);
            }
        }
        Event::Watermark(w) => {
            watermark = w;
            state.retain(|(key, start), (n, total, peak)| {
                if start + SIZE - 1 > w {
                    return true;
                }
                let key = String::from_utf8_lossy(key);
                if let Err(e) =
                    writeln!(writer, "{key},{start},{},{n},{total},{peak}", start + SIZE)
                {
                    failed.get_or_insert(e);
                }
                results += 1;
                false
            });
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    for ((key, start), (n, total, peak)) in state.drain() {
        let key = String::from_utf8_lossy(&key);
        writeln!(writer, "{key},{start},{},{n},{total},{peak}", start + SIZE)?;
        results += 1;
    }
    writer.flush()?;
    Ok((started.elapsed().as_secs_f64(), results))
}

/// What the reader hands a loop: a row, or the watermark (every 4,096 rows, as the engine's source
/// advances it).
enum Event<'a> {
    Row(i64, &'a [u8], f64),
    Watermark(i64),
}

/// Reads `event_time_ms,key,value` rows into `on`.
fn each_row(path: &Path, mut on: impl FnMut(Event)) -> std::io::Result<()> {
    let mut reader = csv::ReaderBuilder::new().from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let mut newest = i64::MIN;
    let mut since = 0;
    while reader.read_byte_record(&mut record)? {
        let ts: i64 = std::str::from_utf8(&record[0])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let value: f64 = std::str::from_utf8(&record[2])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        newest = newest.max(ts);
        on(Event::Row(ts, &record[1], value));
        since += 1;
        if since == 4096 {
            since = 0;
            on(Event::Watermark(newest - 2000 - 1));
        }
    }
    Ok(())
}

/// P2 by hand: sliding 60 s / 10 s averages per key, one 10 s slice updated per row and six
/// slices merged when a window fires (as Flink SQL computes HOP windows).
pub fn hand_written_p2(path: &Path, out: &Path) -> std::io::Result<(f64, u64)> {
    const SIZE: i64 = 60_000;
    const SLIDE: i64 = 10_000;
    /// One key: its slices (start -> sum, count) and the first window start not yet fired.
    struct Key {
        slices: BTreeMap<i64, (f64, u64)>,
        next_window: i64,
    }
    let started = Instant::now();
    let mut writer = BufWriter::new(File::create(out)?);
    let mut keys: HashMap<Vec<u8>, Key> = HashMap::new();
    let mut watermark = i64::MIN;
    // Windows ending at or before this have fired.
    let mut fired_to = i64::MIN;
    let mut results = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let mut fire = |keys: &mut HashMap<Vec<u8>, Key>, upto: i64| -> std::io::Result<u64> {
        let mut fired = 0;
        for (key, k) in keys.iter_mut() {
            while !k.slices.is_empty() && k.next_window.saturating_add(SIZE - 1) <= upto {
                let w = k.next_window;
                let (sum, n) = k
                    .slices
                    .range(w..w + SIZE)
                    .fold((0.0, 0), |(s, c), (_, (ss, cc))| (s + ss, c + cc));
                if n > 0 {
                    let key = String::from_utf8_lossy(key);
                    writeln!(writer, "{key},{w},{},{}", w + SIZE, sum / n as f64)?;
                    fired += 1;
                }
                k.next_window += SLIDE;
                // Slices before the next window are in no window still to fire.
                while k
                    .slices
                    .first_key_value()
                    .is_some_and(|(&s, _)| s < k.next_window)
                {
                    k.slices.pop_first();
                }
            }
        }
        Ok(fired)
    };
    each_row(path, |event| match event {
        Event::Row(ts, key, value) => {
            let slice = ts - ts.rem_euclid(SLIDE);
            // Dropped when every window holding it fired.
            if slice + SIZE - 1 <= watermark.max(fired_to) {
                return;
            }
            // The first window not fired yet: it starts after `fired_to - SIZE + 1`.
            let first_open = if fired_to == i64::MIN {
                i64::MIN
            } else {
                let after = fired_to - (SIZE - 1);
                after - after.rem_euclid(SLIDE) + SLIDE
            };
            let k = keys.entry(key.to_vec()).or_insert_with(|| Key {
                slices: BTreeMap::new(),
                next_window: first_open,
            });
            // The first window holding this row that has not fired: a key starts there, and an
            // earlier row arriving late (out of order) moves its start back to it.
            let start = (slice - SIZE + SLIDE).max(first_open);
            k.next_window = if k.slices.is_empty() {
                start
            } else {
                k.next_window.min(start)
            };
            let entry = k.slices.entry(slice).or_insert((0.0, 0));
            entry.0 += value;
            entry.1 += 1;
        }
        Event::Watermark(w) => {
            watermark = w;
            // Windows end on slide boundaries: fire up to the last boundary passed.
            let upto = w - (w + 1).rem_euclid(SLIDE);
            if upto > fired_to && failed.is_none() {
                fired_to = upto;
                match fire(&mut keys, upto) {
                    Ok(n) => results += n,
                    Err(e) => failed = Some(e),
                }
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    results += fire(&mut keys, i64::MAX - SIZE)?;
    writer.flush()?;
    Ok((started.elapsed().as_secs_f64(), results))
}

/// P3 by hand: sessions with a 30 s gap per key, counted; a row opens `[ts, ts + gap)` and merges
/// with every session it touches; a session fires when the watermark passes its end.
pub fn hand_written_p3(path: &Path, out: &Path) -> std::io::Result<(f64, u64)> {
    const GAP: i64 = 30_000;
    let started = Instant::now();
    let mut writer = BufWriter::new(File::create(out)?);
    // Per key, session start -> (end, count).
    let mut sessions: HashMap<Vec<u8>, BTreeMap<i64, (i64, u64)>> = HashMap::new();
    let mut watermark = i64::MIN;
    let mut results = 0u64;
    let mut failed = None;
    each_row(path, |event| match event {
        Event::Row(ts, key, _) => {
            // Late: no session it could open or join can still fire (no allowed lateness).
            if ts <= watermark {
                return;
            }
            let own = sessions.entry(key.to_vec()).or_default();
            let (mut start, mut end, mut count) = (ts, ts + GAP, 1u64);
            let touching: Vec<i64> = own
                .range(..=end)
                .rev()
                .take_while(|(_, (e, _))| *e >= start)
                .map(|(s, _)| *s)
                .collect();
            for s in touching {
                if let Some((e, n)) = own.remove(&s) {
                    start = start.min(s);
                    end = end.max(e);
                    count += n;
                }
            }
            own.insert(start, (end, count));
        }
        Event::Watermark(w) => {
            watermark = w;
            for (key, own) in sessions.iter_mut() {
                own.retain(|start, (end, n)| {
                    if *end - 1 > w {
                        return true;
                    }
                    if failed.is_none()
                        && let Err(e) =
                            writeln!(writer, "{},{start},{end},{n}", String::from_utf8_lossy(key))
                    {
                        failed = Some(e);
                    }
                    results += 1;
                    false
                });
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    for (key, own) in sessions {
        for (start, (end, n)) in own {
            writeln!(
                writer,
                "{},{start},{end},{n}",
                String::from_utf8_lossy(&key)
            )?;
            results += 1;
        }
    }
    writer.flush()?;
    Ok((started.elapsed().as_secs_f64(), results))
}
