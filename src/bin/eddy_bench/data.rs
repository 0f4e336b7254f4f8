//! The benchmark's events file: deterministic on every machine.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Keys `sensor-0000` to `sensor-0999`, with Zipf(1) popularity.
pub const KEYS: usize = 1000;

/// SplitMix64, so the file is the same on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `event_time_ms,key,value` at `per_sec` events a second of event time: time mostly increasing,
/// 10% of events up to 2 s out of order,
/// keys `sensor-0042` with Zipf-skewed popularity, values uniform in 0-20 with three decimals.
pub fn generate(path: &Path, events: u64, per_sec: i64) -> std::io::Result<()> {
    let mut rng = Rng(42);
    let mut cumulative = Vec::with_capacity(KEYS);
    let mut total = 0.0;
    for k in 0..KEYS {
        total += 1.0 / ((k + 1) as f64).powf(1.0);
        cumulative.push(total);
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "event_time_ms,key,value")?;
    let start: i64 = 1_700_000_000_000;
    for i in 0..events as i64 {
        let mut t = start + i * 1000 / per_sec;
        if rng.unit() < 0.10 {
            t -= (rng.unit() * 2000.0) as i64;
        }
        let u = rng.unit() * total;
        let key = cumulative.partition_point(|&c| c <= u).min(KEYS - 1);
        let value = (rng.unit() * 20_000.0) as u32;
        writeln!(
            out,
            "{t},sensor-{key:04},{}.{:03}",
            value / 1000,
            value % 1000
        )?;
    }
    out.flush()
}
