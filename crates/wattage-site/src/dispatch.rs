//! Dispatch: what the engine offers a policy at each step ([`StepBounds`]), what the policy
//! decides ([`StepDecision`]), the [`DispatchPolicy`] trait and the default [`RuleBased`]
//! policy.
//!
//! # The rule-based policy, in order
//! Demand at a step is the firm load (facility power: IT x PUE) plus what the miners want:
//! their plan (see below), as far as their response rate lets them move towards it this step.
//! 1. Must-run: each turbine group at its smoothed setpoint clamped into what its ramp allows
//!    this step; the grid at the lowest import its ramp limit allows.
//! 2. If that falls short, in order: solar; more grid import up to the peak-shaving threshold
//!    (within its ramp limit); battery discharge; turbines up to their ramp limit; miners
//!    curtail (as fast as they can); grid import above the peak-shaving threshold; grid
//!    import beyond its ramp limit (a counted violation); and only then unserved energy (an
//!    AI interruption).
//! 3. If it overshoots (load fell faster than sources can ramp), in order: battery charge;
//!    turbines down to their ramp limit; miners take more (up to their rate and size); grid
//!    import down beyond its ramp limit (counted); export where allowed; turbines below their
//!    ramp limit or minimum stable load (counted).
//! 4. Then, opportunistically: batteries restore their target state of charge (or charge for
//!    arbitrage when the price is low) and discharge for arbitrage when the price is high;
//!    miners take surplus solar that would otherwise be curtailed.
//!
//! The miners' plan comes from the engine: the capacity of sources cheaper than their
//! break-even price (online turbines; the grid up to its peak-shaving threshold and, under a
//! demand charge, only up to the month's peak so far) minus the firm load's recent peak and
//! the power the batteries need to get back to their target. It falls at once and rises at
//! half the cheap sources' ramp rate (and goes straight into the turbines' setpoint when they
//! are the cheap source), so miners soak up steady headroom without pushing ramp-limited
//! sources around; when AI needs the power they are the first load to yield.
//!
//! The turbine setpoint is a first-order filter (time constant `dispatch.turbine_smoothing_s`)
//! of what turbines would have had to supply without the battery, so fast training swings go
//! to the battery and slow trends to the turbines. When turbines are cheaper than the grid,
//! they aim to carry the grid's share too and the grid becomes the fast follower.

use crate::fx::Fx;

/// Bounds of one turbine group at this step.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurbineBounds {
    /// Lowest output the ramp and minimum stable load allow (MW).
    pub lo_mw: f64,
    /// Highest output the ramp and online capacity allow (MW).
    pub hi_mw: f64,
    /// Smoothed setpoint (MW).
    pub target_mw: f64,
    /// Marginal cost ($/MWh).
    pub cost_usd_per_mwh: f64,
}

/// Bounds of one battery at this step (grid-side MW).
#[derive(Debug, Clone, Copy, Default)]
pub struct BatteryBounds {
    /// Most it can discharge (MW).
    pub discharge_max_mw: f64,
    /// Most it can charge (MW).
    pub charge_max_mw: f64,
    /// Charge power that would bring it back to its target state of charge this step (MW;
    /// zero when at or above target).
    pub to_target_mw: f64,
    /// Discharge power that would bring it down to its target (MW; zero at or below target).
    pub above_target_mw: f64,
    /// Arbitrage: charge at or below this price ($/MWh; minus infinity when not set).
    pub charge_below: f64,
    /// Arbitrage: discharge at or above this price ($/MWh; infinity when not set).
    pub discharge_above: f64,
}

/// Grid bounds at this step.
#[derive(Debug, Clone, Copy, Default)]
pub struct GridBounds {
    /// False during an outage.
    pub available: bool,
    /// Lowest import within the ramp limit (MW).
    pub lo_mw: f64,
    /// Highest import within the ramp limit (MW).
    pub hi_ramp_mw: f64,
    /// Peak-shaving threshold (MW).
    pub soft_cap_mw: f64,
    /// Hard import cap (MW), after demand-response caps.
    pub cap_mw: f64,
    /// Most export allowed (MW).
    pub export_cap_mw: f64,
    /// Price ($/MWh).
    pub price_usd_per_mwh: f64,
}

/// Everything a policy sees at one step.
#[derive(Debug, Clone, Copy)]
pub struct StepBounds<'a> {
    /// Time since start (s).
    pub t_s: f64,
    /// Step length (s).
    pub dt_s: f64,
    /// Firm load: facility power (IT x PUE) (MW).
    pub firm_mw: f64,
    /// Miners' lowest load this step (they shed at a limited rate) (MW).
    pub miner_lo_mw: f64,
    /// Miners' highest load this step (MW).
    pub miner_hi_mw: f64,
    /// Best break-even price among miners that can still take power ($/MWh).
    pub miner_break_even: f64,
    /// The miners' plan: what they may draw from cheap sources (MW; see the module
    /// documentation).
    pub miner_plan_mw: f64,
    /// Solar available (MW).
    pub solar_mw: f64,
    /// Grid.
    pub grid: GridBounds,
    /// Turbine groups.
    pub turbines: &'a [TurbineBounds],
    /// Batteries.
    pub batteries: &'a [BatteryBounds],
}

/// A policy's decision at one step. Sources positive; batteries positive when discharging.
#[derive(Debug, Clone, Default)]
pub struct StepDecision {
    /// Grid import (negative: export) (MW).
    pub grid_mw: f64,
    /// Solar used (MW).
    pub solar_mw: f64,
    /// Miners' load (MW).
    pub miners_mw: f64,
    /// Load left unserved (MW).
    pub unserved_mw: f64,
    /// Output of each turbine group (MW).
    pub turbines_mw: Vec<f64>,
    /// Net output of each battery (MW; negative when charging).
    pub batteries_mw: Vec<f64>,
}

/// A dispatch policy: given bounds, fill a decision that balances supply and demand.
pub trait DispatchPolicy {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Decides one step. `d` arrives sized for the assets; the policy overwrites every field.
    fn dispatch(&mut self, b: &StepBounds<'_>, d: &mut StepDecision);
}

/// The default rule-based policy (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleBased;

const EPS: f64 = 1e-12;

impl DispatchPolicy for RuleBased {
    fn name(&self) -> &'static str {
        "rule-based"
    }

    #[inline]
    fn dispatch(&mut self, b: &StepBounds<'_>, d: &mut StepDecision) {
        let m_lo = b.miner_lo_mw;
        let m_hi = b.miner_hi_mw.mx(m_lo);
        let mut m = b.miner_plan_mw.cl(m_lo, m_hi);
        let need = b.firm_mw + m;
        let g = &b.grid;
        // 1. Must-run.
        let mut supply = 0.0;
        for (out, t) in d.turbines_mw.iter_mut().zip(b.turbines) {
            let x = t.target_mw.cl(t.lo_mw, t.hi_mw);
            *out = x;
            supply += x;
        }
        let mut grid = if g.available { g.lo_mw } else { 0.0 };
        supply += grid;
        d.solar_mw = 0.0;
        d.unserved_mw = 0.0;
        let mut r = need - supply;
        if r > 0.0 {
            // 2. Short: fill in order.
            let s = r.mn(b.solar_mw);
            d.solar_mw = s;
            r -= s;
            if r > 0.0 && g.available {
                let add = (g.hi_ramp_mw.mn(g.soft_cap_mw) - grid).mx(0.0).mn(r);
                grid += add;
                r -= add;
            }
            // Every battery gets a value (zero once the gap is filled).
            for (out, bb) in d.batteries_mw.iter_mut().zip(b.batteries) {
                let x = bb.discharge_max_mw.mn(r.mx(0.0));
                *out = x;
                r -= x;
            }
            for (out, t) in d.turbines_mw.iter_mut().zip(b.turbines) {
                if r <= 0.0 {
                    break;
                }
                let add = (t.hi_mw - *out).mx(0.0).mn(r);
                *out += add;
                r -= add;
            }
            if r > 0.0 {
                let cut = (m - m_lo).mn(r);
                m -= cut;
                r -= cut;
            }
            if r > 0.0 && g.available {
                let add = (g.hi_ramp_mw.mn(g.cap_mw) - grid).mx(0.0).mn(r);
                grid += add;
                r -= add;
                let add = (g.cap_mw - grid).mx(0.0).mn(r);
                grid += add;
                r -= add;
            }
            if r > EPS {
                d.unserved_mw = r;
            }
        } else if r < 0.0 {
            // 3. Over: absorb in order.
            let mut s = -r;
            for (out, bb) in d.batteries_mw.iter_mut().zip(b.batteries) {
                let x = bb.charge_max_mw.mn(s.mx(0.0));
                *out = -x;
                s -= x;
            }
            for (out, t) in d.turbines_mw.iter_mut().zip(b.turbines) {
                if s <= 0.0 {
                    break;
                }
                let cut = (*out - t.lo_mw).mx(0.0).mn(s);
                *out -= cut;
                s -= cut;
            }
            if s > 0.0 {
                let add = (m_hi - m).mn(s);
                m += add;
                s -= add;
            }
            if s > 0.0 {
                let cut = grid.mx(0.0).mn(s);
                grid -= cut;
                s -= cut;
            }
            if s > 0.0 && g.available {
                let ex = g.export_cap_mw.mn(s);
                grid -= ex;
                s -= ex;
            }
            for x in d.turbines_mw.iter_mut() {
                if s <= 0.0 {
                    break;
                }
                let cut = x.mn(s);
                *x -= cut;
                s -= cut;
            }
            // Anything left is numerically zero: the sources above can always reach zero.
        } else {
            for x in d.batteries_mw.iter_mut() {
                *x = 0.0;
            }
        }

        // 4. Opportunistic: batteries use headroom, miners take spare solar.
        let price = g.price_usd_per_mwh;
        let mut spare_solar = b.solar_mw - d.solar_mw;
        let grid_headroom = |grid: f64| {
            if g.available {
                (g.hi_ramp_mw.mn(g.soft_cap_mw) - grid).mx(0.0)
            } else {
                0.0
            }
        };
        if d.unserved_mw == 0.0 {
            for (i, bb) in b.batteries.iter().enumerate() {
                let cur = d.batteries_mw[i];
                // Arbitrage discharge replaces grid import.
                if price >= bb.discharge_above && grid > g.lo_mw && cur >= 0.0 {
                    let x = (bb.discharge_max_mw - cur)
                        .mx(0.0)
                        .mn(grid - g.lo_mw.mx(0.0));
                    d.batteries_mw[i] += x;
                    grid -= x;
                    continue;
                }
                // Above target: give energy back by backing off grid import within its ramp
                // limit (turbines are steered back by the engine's state-of-charge feedback
                // on their setpoint).
                if bb.above_target_mw > 0.0 && cur >= 0.0 && price > bb.charge_below {
                    let x = (grid - g.lo_mw.mx(0.0))
                        .mx(0.0)
                        .mn(bb.above_target_mw.mn(bb.discharge_max_mw - cur).mx(0.0));
                    grid -= x;
                    d.batteries_mw[i] += x;
                    continue;
                }
                let arbitrage = price <= bb.charge_below;
                let high = price >= bb.discharge_above;
                let want = if arbitrage {
                    bb.charge_max_mw
                } else if high {
                    0.0
                } else {
                    bb.to_target_mw.mn(bb.charge_max_mw)
                };
                let mut want = (want + cur).mx(0.0); // `cur` <= 0 is charge already taken
                let x = spare_solar.mn(want);
                spare_solar -= x;
                d.solar_mw += x;
                d.batteries_mw[i] -= x;
                want -= x;
                // Turbines restore the battery through their setpoint; the grid does when
                // there are no turbines, or for arbitrage.
                if !(b.turbines.is_empty() || arbitrage) {
                    continue;
                }
                let add = grid_headroom(grid).mn(want);
                grid += add;
                d.batteries_mw[i] -= add;
            }
            let x = if b.miner_break_even > 0.0 {
                spare_solar.mn(m_hi - m).mx(0.0)
            } else {
                0.0
            };
            d.solar_mw += x;
            m += x;
        }
        d.miners_mw = m;
        d.grid_mw = grid;
    }
}
