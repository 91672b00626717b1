//! The canonical bytes of a row, its hash, and the ledger's time format.

use sha2::{Digest, Sha256};

use crate::Entry;
use crate::error::LedgerError;

/// The first field of every row's canonical bytes: the version of this encoding.
pub const FORMAT: &str = "wattage-ledger-v1";

/// The `prev_hash` of an instance's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The last millisecond the ledger's `time` text can hold (9999-12-31T23:59:59.999Z).
pub const MAX_TIME_UNIX_MS: i64 = 253_402_300_799_999;

/// A float as its shortest round-trip decimal text in positional notation (Rust's `{}`):
/// `0.1`, `1`, `-0`, `0.0000001`, `1000000000000000000000`.
pub fn float_text(x: f64) -> String {
    format!("{x}")
}

/// The canonical bytes of one row: each field's text, UTF-8, preceded by its length in bytes
/// as a 4-byte big-endian integer, in the order documented in the crate docs.
pub fn canonical(instance_id: &str, seq: u64, e: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut put = |s: &str| {
        // Field texts are validated to at most a few KiB, far below u32::MAX.
        let n = u32::try_from(s.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    put(FORMAT);
    put(instance_id);
    put(&seq.to_string());
    put(&e.request_id);
    put(&e.time_unix_ms.to_string());
    put(&e.key_id);
    put(&e.upstream);
    put(&e.model);
    put(&e.deployment_model);
    put(&e.hardware);
    put(&e.gpus.to_string());
    put(&e.endpoint);
    put(&e.status.to_string());
    put(if e.stream { "1" } else { "0" });
    put(&e.input_tokens.to_string());
    put(&e.cached_input_tokens.to_string());
    put(&e.output_tokens.to_string());
    put(&e.reasoning_tokens.to_string());
    put(&e.tokens_source);
    put(&float_text(e.batch));
    put(&float_text(e.latency_ms));
    put(&e.ttft_ms.map(float_text).unwrap_or_default());
    put(&float_text(e.energy_wh));
    put(&float_text(e.low_wh));
    put(&float_text(e.high_wh));
    put(&float_text(e.co2e_g));
    put(&float_text(e.water_ml));
    put(&float_text(e.cost_usd));
    put(&e.scope);
    out
}

/// `sha256(prev_hash bytes || canonical bytes)`, as raw bytes. `prev_hash` is 64 hex digits.
pub fn chain_hash(prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical);
    h.finalize().into()
}

/// 64 hex digits as 32 bytes.
pub fn hash_bytes(hex_text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).ok()?;
    Some(out)
}

/// The ledger's `time` text: `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), fixed width, so the text
/// sorts as the time does.
const ISO_MS: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

fn datetime(time_unix_ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_unix_ms) * 1_000_000).ok()
}

/// `time_unix_ms` as the ledger's `time` text, `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC). Fixed width,
/// so the text sorts as the time does.
pub fn iso_ms(time_unix_ms: i64) -> Result<String, LedgerError> {
    let bad = || LedgerError::Invalid {
        field: "time_unix_ms",
        why: format!("{time_unix_ms} is outside 1970-01-01 to 9999-12-31"),
    };
    if !(0..=MAX_TIME_UNIX_MS).contains(&time_unix_ms) {
        return Err(bad());
    }
    datetime(time_unix_ms)
        .and_then(|t| t.format(ISO_MS).ok())
        .ok_or_else(bad)
}

/// The ledger's `time` text back to Unix milliseconds; `None` unless it is exactly in the
/// form [`iso_ms`] writes.
pub fn parse_iso_ms(text: &str) -> Option<i64> {
    if text.len() != 24 {
        return None;
    }
    let t = time::PrimitiveDateTime::parse(text, ISO_MS)
        .ok()?
        .assume_utc();
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The Unix milliseconds of 00:00 UTC of the day holding `time_unix_ms`.
pub fn start_of_day(time_unix_ms: i64) -> i64 {
    time_unix_ms.div_euclid(86_400_000) * 86_400_000
}

/// The Unix milliseconds of 00:00 UTC on the first day of the month holding `time_unix_ms`.
pub fn start_of_month(time_unix_ms: i64) -> i64 {
    match datetime(time_unix_ms).and_then(|t| t.date().replace_day(1).ok()) {
        Some(d) => d.midnight().assume_utc().unix_timestamp() * 1000,
        None => start_of_day(time_unix_ms),
    }
}

/// The current time in Unix milliseconds.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn iso_round_trips_and_sorts() {
        for ms in [
            0,
            1,
            999,
            86_399_999,
            951_782_400_000,
            1_764_484_045_510,
            MAX_TIME_UNIX_MS,
        ] {
            let t = iso_ms(ms).unwrap();
            assert_eq!(parse_iso_ms(&t), Some(ms), "{t}");
        }
        assert_eq!(iso_ms(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(951_782_400_000).unwrap(), "2000-02-29T00:00:00.000Z");
        assert!(iso_ms(-1).is_err() && iso_ms(MAX_TIME_UNIX_MS + 1).is_err());
        for bad in [
            "2000-02-30T00:00:00.000Z",
            "2000-02-29 00:00:00.000Z",
            "2000-02-29T00:00:00.000",
            "+000-01-01T00:00:00.000Z",
        ] {
            assert_eq!(parse_iso_ms(bad), None, "{bad}");
        }
        assert_eq!(start_of_month(951_782_400_000 + 5), 949_363_200_000);
    }

    #[test]
    fn floats_are_shortest_positional() {
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1.0), "1");
        assert_eq!(float_text(-0.0), "-0");
        assert_eq!(float_text(1e-7), "0.0000001");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }
}
