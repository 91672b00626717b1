//! `wattage keys create|list|revoke --ledger LEDGER`: the gateway's API keys.

use wattage_ledger::{ApiKey, Budget, Target};

use crate::cmd::ledger::ledger_error;
use crate::common::{Global, out, out_json, user};

/// The subcommands of `wattage keys`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a key and print its secret (once: only its hash is stored)
    Create {
        /// The ledger: a SQLite file (created when absent) or a postgres:// URL
        #[arg(long)]
        ledger: String,
        /// A name for people (team, service)
        #[arg(long)]
        name: String,
        /// Budget with its unit: Wh, gCO2e, L (water) or USD, e.g. 500Wh
        #[arg(long, allow_hyphen_values = true)]
        budget: Option<String>,
        /// The budget's period: day, month or total [default: day]
        #[arg(long)]
        period: Option<String>,
        /// Count usage against the budget without ever refusing a request
        #[arg(long)]
        shadow: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List the keys (ids, names and secret prefixes; never the secrets or their hashes)
    List {
        /// The ledger: a SQLite file or a postgres:// URL
        #[arg(long)]
        ledger: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: the gateway refuses it from its next refresh (within a second)
    Revoke {
        /// The ledger: a SQLite file or a postgres:// URL
        #[arg(long)]
        ledger: String,
        /// The key's id (`key_...`, see `wattage keys list`)
        id: String,
    },
}

/// A key as shown: without its hash.
#[derive(serde::Serialize)]
struct Shown<'a> {
    id: &'a str,
    name: &'a str,
    prefix: &'a str,
    created: String,
    revoked: bool,
    budget: Option<Budget>,
    shadow: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

fn shown<'a>(k: &'a ApiKey, secret: Option<&'a str>) -> Shown<'a> {
    Shown {
        id: &k.id,
        name: &k.name,
        prefix: &k.prefix,
        created: wattage_ledger::iso_ms(k.created_unix_ms).unwrap_or_default(),
        revoked: k.revoked,
        budget: k.budget,
        shadow: k.shadow,
        secret,
    }
}

/// Runs the command.
pub fn run(_g: &Global, c: Command) -> anyhow::Result<()> {
    match c {
        Command::Create {
            ledger,
            name,
            budget,
            period,
            shadow,
            json,
        } => {
            let budget = match (budget, period) {
                (Some(b), p) => {
                    Some(Budget::parse(&b, p.as_deref().unwrap_or("day")).map_err(ledger_error)?)
                }
                (None, Some(_)) => {
                    return Err(user("`--period` needs `--budget` (e.g. --budget 500Wh)"));
                }
                (None, None) => None,
            };
            let t = Target::parse(&ledger);
            let (k, secret) =
                wattage_ledger::create_key(&t, &name, budget, shadow).map_err(ledger_error)?;
            if json {
                return out_json(&shown(&k, Some(&secret)));
            }
            out(format!(
                "created key `{}` (`{}`){}{}",
                k.id,
                k.name,
                k.budget.map_or(String::new(), |b| format!(", budget {b}")),
                if k.shadow {
                    ", shadow (never refused)"
                } else {
                    ""
                }
            ));
            out("secret (shown once; the ledger stores only its hash):");
            out(secret);
            Ok(())
        }
        Command::List { ledger, json } => {
            let keys = wattage_ledger::list_keys(&Target::parse(&ledger)).map_err(ledger_error)?;
            if json {
                let v: Vec<Shown<'_>> = keys.iter().map(|k| shown(k, None)).collect();
                return out_json(&v);
            }
            out(format!(
                "{:<16} {:<20} {:<11} {:<24} {:<24} {:<7} {:<7}",
                "id", "name", "prefix", "created", "budget", "shadow", "revoked"
            ));
            for k in &keys {
                let s = shown(k, None);
                out(format!(
                    "{:<16} {:<20} {:<11} {:<24} {:<24} {:<7} {:<7}",
                    s.id,
                    s.name,
                    s.prefix,
                    s.created,
                    k.budget.map_or("-".to_string(), |b| b.to_string()),
                    if k.shadow { "yes" } else { "no" },
                    if k.revoked { "yes" } else { "no" }
                ));
            }
            Ok(())
        }
        Command::Revoke { ledger, id } => {
            wattage_ledger::revoke_key(&Target::parse(&ledger), &id).map_err(ledger_error)?;
            out(format!("revoked key `{id}`"));
            Ok(())
        }
    }
}
