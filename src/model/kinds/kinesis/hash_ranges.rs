//! How Kinesis Data Streams maps a record to a shard: the MD5 of the partition key's UTF-8 bytes
//! read as an unsigned 128-bit big-endian integer (or the record's explicit hash key), and the shard
//! whose inclusive hash-key range holds it. A new stream splits the key space evenly.

use md5::{Digest, Md5};

/// The largest hash key: the key space is `0 ..= 2^128 - 1`.
pub const MAX_HASH_KEY: u128 = u128::MAX;

/// A partition key's place in the key space.
pub fn hash_key(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// One shard's inclusive range of hash keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashRange {
    pub start: u128,
    pub end: u128,
}

impl HashRange {
    pub fn contains(&self, key: u128) -> bool {
        self.start <= key && key <= self.end
    }
}

/// The ranges of `shards` shards created at once: steps of `floor(2^128 / shards)`, the last one
/// ending at `2^128 - 1` (what Kinesis and its emulators do; for 2 shards the split is at 2^127).
pub fn even_split(shards: u32) -> Vec<HashRange> {
    let shards = shards.max(1) as u128;
    if shards == 1 {
        // The step would be 2^128 itself.
        return vec![HashRange {
            start: 0,
            end: MAX_HASH_KEY,
        }];
    }
    // 2^128 / n without overflowing: (2^128 - 1) / n, plus one when n divides 2^128 exactly
    // (n a power of two), as (2^128 - 1) / n then falls one short.
    let step = MAX_HASH_KEY / shards + u128::from((MAX_HASH_KEY % shards) + 1 == shards);
    (0..shards)
        .map(|i| HashRange {
            start: i * step,
            end: if i + 1 == shards {
                MAX_HASH_KEY
            } else {
                (i + 1) * step - 1
            },
        })
        .collect()
}

/// The index of the range (sorted, contiguous, covering the key space) that holds `key`.
pub fn shard_of(ranges: &[HashRange], key: u128) -> usize {
    ranges
        .partition_point(|r| r.end < key)
        .min(ranges.len().saturating_sub(1))
}

/// A shard's id as Kinesis writes it: `shardId-` and a 12-digit counter.
pub fn shard_id(number: u32) -> String {
    format!("shardId-{number:012}")
}

/// Reads an explicit hash key: a decimal integer in `0 ..= 2^128 - 1` (Kinesis's pattern
/// `0|([1-9]\d{0,38})`).
pub fn parse_explicit_hash_key(text: &str) -> Result<u128, String> {
    let valid = text == "0"
        || (!text.is_empty()
            && text.len() <= 39
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(format!(
            "the explicit hash key `{text}` is not a decimal number from 0 to 2^128 - 1"
        ));
    }
    text.parse::<u128>()
        .map_err(|_| format!("the explicit hash key `{text}` is larger than 2^128 - 1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_golden_keys_hash_and_route_as_kinesis_does() {
        // streaming-facts §1.2, checked against kinesalite.
        assert_eq!(hash_key("trip-1"), 178844115181461242134333118005111025133);
        assert_eq!(hash_key("a"), 16955237001963240173058271559858726497);
        let two = even_split(2);
        assert_eq!(shard_of(&two, hash_key("trip-1")), 1);
        assert_eq!(shard_of(&two, hash_key("a")), 0);
        assert_eq!(shard_of(&two, hash_key("b")), 1);
        assert_eq!(shard_of(&two, parse_explicit_hash_key("0").unwrap()), 0);
    }

    #[test]
    fn two_shards_split_at_two_to_the_127() {
        let two = even_split(2);
        assert_eq!(
            two,
            vec![
                HashRange {
                    start: 0,
                    end: 170141183460469231731687303715884105727
                },
                HashRange {
                    start: 170141183460469231731687303715884105728,
                    end: MAX_HASH_KEY
                },
            ]
        );
    }

    #[test]
    fn every_even_split_covers_the_key_space_without_gaps() {
        for n in 1..=64 {
            let ranges = even_split(n);
            assert_eq!(ranges.len(), n as usize);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges[n as usize - 1].end, MAX_HASH_KEY);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end + 1, pair[1].start, "{n} shards");
            }
            for (i, range) in ranges.iter().enumerate() {
                assert_eq!(shard_of(&ranges, range.start), i);
                assert_eq!(shard_of(&ranges, range.end), i);
            }
        }
    }

    #[test]
    fn explicit_hash_keys_follow_the_kinesis_pattern() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(MAX_HASH_KEY)
        );
        for bad in [
            "",
            "01",
            "-1",
            "1.5",
            "340282366920938463463374607431768211456",
            "1234567890123456789012345678901234567890",
        ] {
            assert!(parse_explicit_hash_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_ids_have_twelve_digits() {
        assert_eq!(shard_id(1), "shardId-000000000001");
    }
}
