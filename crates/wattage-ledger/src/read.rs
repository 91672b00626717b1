//! Reading a ledger back: its rows, the check of every chain, and daily totals.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::ser::SerializeStruct;

use crate::canonical::{GENESIS, canonical, chain_hash, hash_bytes, parse_iso_ms};
use crate::db::{Access, Cell, Conn, REQUEST_COLUMNS};
use crate::error::LedgerError;
use crate::ledger::{fingerprint, off_runtime};
use crate::{Entry, Target};

/// One stored row: the entry and its place in its instance's chain. Serializes flat, with the
/// columns of docs/gateway.md in order (`time` as text, `stream` as 1 or 0; `time_unix_ms`
/// is not repeated).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What the gateway recorded.
    pub entry: Entry,
    /// The instance that wrote it.
    pub instance_id: String,
    /// Its position in that instance's chain, from 1.
    pub seq: u64,
    /// `entry.time_unix_ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub time: String,
    /// The previous row's hash (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and the row's canonical bytes.
    pub hash: String,
    /// ed25519 signature of `hash`.
    pub signature: String,
}

impl serde::Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &self.entry;
        let mut m = s.serialize_struct("Row", REQUEST_COLUMNS.len())?;
        m.serialize_field("request_id", &e.request_id)?;
        m.serialize_field("instance_id", &self.instance_id)?;
        m.serialize_field("seq", &self.seq)?;
        m.serialize_field("time", &self.time)?;
        m.serialize_field("key_id", &e.key_id)?;
        m.serialize_field("upstream", &e.upstream)?;
        m.serialize_field("model", &e.model)?;
        m.serialize_field("deployment_model", &e.deployment_model)?;
        m.serialize_field("hardware", &e.hardware)?;
        m.serialize_field("gpus", &e.gpus)?;
        m.serialize_field("endpoint", &e.endpoint)?;
        m.serialize_field("status", &e.status)?;
        m.serialize_field("stream", &u8::from(e.stream))?;
        m.serialize_field("input_tokens", &e.input_tokens)?;
        m.serialize_field("cached_input_tokens", &e.cached_input_tokens)?;
        m.serialize_field("output_tokens", &e.output_tokens)?;
        m.serialize_field("reasoning_tokens", &e.reasoning_tokens)?;
        m.serialize_field("tokens_source", &e.tokens_source)?;
        m.serialize_field("batch", &e.batch)?;
        m.serialize_field("latency_ms", &e.latency_ms)?;
        m.serialize_field("ttft_ms", &e.ttft_ms)?;
        m.serialize_field("energy_wh", &e.energy_wh)?;
        m.serialize_field("low_wh", &e.low_wh)?;
        m.serialize_field("high_wh", &e.high_wh)?;
        m.serialize_field("co2e_g", &e.co2e_g)?;
        m.serialize_field("water_ml", &e.water_ml)?;
        m.serialize_field("cost_usd", &e.cost_usd)?;
        m.serialize_field("scope", &e.scope)?;
        m.serialize_field("prev_hash", &self.prev_hash)?;
        m.serialize_field("hash", &self.hash)?;
        m.serialize_field("signature", &self.signature)?;
        m.end()
    }
}

/// The columns a [`Row`] serializes to, in order (those of the `requests` table).
pub const ROW_COLUMNS: [&str; 31] = {
    let mut out = [""; 31];
    let mut i = 0;
    while i < 31 {
        out[i] = REQUEST_COLUMNS[i].0;
        i += 1;
    }
    out
};

fn select_rows() -> String {
    let cols: Vec<&str> = REQUEST_COLUMNS.iter().map(|(n, _)| *n).collect();
    format!(
        "SELECT {} FROM requests ORDER BY instance_id, seq",
        cols.join(", ")
    )
}

/// A row from its cells in the order of [`REQUEST_COLUMNS`]; the error names the column.
fn row_from(cells: &[Cell]) -> Result<Row, String> {
    let get = |i: usize| cells.get(i).ok_or_else(|| "too few columns".to_string());
    let name = |i: usize| REQUEST_COLUMNS.get(i).map_or("?", |c| c.0);
    let text = |i: usize| match get(i)? {
        Cell::Text(s) => Ok(s.clone()),
        other => Err(format!("column `{}` is not text: {other:?}", name(i))),
    };
    let int = |i: usize| match get(i)? {
        Cell::Int(n) => Ok(*n),
        other => Err(format!("column `{}` is not an integer: {other:?}", name(i))),
    };
    let uint = |i: usize| {
        int(i).and_then(|n| {
            u64::try_from(n).map_err(|_| format!("column `{}` is negative: {n}", name(i)))
        })
    };
    let real = |i: usize| match get(i)? {
        Cell::Real(x) => Ok(*x),
        // SQLite may hand back a whole REAL as an integer.
        Cell::Int(n) => Ok(*n as f64),
        other => Err(format!("column `{}` is not a number: {other:?}", name(i))),
    };
    let time = text(3)?;
    let time_unix_ms =
        parse_iso_ms(&time).ok_or_else(|| format!("column `time` is malformed: `{time}`"))?;
    let small = |i: usize, max: u64| {
        uint(i).and_then(|n| {
            if n > max {
                Err(format!("column `{}` is out of range: {n}", name(i)))
            } else {
                Ok(n)
            }
        })
    };
    let stream = match int(12)? {
        0 => false,
        1 => true,
        n => return Err(format!("column `stream` is neither 0 nor 1: {n}")),
    };
    let entry = Entry {
        request_id: text(0)?,
        time_unix_ms,
        key_id: text(4)?,
        upstream: text(5)?,
        model: text(6)?,
        deployment_model: text(7)?,
        hardware: text(8)?,
        gpus: u32::try_from(small(9, u64::from(u32::MAX))?).unwrap_or(u32::MAX),
        endpoint: text(10)?,
        status: u16::try_from(small(11, u64::from(u16::MAX))?).unwrap_or(u16::MAX),
        stream,
        input_tokens: uint(13)?,
        cached_input_tokens: uint(14)?,
        output_tokens: uint(15)?,
        reasoning_tokens: uint(16)?,
        tokens_source: text(17)?,
        batch: real(18)?,
        latency_ms: real(19)?,
        ttft_ms: match get(20)? {
            Cell::Null => None,
            _ => Some(real(20)?),
        },
        energy_wh: real(21)?,
        low_wh: real(22)?,
        high_wh: real(23)?,
        co2e_g: real(24)?,
        water_ml: real(25)?,
        cost_usd: real(26)?,
        scope: text(27)?,
    };
    Ok(Row {
        entry,
        instance_id: text(1)?,
        seq: uint(2)?,
        time,
        prev_hash: text(28)?,
        hash: text(29)?,
        signature: text(30)?,
    })
}

/// Every row, by instance and seq.
pub fn rows(t: &Target) -> Result<Vec<Row>, LedgerError> {
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Read)?;
        let target = c.target().to_string();
        let mut out = Vec::new();
        c.each(&select_rows(), &[], "cannot read the rows", |cells| {
            let r = row_from(&cells).map_err(|why| LedgerError::Database {
                target: target.clone(),
                why: format!("row {}: {why}", describe(&cells)),
            })?;
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    })
}

/// `request_id `x` (instance `i`, seq n)` from raw cells, as far as they can be read.
fn describe(cells: &[Cell]) -> String {
    let t = |i: usize| match cells.get(i) {
        Some(Cell::Text(s)) => s.clone(),
        Some(Cell::Int(n)) => n.to_string(),
        Some(other) => format!("{other:?}"),
        None => "?".into(),
    };
    format!("`{}` (instance `{}`, seq {})", t(0), t(1), t(2))
}

/// One instance's chain as checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceReport {
    /// The instance id.
    pub instance_id: String,
    /// Its rows.
    pub rows: u64,
    /// The highest seq seen.
    pub last_seq: u64,
    /// True when no problem was found in its chain.
    pub ok: bool,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// Each instance with rows or a stored key.
    pub instances: Vec<InstanceReport>,
    /// What broke, each naming the request_id and seq (empty when intact).
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when every chain is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Chain {
    key: Result<VerifyingKey, String>,
    report: InstanceReport,
    prev_hash: String,
}

/// Checks every instance's chain: seq from 1 without gaps, each prev_hash the previous hash,
/// each hash recomputed from the columns, each signature verified with the instance's stored
/// public key. Reads the rows one at a time.
pub fn verify(t: &Target) -> Result<VerifyReport, LedgerError> {
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Read)?;
        let mut problems = Vec::new();
        let mut chains: HashMap<String, Chain> = HashMap::new();
        for r in c.query(
            "SELECT instance_id, public_key FROM instances",
            &[],
            "cannot read the instances",
        )? {
            let (Some(Cell::Text(id)), Some(Cell::Text(pk))) = (r.first(), r.get(1)) else {
                problems.push(format!("an `instances` row is malformed: {r:?}"));
                continue;
            };
            let key = parse_public_key(id, pk);
            if let Err(why) = &key {
                problems.push(why.clone());
            }
            chains.insert(id.clone(), new_chain(id, key));
        }
        let mut rows = 0u64;
        c.each(&select_rows(), &[], "cannot read the rows", |cells| {
            rows += 1;
            let row = match row_from(&cells) {
                Ok(r) => r,
                Err(why) => {
                    problems.push(format!("row {}: {why}", describe(&cells)));
                    if let Some(Cell::Text(id)) = cells.get(1)
                        && let Some(ch) = chains.get_mut(id)
                    {
                        ch.report.ok = false;
                        ch.report.rows += 1;
                    }
                    return Ok(());
                }
            };
            let ch = chains.entry(row.instance_id.clone()).or_insert_with(|| {
                problems.push(format!(
                    "instance `{}` has rows but no public key in `instances`",
                    row.instance_id
                ));
                new_chain(&row.instance_id, Err(String::new()))
            });
            let before = problems.len();
            check_row(ch, &row, &mut problems);
            ch.report.rows += 1;
            ch.report.last_seq = ch.report.last_seq.max(row.seq);
            if problems.len() > before || ch.key.is_err() {
                ch.report.ok = false;
            }
            ch.prev_hash = row.hash;
            Ok(())
        })?;
        let mut instances: Vec<InstanceReport> = chains.into_values().map(|c| c.report).collect();
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(VerifyReport {
            rows,
            instances,
            problems,
        })
    })
}

fn new_chain(id: &str, key: Result<VerifyingKey, String>) -> Chain {
    Chain {
        report: InstanceReport {
            instance_id: id.to_string(),
            rows: 0,
            last_seq: 0,
            ok: key.is_ok(),
        },
        key,
        prev_hash: GENESIS.to_string(),
    }
}

fn parse_public_key(id: &str, pk: &str) -> Result<VerifyingKey, String> {
    let mut b = [0u8; 32];
    if hex::decode_to_slice(pk, &mut b).is_err() || hex::encode(b) != pk {
        return Err(format!(
            "instance `{id}`: the public key is not 64 lowercase hex digits"
        ));
    }
    if fingerprint(&b) != id {
        return Err(format!(
            "instance `{id}`: the stored public key's fingerprint is `{}`, not the instance id",
            fingerprint(&b)
        ));
    }
    VerifyingKey::from_bytes(&b).map_err(|e| format!("instance `{id}`: bad public key: {e}"))
}

fn check_row(ch: &Chain, row: &Row, problems: &mut Vec<String>) {
    let at = format!(
        "instance `{}` seq {} (request_id `{}`)",
        row.instance_id, row.seq, row.entry.request_id
    );
    let expected_seq = ch.report.rows + 1;
    if row.seq != expected_seq {
        problems.push(format!(
            "{at}: expected seq {expected_seq} (a row is missing or was added)"
        ));
    }
    if row.prev_hash != ch.prev_hash {
        problems.push(format!(
            "{at}: prev_hash does not match the previous row's hash"
        ));
    }
    let Some(prev) = hash_bytes(&row.prev_hash) else {
        problems.push(format!("{at}: prev_hash is not 64 hex digits"));
        return;
    };
    let hash = chain_hash(&prev, &canonical(&row.instance_id, row.seq, &row.entry));
    if hex::encode(hash) != row.hash {
        problems.push(format!(
            "{at}: hash does not match the row's contents (a column was changed)"
        ));
        return;
    }
    let Ok(key) = &ch.key else {
        return;
    };
    let mut sig = [0u8; 64];
    if hex::decode_to_slice(&row.signature, &mut sig).is_err() || hex::encode(sig) != row.signature
    {
        problems.push(format!("{at}: signature is not 128 lowercase hex digits"));
        return;
    }
    if key
        .verify_strict(&hash, &Signature::from_bytes(&sig))
        .is_err()
    {
        problems.push(format!(
            "{at}: signature does not verify with the instance's public key"
        ));
    }
}

/// Totals of one UTC day, key and model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RollupRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The API key's id (empty without auth).
    pub key_id: String,
    /// The model name clients asked for.
    pub model: String,
    /// Rows.
    pub requests: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Energy, Wh.
    pub energy_wh: f64,
    /// Emissions, g CO2e.
    pub co2e_g: f64,
    /// Water, mL.
    pub water_ml: f64,
    /// Cost, USD.
    pub cost_usd: f64,
}

/// Daily totals per key and model, by day, key and model.
pub fn rollup(t: &Target) -> Result<Vec<RollupRow>, LedgerError> {
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Read)?;
        let target = c.target().to_string();
        let rows = c.query(
            "SELECT substr(time, 1, 10) AS day, key_id, model, CAST(count(*) AS BIGINT), CAST(sum(input_tokens) AS BIGINT), CAST(sum(output_tokens) AS BIGINT), CAST(sum(energy_wh) AS DOUBLE PRECISION), CAST(sum(co2e_g) AS DOUBLE PRECISION), CAST(sum(water_ml) AS DOUBLE PRECISION), CAST(sum(cost_usd) AS DOUBLE PRECISION) FROM requests GROUP BY substr(time, 1, 10), key_id, model ORDER BY 1, 2, 3",
            &[],
            "cannot sum the rows",
        )?;
        rows.iter()
            .map(|r| {
                let text = |i: usize| match r.get(i) {
                    Some(Cell::Text(s)) => Some(s.clone()),
                    _ => None,
                };
                let int = |i: usize| match r.get(i) {
                    Some(Cell::Int(n)) => u64::try_from(*n).ok(),
                    _ => None,
                };
                let real = |i: usize| match r.get(i) {
                    Some(Cell::Real(x)) => Some(*x),
                    Some(Cell::Int(n)) => Some(*n as f64),
                    _ => None,
                };
                (|| {
                    Some(RollupRow {
                        day: text(0)?,
                        key_id: text(1)?,
                        model: text(2)?,
                        requests: int(3)?,
                        input_tokens: int(4)?,
                        output_tokens: int(5)?,
                        energy_wh: real(6)?,
                        co2e_g: real(7)?,
                        water_ml: real(8)?,
                        cost_usd: real(9)?,
                    })
                })()
                .ok_or_else(|| LedgerError::Database {
                    target: target.clone(),
                    why: format!("a daily total is malformed: {r:?}"),
                })
            })
            .collect()
    })
}
