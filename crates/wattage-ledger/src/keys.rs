//! API keys and their budgets, stored in the ledger's `keys` table.

use sha2::{Digest, Sha256};

use crate::Target;
use crate::canonical::{iso_ms, now_unix_ms, parse_iso_ms, start_of_day, start_of_month};
use crate::db::{Access, Cell, Conn, Param};
use crate::error::LedgerError;
use crate::ledger::off_runtime;

/// The unit of a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BudgetUnit {
    /// Energy, Wh.
    #[serde(rename = "Wh")]
    Wh,
    /// Emissions, g CO2e.
    #[serde(rename = "gCO2e")]
    Gco2e,
    /// Water, litres.
    #[serde(rename = "L")]
    L,
    /// Cost, USD.
    #[serde(rename = "USD")]
    Usd,
}

impl BudgetUnit {
    /// `Wh`, `gCO2e`, `L` or `USD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wh => "Wh",
            Self::Gco2e => "gCO2e",
            Self::L => "L",
            Self::Usd => "USD",
        }
    }

    /// Parses a unit, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wh" => Some(Self::Wh),
            "gco2e" => Some(Self::Gco2e),
            "l" => Some(Self::L),
            "usd" => Some(Self::Usd),
            _ => None,
        }
    }
}

impl std::fmt::Display for BudgetUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The period a budget covers: the current UTC day, the current UTC month, or all time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// From 00:00 UTC today.
    Day,
    /// From 00:00 UTC on the first of this month.
    Month,
    /// Since the key was created.
    Total,
}

impl Period {
    /// `day`, `month` or `total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Total => "total",
        }
    }

    /// Parses `day`, `month` or `total`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            "total" => Some(Self::Total),
            _ => None,
        }
    }

    /// The Unix milliseconds at which the period holding `now_unix_ms` began (0 for `total`):
    /// the `since_unix_ms` to give [`crate::Ledger::usage_since`].
    pub fn start(self, now_unix_ms: i64) -> i64 {
        match self {
            Self::Day => start_of_day(now_unix_ms),
            Self::Month => start_of_month(now_unix_ms),
            Self::Total => 0,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a key may use per period.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    /// The amount, in `unit`; positive and finite.
    pub amount: f64,
    /// Its unit.
    pub unit: BudgetUnit,
    /// The period it renews over.
    pub period: Period,
}

impl Budget {
    /// Parses an amount with its unit (`500Wh`, `20gCO2e`, `5 L`, `10usd`; units are
    /// case-insensitive) and a period (`day`, `month`, `total`).
    pub fn parse(amount: &str, period: &str) -> Result<Budget, LedgerError> {
        let bad = |why: &str| LedgerError::Budget {
            input: amount.to_string(),
            why: why.to_string(),
        };
        let s = amount.trim();
        let split = s
            .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
            .ok_or_else(|| bad("no unit; expected Wh, gCO2e, L or USD, e.g. 500Wh"))?;
        let (num, unit) = s.split_at(split);
        let unit = BudgetUnit::parse(unit).ok_or_else(|| {
            bad(&format!(
                "unknown unit `{}`; expected Wh, gCO2e, L or USD",
                unit.trim()
            ))
        })?;
        let value: f64 = num
            .trim()
            .parse()
            .map_err(|_| bad(&format!("`{}` is not a number", num.trim())))?;
        if !value.is_finite() || value <= 0.0 {
            return Err(bad("the amount must be a positive finite number"));
        }
        let period = Period::parse(period).ok_or_else(|| LedgerError::Budget {
            input: period.to_string(),
            why: "unknown period; expected day, month or total".into(),
        })?;
        Ok(Budget {
            amount: value,
            unit,
            period,
        })
    }
}

/// `500 Wh per day`.
impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = match self.period {
            Period::Total => "in total".to_string(),
            p => format!("per {p}"),
        };
        write!(f, "{} {} {per}", self.amount, self.unit)
    }
}

/// An API key as stored (never its secret).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKey {
    /// Its id (`key_` and 12 hex digits), the ledger's `key_id`.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// SHA-256 hex of the secret ([`hash_secret`]).
    pub hash_hex: String,
    /// The secret's first 11 characters (`wk_` and 8 hex digits).
    pub prefix: String,
    /// When it was created, Unix ms.
    pub created_unix_ms: i64,
    /// Revoked keys are refused.
    pub revoked: bool,
    /// Its budget, if any.
    pub budget: Option<Budget>,
    /// Counts without blocking when over budget.
    pub shadow: bool,
}

/// SHA-256 of a key's secret, lowercase hex: what the ledger stores and the gateway compares.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_hex(n: usize) -> Result<String, LedgerError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| LedgerError::Database {
        target: "the system".into(),
        why: format!("no random numbers: {e}"),
    })?;
    Ok(hex::encode(b))
}

/// Creates a key (and the ledger, when absent); returns it and its secret, which is not
/// stored and cannot be shown again.
pub fn create_key(
    t: &Target,
    name: &str,
    budget: Option<Budget>,
    shadow: bool,
) -> Result<(ApiKey, String), LedgerError> {
    let bad = |why: &str| LedgerError::KeyName {
        name: name.to_string(),
        why: why.to_string(),
    };
    if name.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > crate::MAX_TEXT || name.contains('\0') || name.chars().any(char::is_control) {
        return Err(bad("at most 1024 bytes without control characters"));
    }
    if let Some(b) = budget
        && (!b.amount.is_finite() || b.amount <= 0.0)
    {
        return Err(LedgerError::Budget {
            input: b.amount.to_string(),
            why: "the amount must be a positive finite number".into(),
        });
    }
    let secret = format!("wk_{}", random_hex(32)?);
    let key = ApiKey {
        id: format!("key_{}", random_hex(6)?),
        name: name.to_string(),
        hash_hex: hash_secret(&secret),
        prefix: secret[..11].to_string(),
        created_unix_ms: now_unix_ms(),
        revoked: false,
        budget,
        shadow,
    };
    let created = iso_ms(key.created_unix_ms)?;
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Create)?;
        c.exec(
            "INSERT INTO keys (id, name, hash, prefix, created, revoked, budget_amount, budget_unit, budget_period, shadow) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)",
            &[
                Param::Text(&key.id),
                Param::Text(&key.name),
                Param::Text(&key.hash_hex),
                Param::Text(&key.prefix),
                Param::Text(&created),
                Param::OptReal(budget.map(|b| b.amount)),
                Param::Text(budget.map_or("", |b| b.unit.as_str())),
                Param::Text(budget.map_or("", |b| b.period.as_str())),
                Param::Int(i64::from(shadow)),
            ],
            "cannot store the key",
        )?;
        Ok(())
    })?;
    Ok((key, secret))
}

/// Every key, oldest first.
pub fn list_keys(t: &Target) -> Result<Vec<ApiKey>, LedgerError> {
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Read)?;
        read_keys(&mut c)
    })
}

pub(crate) fn read_keys(c: &mut Conn) -> Result<Vec<ApiKey>, LedgerError> {
    let rows = c.query(
        "SELECT id, name, hash, prefix, created, revoked, budget_amount, budget_unit, budget_period, shadow FROM keys ORDER BY created, id",
        &[],
        "cannot read the keys",
    )?;
    let target = c.target().to_string();
    rows.into_iter()
        .map(|r| {
            key_from(&r).ok_or_else(|| LedgerError::Database {
                target: target.clone(),
                why: format!(
                    "the `keys` row {} is malformed",
                    match r.first() {
                        Some(Cell::Text(id)) => format!("`{id}`"),
                        _ => "without an id".into(),
                    }
                ),
            })
        })
        .collect()
}

fn key_from(r: &[Cell]) -> Option<ApiKey> {
    let text = |i: usize| match r.get(i) {
        Some(Cell::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let int = |i: usize| match r.get(i) {
        Some(Cell::Int(n)) => Some(*n),
        _ => None,
    };
    let budget = match (r.get(6), text(7), text(8)) {
        (Some(Cell::Real(a)), Some(u), Some(p)) if !u.is_empty() => Some(Budget {
            amount: *a,
            unit: BudgetUnit::parse(&u)?,
            period: Period::parse(&p)?,
        }),
        (Some(Cell::Int(a)), Some(u), Some(p)) if !u.is_empty() => Some(Budget {
            amount: *a as f64,
            unit: BudgetUnit::parse(&u)?,
            period: Period::parse(&p)?,
        }),
        _ => None,
    };
    Some(ApiKey {
        id: text(0)?,
        name: text(1)?,
        hash_hex: text(2)?,
        prefix: text(3)?,
        created_unix_ms: parse_iso_ms(&text(4)?)?,
        revoked: int(5)? != 0,
        budget,
        shadow: int(9)? != 0,
    })
}

/// Revokes a key; the gateway refuses it from its next refresh on. Revoking a revoked key
/// does nothing; an unknown id is an error.
pub fn revoke_key(t: &Target, id: &str) -> Result<(), LedgerError> {
    off_runtime(t, |t| {
        let mut c = Conn::open(t, Access::Write)?;
        let n = c.exec(
            "UPDATE keys SET revoked = 1 WHERE id = $1",
            &[Param::Text(id)],
            "cannot revoke the key",
        )?;
        if n == 0 {
            return Err(LedgerError::UnknownKey {
                target: t.to_string(),
                id: id.to_string(),
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn budgets_parse() {
        let b = Budget::parse("500Wh", "day").unwrap();
        assert_eq!(
            (b.amount, b.unit, b.period),
            (500.0, BudgetUnit::Wh, Period::Day)
        );
        for (s, a, u) in [
            ("20gCO2e", 20.0, BudgetUnit::Gco2e),
            ("20 GCO2E", 20.0, BudgetUnit::Gco2e),
            ("5L", 5.0, BudgetUnit::L),
            ("0.5l", 0.5, BudgetUnit::L),
            ("10USD", 10.0, BudgetUnit::Usd),
            ("1e3wh", 1000.0, BudgetUnit::Wh),
        ] {
            let b = Budget::parse(s, "Month").unwrap();
            assert_eq!((b.amount, b.unit, b.period), (a, u, Period::Month), "{s}");
        }
        for bad in [
            "500", "Wh", "-5Wh", "0Wh", "5kWh", "5 Wh Wh", "infWh", "nanUSD", "",
        ] {
            let e = Budget::parse(bad, "day").unwrap_err();
            assert!(matches!(e, LedgerError::Budget { .. }), "{bad}: {e}");
        }
        let e = Budget::parse("5Wh", "week").unwrap_err();
        assert!(e.to_string().contains("week") && e.is_input(), "{e}");
        assert_eq!(
            Budget::parse("5L", "total").unwrap().to_string(),
            "5 L in total"
        );
    }

    #[test]
    fn periods_start_at_utc_boundaries() {
        let t = crate::parse_iso_ms("2026-03-15T13:45:10.123Z").unwrap();
        assert_eq!(
            iso_ms(Period::Day.start(t)).unwrap(),
            "2026-03-15T00:00:00.000Z"
        );
        assert_eq!(
            iso_ms(Period::Month.start(t)).unwrap(),
            "2026-03-01T00:00:00.000Z"
        );
        assert_eq!(Period::Total.start(t), 0);
    }

    #[test]
    fn secrets_hash_as_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
