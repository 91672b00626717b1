//! The metering gateway's ledger: one row per request, hash-chained per gateway instance and
//! signed with ed25519, in a SQLite file or a PostgreSQL database.
//!
//! # Writing
//!
//! [`Ledger::open`] starts one writer thread per process. [`Ledger::append`] hands it an
//! [`Entry`]; the writer drains its queue into groups of up to [`OpenOptions::max_group`] rows,
//! writes each group in one transaction and answers each row only after that transaction has
//! committed, so a row whose `append` returned survives `kill -9` of the process (SQLite runs
//! in WAL mode with `synchronous = NORMAL`, which loses nothing to a killed process; a power
//! cut may lose the last transactions). A row whose `request_id` is already in the ledger,
//! from any instance, is not written and does not advance the chain: `append` returns
//! [`Appended`] with `duplicate: true` and `seq: 0`.
//!
//! Each instance's chain is read from the database at the start of every transaction, so a
//! restarted gateway continues its chain where it stopped. An instance is locked while a
//! [`Ledger`] writes it: PostgreSQL `pg_try_advisory_lock` on the instance id (the first 16 hex
//! digits as a signed 64-bit integer); SQLite an exclusive `flock` of the signing key file. A
//! second writer with the same key is refused with [`LedgerError::Locked`].
//!
//! # The chain, for a third party
//!
//! Every gateway instance has an ed25519 signing key (32 random bytes stored as 64 hex digits,
//! file mode 0600, created on first start). Its public key is stored in the table `instances`
//! and its **instance id** is the first 16 hex digits of SHA-256 of the 32 public-key bytes.
//! Rows of one instance have `seq` = 1, 2, 3, ... and
//!
//! ```text
//! hash      = SHA-256(prev_hash as 32 bytes || canonical bytes of the row)   (hex, lowercase)
//! signature = ed25519(signing key, hash as 32 bytes)                          (hex, 128 digits)
//! ```
//!
//! where the first row's `prev_hash` is 64 zeros and every later row's is the hash of the row
//! before it. The **canonical bytes** are the following 29 texts, each as UTF-8 preceded by
//! its length in bytes as a 4-byte big-endian unsigned integer:
//!
//! 1. the format tag `wattage-ledger-v1`
//! 2. `instance_id`, 3. `seq` (decimal), 4. `request_id`, 5. the time as Unix milliseconds
//!    (decimal; the `time` column is the same instant as `YYYY-MM-DDTHH:MM:SS.mmmZ`),
//! 6. `key_id`, 7. `upstream`, 8. `model`, 9. `deployment_model`, 10. `hardware`,
//! 11. `gpus`, 12. `endpoint`, 13. `status`, 14. `stream` (`1` or `0`), 15. `input_tokens`,
//! 16. `cached_input_tokens`, 17. `output_tokens`, 18. `reasoning_tokens`,
//! 19. `tokens_source`, 20. `batch`, 21. `latency_ms`, 22. `ttft_ms` (empty when NULL),
//! 23. `energy_wh`, 24. `low_wh`, 25. `high_wh`, 26. `co2e_g`, 27. `water_ml`,
//! 28. `cost_usd`, 29. `scope`.
//!
//! Integers are decimal without sign or leading zeros. Floats (always finite) are the
//! shortest decimal text that reads back as the same IEEE 754 double, in positional notation
//! without exponent, without a trailing `.0`, and `-0` for negative zero: `0.1`, `1`,
//! `0.30000000000000004`, `0.0000001` (Rust's `{}`; in Python
//! `numpy.format_float_positional(x, unique=True, trim='-')`).
//!
//! [`verify`] checks, per instance, that `seq` runs 1, 2, 3, ... without a gap, each
//! `prev_hash` is the previous row's `hash`, each `hash` recomputes from the columns and
//! each signature verifies with the instance's stored public key (whose fingerprint must be
//! the instance id). Any edit of any column is caught, and so is a deleted or inserted row
//! except the removal of an instance's last rows: compare `last_seq` with what the gateway
//! reported (`/metrics`) to catch that. The check proves that the rows were written by the
//! holder of the key with that fingerprint; that the fingerprint is your gateway's is for you
//! to compare.
//!
//! # Keys
//!
//! API keys are `wk_` and 64 hex digits (32 random bytes), shown once and stored as the
//! SHA-256 hex of the whole text ([`hash_secret`]), beside the first 11 characters (`prefix`)
//! to recognise them by.
//!
//! ```no_run
//! # fn main() -> Result<(), wattage_ledger::LedgerError> {
//! use wattage_ledger::{Budget, Target};
//! let t = Target::parse("ledger.db");
//! let (key, secret) = wattage_ledger::create_key(&t, "team-a", Some(Budget::parse("500Wh", "day")?), false)?;
//! println!("{} {secret}", key.id);
//! let report = wattage_ledger::verify(&t)?;
//! assert!(report.ok());
//! # Ok(()) }
//! ```

mod canonical;
mod db;
mod error;
mod keys;
mod ledger;
mod read;

use std::path::PathBuf;

pub use canonical::{GENESIS, MAX_TIME_UNIX_MS, canonical, iso_ms, now_unix_ms, parse_iso_ms};
pub use error::LedgerError;
pub use keys::{
    ApiKey, Budget, BudgetUnit, Period, create_key, hash_secret, list_keys, revoke_key,
};
pub use ledger::Ledger;
pub use read::{InstanceReport, ROW_COLUMNS, RollupRow, Row, VerifyReport, rollup, rows, verify};

/// What the gateway records of one finished request. Floats must be finite; text at most
/// [`MAX_TEXT`] bytes (`request_id` at most [`MAX_REQUEST_ID`] and not empty) without NUL.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The ledger's key: the client's `x-request-id` or `idempotency-key`, else generated.
    pub request_id: String,
    /// When the request arrived, Unix milliseconds (1970 to 9999).
    pub time_unix_ms: i64,
    /// The API key's id, empty without auth.
    pub key_id: String,
    /// The upstream's name.
    pub upstream: String,
    /// The model name the client asked for.
    pub model: String,
    /// The catalog model it was priced as.
    pub deployment_model: String,
    /// The catalog accelerator it was priced on.
    pub hardware: String,
    /// Accelerators per replica.
    pub gpus: u32,
    /// `chat`, `completions` or `embeddings`.
    pub endpoint: String,
    /// The HTTP status returned to the client.
    pub status: u16,
    /// A streamed response.
    pub stream: bool,
    /// Prompt tokens (including cached ones).
    pub input_tokens: u64,
    /// Prompt tokens served from the cache.
    pub cached_input_tokens: u64,
    /// Completion tokens (including reasoning ones).
    pub output_tokens: u64,
    /// Completion tokens spent reasoning.
    pub reasoning_tokens: u64,
    /// `usage` (the upstream's count) or `counted` (a stream cut short).
    pub tokens_source: String,
    /// Mean batch over the request's life, sequences.
    pub batch: f64,
    /// Total latency, ms.
    pub latency_ms: f64,
    /// Time to first token (streams), ms.
    pub ttft_ms: Option<f64>,
    /// Energy inside the scope, Wh.
    pub energy_wh: f64,
    /// Monte Carlo 5th percentile of the energy, Wh.
    pub low_wh: f64,
    /// Monte Carlo 95th percentile of the energy, Wh.
    pub high_wh: f64,
    /// Emissions, g CO2e.
    pub co2e_g: f64,
    /// Water, mL.
    pub water_ml: f64,
    /// Electricity cost, USD.
    pub cost_usd: f64,
    /// `gpu`, `server` or `facility`.
    pub scope: String,
}

/// The longest `request_id`, in bytes.
pub const MAX_REQUEST_ID: usize = 256;
/// The longest text field other than `request_id`, in bytes.
pub const MAX_TEXT: usize = 1024;

/// What [`Ledger::append`] did with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The row's position in this instance's chain; 0 for a duplicate.
    pub seq: u64,
    /// The `request_id` was already in the ledger: nothing was written.
    pub duplicate: bool,
}

/// Where a ledger lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`; key=value strings are not accepted).
    Postgres(String),
}

impl Target {
    /// `postgres://...` or `postgresql://...` is PostgreSQL; anything else a SQLite path.
    pub fn parse(s: &str) -> Target {
        let lower = s.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Target::Postgres(s.trim().to_string())
        } else {
            Target::Sqlite(PathBuf::from(s))
        }
    }

    /// The signing key file used when none is given: `<ledger path>.key` for SQLite,
    /// `wattage-gateway.key` in the current directory for PostgreSQL.
    pub fn default_key_path(&self) -> PathBuf {
        match self {
            Target::Sqlite(p) => {
                let mut s = p.clone().into_os_string();
                s.push(".key");
                PathBuf::from(s)
            }
            Target::Postgres(_) => PathBuf::from("wattage-gateway.key"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Target::parse(s))
    }
}

/// The path, or the URL with its password hidden.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(p) => write!(f, "{}", p.display()),
            Target::Postgres(u) => f.write_str(&db::redact(u)),
        }
    }
}

/// How to open a ledger for writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// The database.
    pub target: Target,
    /// The signing key file [default: [`Target::default_key_path`]].
    pub signing_key: Option<PathBuf>,
    /// Most rows per transaction (at least 1).
    pub max_group: usize,
}

impl OpenOptions {
    /// Options for `target` with the default key file and groups of 256 rows.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            signing_key: None,
            max_group: 256,
        }
    }
}

/// Sums over a key's rows (see [`Ledger::usage_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    /// Rows counted.
    pub requests: u64,
    /// Energy, Wh.
    pub energy_wh: f64,
    /// Emissions, g CO2e.
    pub co2e_g: f64,
    /// Water, mL.
    pub water_ml: f64,
    /// Cost, USD.
    pub cost_usd: f64,
}

impl Totals {
    /// The total in a budget's unit (water in litres).
    pub fn in_unit(&self, unit: BudgetUnit) -> f64 {
        match unit {
            BudgetUnit::Wh => self.energy_wh,
            BudgetUnit::Gco2e => self.co2e_g,
            BudgetUnit::L => self.water_ml / 1000.0,
            BudgetUnit::Usd => self.cost_usd,
        }
    }
}
