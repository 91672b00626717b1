//! Per-key budgets: an estimate is reserved before a request goes upstream and settled
//! with the actual figure after, so concurrent requests cannot overrun a budget.

use std::collections::HashMap;
use std::sync::Mutex;

use wattage_engine::Impacts;
use wattage_ledger::{Budget, BudgetUnit};

/// The amount of `i` in the budget's unit.
pub fn amount(i: &Impacts, unit: BudgetUnit) -> f64 {
    match unit {
        BudgetUnit::Wh => i.energy_wh,
        BudgetUnit::Gco2e => i.co2e_g,
        BudgetUnit::L => i.water_ml / 1000.0,
        BudgetUnit::Usd => i.cost_usd,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    used: f64,
    reserved: f64,
    start_ms: i64,
}

/// What was reserved for one request.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    /// Amount held, in the budget's unit.
    pub amount: f64,
    /// Period it was held in.
    pub start_ms: i64,
}

/// Budget state of every key with a budget.
#[derive(Debug, Default)]
pub struct Budgets {
    m: Mutex<HashMap<String, State>>,
}

impl Budgets {
    /// Sets what the ledger says was used in the period starting `start_ms`.
    pub fn set_used(&self, key: &str, start_ms: i64, used: f64) {
        let mut m = self.m.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.entry(key.to_string()).or_default();
        if s.start_ms != start_ms {
            s.reserved = 0.0;
            s.start_ms = start_ms;
        }
        s.used = used;
    }

    /// Reserves `est` for a request of `key`, or says what remains when it does not fit.
    /// Shadow budgets always reserve.
    pub fn reserve(
        &self,
        key: &str,
        b: &Budget,
        shadow: bool,
        est: f64,
        now_ms: i64,
    ) -> Result<Reservation, f64> {
        let start = b.period.start(now_ms);
        let mut m = self.m.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.entry(key.to_string()).or_default();
        if s.start_ms != start {
            // A new period: nothing used in it yet as far as this instance knows.
            *s = State {
                used: 0.0,
                reserved: 0.0,
                start_ms: start,
            };
        }
        let remaining = b.amount - s.used - s.reserved;
        if !shadow && est > remaining {
            return Err(remaining.max(0.0));
        }
        s.reserved += est;
        Ok(Reservation {
            amount: est,
            start_ms: start,
        })
    }

    /// Replaces a reservation by what the request actually cost; returns what remains.
    pub fn settle(&self, key: &str, b: &Budget, r: Reservation, actual: f64) -> f64 {
        let mut m = self.m.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.entry(key.to_string()).or_default();
        if s.start_ms == r.start_ms {
            s.reserved = (s.reserved - r.amount).max(0.0);
            s.used += actual;
        }
        b.amount - s.used - s.reserved
    }

    /// What remains of `key`'s budget now.
    pub fn remaining(&self, key: &str, b: &Budget) -> f64 {
        let m = self.m.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key)
            .map_or(b.amount, |s| b.amount - s.used - s.reserved)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wattage_ledger::Period;

    fn b() -> Budget {
        Budget {
            amount: 10.0,
            unit: BudgetUnit::Wh,
            period: Period::Day,
        }
    }

    #[test]
    fn reservations_cannot_overrun() {
        let x = Budgets::default();
        let now = 1_700_000_000_000;
        let r1 = x.reserve("k", &b(), false, 6.0, now).unwrap();
        assert_eq!(x.reserve("k", &b(), false, 6.0, now).unwrap_err(), 4.0);
        let left = x.settle("k", &b(), r1, 2.0);
        assert_eq!(left, 8.0);
        assert!(x.reserve("k", &b(), false, 6.0, now).is_ok());
        // Shadow: counted, never refused.
        assert!(x.reserve("k", &b(), true, 100.0, now).is_ok());
    }

    #[test]
    fn a_new_day_starts_afresh() {
        let x = Budgets::default();
        let now = 1_700_000_000_000;
        let r = x.reserve("k", &b(), false, 9.0, now).unwrap();
        x.settle("k", &b(), r, 9.0);
        assert!(x.reserve("k", &b(), false, 9.0, now).is_err());
        assert!(x.reserve("k", &b(), false, 9.0, now + 86_400_000).is_ok());
    }

    #[test]
    fn month_starts_on_the_first() {
        // 2026-11-30T07:00:00Z -> 2026-11-01T00:00:00Z
        assert_eq!(Period::Month.start(1_796_022_000_000), 1_793_491_200_000);
    }
}
