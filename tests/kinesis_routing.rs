//! Kinesis routing against an independent reference: Python's `hashlib.md5` and integer
//! arithmetic for 10,000 partition keys (some not ASCII) and streams of 1 to 16 shards created at
//! once (even splits of `floor(2^128 / n)`, the last shard ending at `2^128 - 1`).

use std::process::Command;

use eddy::model::kinds::kinesis::hash_ranges::{even_split, hash_key, shard_of};

const REFERENCE: &str = r#"
import hashlib
top = 2**128
for i in range(10000):
    key = f"trip-{i}" if i % 3 else f"zone-é-{i}-☃"
    h = int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)
    shards = []
    for n in range(1, 17):
        step = top // n
        shards.append(str(min(h // step, n - 1)))
    print(key, h, " ".join(shards), sep="\t")
"#;

#[test]
fn ten_thousand_keys_route_as_the_reference_says_for_1_to_16_shards() {
    let output = Command::new("python3")
        .args(["-c", REFERENCE])
        .output()
        .expect("python3 runs the reference (CI installs it; a fresh machine has Python 3.11)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let splits: Vec<_> = (1..=16).map(even_split).collect();
    let mut checked = 0;
    for line in text.lines() {
        let mut parts = line.split('\t');
        let (key, hash, shards) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let ours = hash_key(key);
        assert_eq!(ours.to_string(), hash, "the MD5 of {key}");
        for (n, expected) in shards.split(' ').enumerate() {
            assert_eq!(
                shard_of(&splits[n], ours).to_string(),
                expected,
                "{key} on {} shards",
                n + 1
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 10_000);
}
