//! `wattage ledger verify|export|rollup LEDGER`: check, export and sum the gateway's ledger
//! (a SQLite file or a `postgres://` URL).

use std::path::PathBuf;

use wattage_engine::Error;
use wattage_ledger::{LedgerError, Target};

use crate::common::{Global, out, out_json, user, write_atomic};

/// The subcommands of `wattage ledger`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check every instance's hash chain and signatures; exit 1 when anything is broken
    Verify {
        /// The ledger: a SQLite file or a postgres:// URL
        ledger: String,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Write every row, with its chain columns, as CSV or Parquet
    Export {
        /// The ledger: a SQLite file or a postgres:// URL
        ledger: String,
        /// Output file: `.csv` or `.parquet`
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
    /// Daily totals (UTC) per API key and model
    Rollup {
        /// The ledger: a SQLite file or a postgres:// URL
        ledger: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// A ledger error for the CLI: bad input (exit 2) or a failure (exit 1).
pub fn ledger_error(e: LedgerError) -> anyhow::Error {
    if !e.is_input() {
        return anyhow::Error::new(e);
    }
    let hint = match &e {
        LedgerError::Missing { .. } => {
            Some("give the `--ledger` path `wattage serve` was started with")
        }
        LedgerError::UnknownKey { .. } => Some("`wattage keys list --ledger LEDGER` shows the ids"),
        _ => None,
    };
    let mut x = Error::input(e.to_string());
    if let Some(h) = hint {
        x = x.hint(h);
    }
    x.into()
}

/// Runs the command.
pub fn run(_g: &Global, c: Command) -> anyhow::Result<()> {
    match c {
        Command::Verify { ledger, json } => verify(&ledger, json),
        Command::Export { ledger, out } => export(&ledger, &out),
        Command::Rollup { ledger, json } => rollup(&ledger, json),
    }
}

fn verify(ledger: &str, json: bool) -> anyhow::Result<()> {
    let t = Target::parse(ledger);
    let r = wattage_ledger::verify(&t).map_err(ledger_error)?;
    if json {
        out_json(&r)?;
    } else {
        out(format!(
            "ledger `{t}`: {} rows in {} instance{} checked, {}",
            r.rows,
            r.instances.len(),
            if r.instances.len() == 1 { "" } else { "s" },
            if r.ok() { "intact" } else { "BROKEN" }
        ));
        for i in &r.instances {
            out(format!(
                "  instance {}  {:>9} rows  last seq {:>9}  {}",
                i.instance_id,
                i.rows,
                i.last_seq,
                if i.ok { "ok" } else { "broken" }
            ));
        }
    }
    if r.ok() {
        return Ok(());
    }
    const SHOWN: usize = 50;
    for p in r.problems.iter().take(SHOWN) {
        eprintln!("{p}");
    }
    if r.problems.len() > SHOWN {
        eprintln!("... and {} more problems", r.problems.len() - SHOWN);
    }
    Err(anyhow::anyhow!(
        "ledger `{t}` is broken: {} problem{}",
        r.problems.len(),
        if r.problems.len() == 1 { "" } else { "s" }
    ))
}

fn export(ledger: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let parquet = match ext.as_deref() {
        Some("csv") => false,
        Some("parquet") => true,
        _ => {
            return Err(user(format!(
                "cannot tell the format of `{}`; give `-o` a `.csv` or `.parquet` file",
                path.display()
            )));
        }
    };
    let t = Target::parse(ledger);
    let rows = wattage_ledger::rows(&t).map_err(ledger_error)?;
    let n = rows.len();
    let (csv, pq) = if rows.is_empty() {
        let header: Vec<String> = wattage_ledger::ROW_COLUMNS
            .iter()
            .map(|c| (*c).to_string())
            .collect();
        wattage_engine::table::encode_records(&header, &[])?
    } else {
        wattage_engine::table::encode(rows)?
    };
    write_atomic(path, if parquet { &pq } else { &csv })?;
    out(format!("wrote {n} rows to `{}`", path.display()));
    Ok(())
}

fn rollup(ledger: &str, json: bool) -> anyhow::Result<()> {
    let t = Target::parse(ledger);
    let rows = wattage_ledger::rollup(&t).map_err(ledger_error)?;
    if json {
        return out_json(&rows);
    }
    out(format!(
        "{:<10} {:<16} {:<24} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "day",
        "key",
        "model",
        "requests",
        "input tok",
        "output tok",
        "energy Wh",
        "CO2e g",
        "water mL",
        "cost USD"
    ));
    for r in &rows {
        let f = |x: f64| wattage_report::format::significant(x, 4);
        out(format!(
            "{:<10} {:<16} {:<24} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10}",
            r.day,
            if r.key_id.is_empty() { "-" } else { &r.key_id },
            r.model,
            r.requests,
            r.input_tokens,
            r.output_tokens,
            f(r.energy_wh),
            f(r.co2e_g),
            f(r.water_ml),
            f(r.cost_usd)
        ));
    }
    Ok(())
}
