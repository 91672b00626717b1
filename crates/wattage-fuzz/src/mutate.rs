//! Structure-aware byte mutations for text formats (TOML, CSV, `NAME=VALUE` lines).
//!
//! Besides the classic byte-level mutations (bit flips, inserts, deletes, splices), the
//! mutator knows the shapes the inputs have: numbers (replaced by boundary values), lines
//! (duplicated, deleted, swapped, taken from another input), TOML tables (duplicated,
//! deleted) and keys (renamed to a key seen elsewhere in the corpus), so most mutants stay
//! close enough to valid to reach the checks behind the parser.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// Numbers that break arithmetic: zero, signs, overflow, underflow, non-finite, integer
/// boundaries, fractions where integers are expected.
pub const BOUNDARY_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e-300",
    "4294967296",
    "4294967295",
    "65536",
    "2147483648",
    "18446744073709551615",
    "9223372036854775807",
    "-0.0",
    "0.5",
    "1e9",
    "1e-9",
    "\"1\"",
];

/// Bytes worth inserting into TOML and CSV text.
const SYNTAX: &[u8] = b"=[]{}\",.\n#-+_0123456789eE ";

/// Everything the mutator draws from: the corpus and the keys it contains.
#[derive(Debug, Clone, Default)]
pub struct Mutator {
    keys: Vec<String>,
    lines: Vec<String>,
}

impl Mutator {
    /// A mutator whose dictionary (keys and lines) comes from `corpus`.
    pub fn new(corpus: &[Vec<u8>]) -> Self {
        let mut keys = Vec::new();
        let mut lines = Vec::new();
        for input in corpus {
            let text = String::from_utf8_lossy(input);
            for line in text.lines() {
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                if let Some((k, _)) = t.split_once('=') {
                    let k = k.trim();
                    if !k.is_empty() && k.len() < 64 {
                        keys.push(k.to_string());
                    }
                }
                if t.len() < 200 {
                    lines.push(t.to_string());
                }
            }
        }
        keys.sort();
        keys.dedup();
        lines.sort();
        lines.dedup();
        Self { keys, lines }
    }

    /// A mutant of `input`: one mutation half the time (most stay valid enough to get past
    /// the parser), else two to four stacked; `other` is another corpus input for splicing.
    /// The result is at most `max_len` bytes.
    pub fn mutate(
        &self,
        rng: &mut ChaCha8Rng,
        input: &[u8],
        other: &[u8],
        max_len: usize,
    ) -> Vec<u8> {
        let mut data = input.to_vec();
        let n = if rng.random_bool(0.5) {
            1
        } else {
            rng.random_range(2..=4u32)
        };
        for _ in 0..n {
            self.once(rng, &mut data, other);
        }
        data.truncate(max_len);
        data
    }

    fn once(&self, rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8]) {
        match rng.random_range(0..14u32) {
            0 => bit_flip(rng, data),
            1 => insert_byte(rng, data),
            2 => delete_range(rng, data),
            3 => splice(rng, data, other),
            4..=6 => boundary_number(rng, data),
            7 => line_op(rng, data, LineOp::Duplicate),
            8 => line_op(rng, data, LineOp::Delete),
            9 => line_op(rng, data, LineOp::Swap),
            10 => table_op(rng, data),
            11 => self.rename_key(rng, data),
            12 => self.insert_line(rng, data),
            _ => duplicate_range(rng, data),
        }
    }

    /// Replaces a key (text before `=` on a line) with another key from the corpus.
    fn rename_key(&self, rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
        let Some(key) = self.keys.choose(rng) else {
            return;
        };
        let mut spans = lines(data);
        spans.retain(|&(s, e)| data[s..e].contains(&b'='));
        let Some(&(s, e)) = spans.choose(rng) else {
            return;
        };
        let Some(eq) = data[s..e].iter().position(|&b| b == b'=') else {
            return;
        };
        data.splice(s..s + eq, format!("{key} ").into_bytes());
    }

    /// Inserts a line seen anywhere in the corpus at a line boundary.
    fn insert_line(&self, rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
        let Some(line) = self.lines.choose(rng) else {
            return;
        };
        let spans = lines(data);
        let at = spans.choose(rng).map_or(data.len(), |&(s, _)| s);
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        data.splice(at..at, bytes);
    }
}

fn bit_flip(rng: &mut ChaCha8Rng, data: &mut [u8]) {
    if data.is_empty() {
        return;
    }
    let i = rng.random_range(0..data.len());
    data[i] ^= 1 << rng.random_range(0..8u32);
}

fn insert_byte(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
    let i = rng.random_range(0..=data.len());
    let b = if rng.random_bool(0.7) {
        SYNTAX[rng.random_range(0..SYNTAX.len())]
    } else {
        rng.random()
    };
    data.insert(i, b);
}

fn delete_range(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let i = rng.random_range(0..data.len());
    let len = rng.random_range(1..=16usize.min(data.len() - i));
    data.drain(i..i + len);
}

fn duplicate_range(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let i = rng.random_range(0..data.len());
    let len = rng.random_range(1..=64usize.min(data.len() - i));
    let chunk = data[i..i + len].to_vec();
    let at = rng.random_range(0..=data.len());
    data.splice(at..at, chunk);
}

/// A prefix of `data` joined to a suffix of `other`, cut at random points (at line
/// boundaries half the time, so the result stays line-structured).
fn splice(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8]) {
    let cut = |rng: &mut ChaCha8Rng, d: &[u8]| -> usize {
        if d.is_empty() {
            return 0;
        }
        let i = rng.random_range(0..=d.len());
        if rng.random_bool(0.5) {
            d[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(d.len(), |p| i + p + 1)
        } else {
            i
        }
    };
    let a = cut(rng, data);
    let b = cut(rng, other);
    data.truncate(a);
    data.extend_from_slice(&other[b..]);
}

/// The byte spans of numbers in `data`: a digit run with an optional sign, fraction and
/// exponent.
fn numbers(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let starts = data[i].is_ascii_digit()
            && (i == 0 || !(data[i - 1].is_ascii_alphanumeric() || data[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let s = if i > 0 && (data[i - 1] == b'-' || data[i - 1] == b'+') {
            i - 1
        } else {
            i
        };
        let mut e = i;
        while e < data.len()
            && (data[e].is_ascii_digit()
                || data[e] == b'.'
                || data[e] == b'_'
                || data[e] == b'e'
                || data[e] == b'E'
                || ((data[e] == b'-' || data[e] == b'+') && matches!(data[e - 1], b'e' | b'E')))
        {
            e += 1;
        }
        out.push((s, e));
        i = e;
    }
    out
}

fn boundary_number(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
    let spans = numbers(data);
    let value = BOUNDARY_NUMBERS[rng.random_range(0..BOUNDARY_NUMBERS.len())];
    match spans.choose(rng) {
        Some(&(s, e)) => {
            data.splice(s..e, value.bytes());
        }
        None => {
            let at = rng.random_range(0..=data.len());
            data.splice(at..at, value.bytes());
        }
    }
}

/// Byte spans of the lines of `data`, each with its newline.
fn lines(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            out.push((s, i + 1));
            s = i + 1;
        }
    }
    if s < data.len() {
        out.push((s, data.len()));
    }
    out
}

enum LineOp {
    Duplicate,
    Delete,
    Swap,
}

fn line_op(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, op: LineOp) {
    let spans = lines(data);
    let Some(&(s, e)) = spans.choose(rng) else {
        return;
    };
    let mut line = data[s..e].to_vec();
    if !line.ends_with(b"\n") {
        line.push(b'\n');
    }
    match op {
        LineOp::Duplicate => {
            let times = if rng.random_bool(0.1) { 50 } else { 1 };
            let copies = line.repeat(times);
            data.splice(s..s, copies);
        }
        LineOp::Delete => {
            data.drain(s..e);
        }
        LineOp::Swap => {
            let Some(&(s2, e2)) = spans.choose(rng) else {
                return;
            };
            if s2 == s {
                return;
            }
            let (a, b) = if s < s2 {
                ((s, e), (s2, e2))
            } else {
                ((s2, e2), (s, e))
            };
            let mut out = data[..a.0].to_vec();
            out.extend_from_slice(&data[b.0..b.1]);
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(&data[a.1..b.0]);
            out.extend_from_slice(&data[a.0..a.1]);
            out.extend_from_slice(&data[b.1..]);
            *data = out;
        }
    }
}

/// Duplicates or deletes one TOML table: a `[header]` line and what follows to the next.
fn table_op(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) {
    let spans = lines(data);
    let heads: Vec<usize> = spans
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| data.get(*s) == Some(&b'['))
        .map(|(i, _)| i)
        .collect();
    let Some(&h) = heads.choose(rng) else {
        return;
    };
    let start = spans[h].0;
    let end = heads
        .iter()
        .find(|&&x| x > h)
        .map_or(data.len(), |&x| spans[x].0);
    if rng.random_bool(0.5) {
        let mut table = data[start..end].to_vec();
        if !table.ends_with(b"\n") {
            table.push(b'\n');
        }
        data.splice(end..end, table);
    } else {
        data.drain(start..end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn numbers_are_found_whole() {
        let d = b"a = -1.5e-3\nb_2 = 40\nc = [1, 2]\n";
        let found: Vec<&[u8]> = numbers(d).iter().map(|&(s, e)| &d[s..e]).collect();
        assert_eq!(found, vec![&b"-1.5e-3"[..], b"40", b"1", b"2"]);
    }

    #[test]
    fn mutants_differ_and_respect_the_size_cap() {
        let seed = b"[grid]\nimport_cap_mw = 60.0\n[[batteries]]\nenergy_mwh = 80\n".to_vec();
        let m = Mutator::new(std::slice::from_ref(&seed));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut changed = 0;
        for _ in 0..1000 {
            let out = m.mutate(&mut rng, &seed, &seed, 100);
            assert!(out.len() <= 100);
            changed += usize::from(out != seed);
        }
        assert!(changed > 900, "{changed}");
    }

    #[test]
    fn boundary_values_replace_numbers() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen_nan = false;
        for _ in 0..200 {
            let mut d = b"x = 12\n".to_vec();
            boundary_number(&mut rng, &mut d);
            let s = String::from_utf8(d).unwrap_or_default();
            assert!(s.starts_with("x = ") && !s.contains("12"), "{s}");
            seen_nan |= s == "x = nan\n";
        }
        assert!(seen_nan);
    }
}
