//! Fuzz-style robustness: random bytes and random mutations of the example files, fed to the
//! loader and validator, never panic. A small seeded generator keeps every run reproducible.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use eddy::model::check::check_text;
use eddy::model::file::parse;

/// SplitMix64: tiny, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn example_texts() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut all: Vec<(PathBuf, String)> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    all.sort();
    all
}

/// Fragments that are likely to reach deep code paths when spliced into a valid file.
const FRAGMENTS: &[&str] = &[
    "\"0s\"",
    "\"-5m\"",
    "\"99999999999999999999h\"",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "Some(",
    "None",
    "\"a.out -> b.in\"",
    "\"x -> \"",
    "format_version: 99",
    "\"count(*\"",
    "\"sum(\"",
    "\"CASE WHEN\"",
    "\"1/0\"",
    "0",
    "-1",
    "1e309",
    "NaN",
    "\"\\u{0}\"",
    "é",
    "\"trip_distance >\"",
    "Tumbling(size: \"1s\")",
    "Union(inputs: 0)",
    "Count(size: 0)",
    "\"../../../etc/passwd\"",
    "\"/dev/zero\"",
    "id: \"\"",
    "/*",
    "//",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(40)).min(bytes.len());
                bytes.drain(at.min(bytes.len())..end);
            }
            1 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
            2 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = (rng.next() & 0x7f) as u8;
            }
            3 if !bytes.is_empty() => {
                // Duplicate a chunk: repeated nodes, fields and edges.
                let start = at.min(bytes.len() - 1);
                let end = (start + 1 + rng.below(200)).min(bytes.len());
                let chunk: Vec<u8> = bytes[start..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, chunk);
            }
            _ => {
                // Swap two lines.
                let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                if lines.len() > 2 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                }
                bytes = lines.join(&b'\n');
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn survives(path: &Path, text: &str) -> bool {
    panic::catch_unwind(|| {
        let checked = check_text(path, text);
        // Whatever was found, describing it must work too.
        for p in &checked.problems {
            let _ = p.display_in("fuzz.ron").to_string();
        }
    })
    .is_ok()
}

#[test]
fn random_mutations_of_the_examples_never_panic() {
    let examples = example_texts();
    let mut rng = Rng(0x5EED_0001);
    let mut parsed = 0;
    let cases = 3000;
    for case in 0..cases {
        let (path, text) = &examples[case % examples.len()];
        let mutated = mutate(text, &mut rng);
        assert!(
            survives(path, &mutated),
            "case {case}: panic on a mutation of {}:\n{mutated}",
            path.display()
        );
        if parse(&mutated).is_ok() {
            parsed += 1;
        }
    }
    // The mutations must exercise the validator too, not only the parser's error path.
    assert!(
        parsed > cases / 20,
        "only {parsed} of {cases} mutations parsed"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xB17E5);
    let path = Path::new("random.ron");
    for case in 0..2000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            survives(path, &text),
            "case {case}: panic on random input {bytes:?}"
        );
    }
}
