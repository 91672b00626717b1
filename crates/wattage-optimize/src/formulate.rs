//! From a [`SiteProblem`] to a [`LinearProgram`]: columns laid out series by series (each
//! component's per-step variables are one contiguous block), rows appended as triplets.

use crate::lp::{Col, LinearProgram, LpBuilder, Row};
use crate::problem::{HOURS_PER_MONTH, HOURS_PER_YEAR, SiteProblem, SocEnd, at};

const INF: f64 = f64::INFINITY;

/// Where each variable and the balance rows of a formulated problem live.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Number of steps.
    pub n: usize,
    /// Step length in hours.
    pub dt_h: f64,
    /// First row of the per-step power balance.
    pub balance: Row,
    /// Grid columns.
    pub grid: Option<GridCols>,
    /// Turbine columns, one entry per fleet.
    pub turbines: Vec<TurbineCols>,
    /// Battery columns, one entry per battery.
    pub batteries: Vec<BatteryCols>,
    /// Solar columns: (capacity, first output column).
    pub solar: Vec<(Col, Col)>,
    /// First column of each miner fleet's consumption.
    pub miners: Vec<Col>,
    /// First unserved-load column.
    pub unserved: Col,
}

/// Columns of the grid connection.
#[derive(Clone, Debug)]
pub struct GridCols {
    /// Connection rating (MW).
    pub cap: Col,
    /// First import column.
    pub import: Col,
    /// First export column, when export is allowed.
    pub export: Option<Col>,
    /// First monthly peak column and the number of months, when there is a demand charge.
    pub peaks: Option<(Col, usize)>,
}

/// Columns of one turbine fleet.
#[derive(Clone, Debug)]
pub struct TurbineCols {
    /// Rating (MW).
    pub cap: Col,
    /// First output column.
    pub output: Col,
    /// First committed-capacity column.
    pub committed: Col,
    /// First start-up column, when start-ups cost something.
    pub startup: Option<Col>,
}

/// Columns of one battery.
#[derive(Clone, Debug)]
pub struct BatteryCols {
    /// Power rating (MW).
    pub power: Col,
    /// Energy rating (MWh).
    pub energy: Col,
    /// First charge column.
    pub charge: Col,
    /// First discharge column.
    pub discharge: Col,
    /// First state-of-charge column (MWh at the end of each step).
    pub soc: Col,
}

/// Month index of step `t` and the number of (possibly partial) billing months.
pub(crate) fn month_of(t: usize, dt_h: f64) -> usize {
    ((t as f64 * dt_h) / HOURS_PER_MONTH + 1e-9).floor() as usize
}

/// Formulates the problem. Variables are in MW (power), MWh (energy) and US dollars
/// (objective); the problem must have been validated.
pub fn formulate(p: &SiteProblem) -> (LinearProgram, Layout) {
    let n = p.steps();
    let dt = p.step.h();
    let year_frac = n as f64 * dt / HOURS_PER_YEAR;
    let per_step_cols =
        3 + 3 * p.turbines.len() + 4 * p.batteries.len() + p.solar.len() + p.miners.len();
    let mut b = LpBuilder::with_capacity(
        n * per_step_cols + 16,
        n * (2 * per_step_cols + 4),
        n * per_step_cols * 5,
    );
    let mut lay = Layout {
        n,
        dt_h: dt,
        ..Layout::default()
    };
    let mut offset = 0.0;
    // `cost * (x - existing) * year_frac`: the existing part is a constant.
    let mut capacity_col = |b: &mut LpBuilder, existing: f64, max: f64, annual: f64| {
        let c = b.col(annual * year_frac, existing, max);
        offset -= annual * year_frac * existing;
        c
    };

    // Balance rows first, so that their indices are 0..n.
    lay.balance = b.lp_rows();
    for t in 0..n {
        let l = p.load[t].mw();
        b.empty_row(l, l);
    }
    let carbon_usd_per_g = p.carbon_price_usd_per_t / 1e6;
    let mut carbon_row: Option<Row> = p.carbon_cap_t.map(|cap| b.empty_row(-INF, cap * 1e6));
    // Grams of CO2e per MW over one step: g/kWh x 1000 kWh/MWh x dt.
    let g_per_mw_step = |ci_g_per_kwh: f64| ci_g_per_kwh * 1000.0 * dt;

    // Reserve rows (filled by turbines and batteries).
    let reserve_mw = p.reserve.mw();
    let reserve_rows = if reserve_mw > 0.0 {
        let r0 = b.lp_rows();
        for _ in 0..n {
            b.empty_row(reserve_mw, INF);
        }
        Some(r0)
    } else {
        None
    };

    if let Some(g) = &p.grid {
        let c = &g.connection;
        let cap = capacity_col(
            &mut b,
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
        );
        let import = b.cols(n, 0.0, 0.0, INF);
        for t in 0..n {
            let ci = g_per_mw_step(at(&g.carbon_intensity, t).base());
            b.set_cost(
                import + t,
                at(&g.price, t).base() * dt + carbon_usd_per_g * ci,
            );
            b.entry(lay.balance + t, import + t, 1.0);
            b.row(-INF, 0.0, &[(import + t, 1.0), (cap, -1.0)]);
            // Unused import capacity is reserve too: the connection can pick up a loss.
            if let Some(r0) = reserve_rows {
                b.entry(r0 + t, cap, 1.0);
                b.entry(r0 + t, import + t, -1.0);
            }
            if let Some(r) = carbon_row.as_mut() {
                b.entry(*r, import + t, ci);
            }
        }
        let export = if g.export_cap.mw() > 0.0 {
            let export = b.cols(n, 0.0, 0.0, g.export_cap.mw());
            for t in 0..n {
                b.set_cost(
                    export + t,
                    -at(&g.price, t).base() * g.export_price_fraction * dt,
                );
                b.entry(lay.balance + t, export + t, -1.0);
            }
            Some(export)
        } else {
            None
        };
        let peaks = if g.demand_charge_usd_per_kw_month > 0.0 {
            let months = month_of(n - 1, dt) + 1;
            let first = b.cols(months, 0.0, 0.0, INF);
            for m in 0..months {
                let start_h = m as f64 * HOURS_PER_MONTH;
                let hours = (n as f64 * dt - start_h).min(HOURS_PER_MONTH);
                let usd_per_mw =
                    g.demand_charge_usd_per_kw_month * 1000.0 * hours / HOURS_PER_MONTH;
                b.set_cost(first + m, usd_per_mw);
            }
            for t in 0..n {
                b.row(
                    -INF,
                    0.0,
                    &[(import + t, 1.0), (first + month_of(t, dt), -1.0)],
                );
            }
            Some((first, months))
        } else {
            None
        };
        lay.grid = Some(GridCols {
            cap,
            import,
            export,
            peaks,
        });
    }

    for tb in &p.turbines {
        let c = &tb.capacity;
        let cap = capacity_col(
            &mut b,
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
        );
        let ci = g_per_mw_step(tb.carbon_intensity.base());
        let energy_cost =
            (tb.heat_rate_mmbtu_per_mwh * tb.fuel_price_usd_per_mmbtu + tb.vom_usd_per_mwh) * dt
                + carbon_usd_per_g * ci;
        let output = b.cols(n, energy_cost, 0.0, INF);
        let committed = b.cols(n, 0.0, 0.0, INF);
        let startup = (tb.startup_cost_usd_per_mw > 0.0)
            .then(|| b.cols(n, tb.startup_cost_usd_per_mw, 0.0, INF));
        // A ramp limit that allows the full range within one step never binds.
        let ramp = tb
            .ramp_fraction_per_min
            .map(|r| r * 60.0 * dt)
            .filter(|&r| r < 1.0);
        for t in 0..n {
            let (pt, ut) = (output + t, committed + t);
            b.entry(lay.balance + t, pt, 1.0);
            b.row(-INF, 0.0, &[(pt, 1.0), (ut, -1.0)]);
            if tb.min_stable_fraction > 0.0 {
                b.row(-INF, 0.0, &[(ut, tb.min_stable_fraction), (pt, -1.0)]);
            }
            b.row(-INF, 0.0, &[(ut, 1.0), (cap, -1.0)]);
            if let Some(s) = startup {
                // Cyclic: the commitment before the first step is the one after the last.
                let prev = committed + (t + n - 1) % n;
                if prev != ut {
                    b.row(0.0, INF, &[(s + t, 1.0), (ut, -1.0), (prev, 1.0)]);
                }
            }
            if let (Some(r), true) = (ramp, t > 0) {
                let prev = output + t - 1;
                b.row(-INF, 0.0, &[(pt, 1.0), (prev, -1.0), (cap, -r)]);
                b.row(-INF, 0.0, &[(prev, 1.0), (pt, -1.0), (cap, -r)]);
            }
            if let Some(r0) = reserve_rows {
                b.entry(r0 + t, ut, 1.0);
                b.entry(r0 + t, pt, -1.0);
            }
            if let Some(r) = carbon_row.as_mut() {
                b.entry(*r, pt, ci);
            }
        }
        lay.turbines.push(TurbineCols {
            cap,
            output,
            committed,
            startup,
        });
    }

    for bat in &p.batteries {
        let pw = &bat.power;
        let en = &bat.energy;
        let power = capacity_col(
            &mut b,
            pw.existing.mw(),
            pw.max.mw(),
            pw.annual_cost_usd_per_mw,
        );
        let energy = capacity_col(
            &mut b,
            en.existing.mwh(),
            en.max.mwh(),
            en.annual_cost_usd_per_mwh,
        );
        let charge = b.cols(n, 0.0, 0.0, INF);
        let discharge = b.cols(n, bat.wear_cost_usd_per_mwh * dt, 0.0, INF);
        let soc = b.cols(n, 0.0, 0.0, INF);
        let held = reserve_rows.map(|_| b.cols(n, 0.0, 0.0, INF));
        let (eta_c, eta_d) = (bat.charge_efficiency, bat.discharge_efficiency);
        for t in 0..n {
            let (ct, dt_col, et) = (charge + t, discharge + t, soc + t);
            b.entry(lay.balance + t, dt_col, 1.0);
            b.entry(lay.balance + t, ct, -1.0);
            b.row(-INF, 0.0, &[(ct, 1.0), (power, -1.0)]);
            b.row(-INF, 0.0, &[(dt_col, 1.0), (power, -1.0)]);
            // e_t = e_{t-1} + eta_c c_t dt - d_t dt / eta_d
            let flow = [(et, 1.0), (ct, -eta_c * dt), (dt_col, dt / eta_d)];
            match (t, bat.soc_end) {
                (
                    0,
                    SocEnd::Fixed {
                        initial_fraction, ..
                    },
                ) => {
                    let r = b.row(0.0, 0.0, &flow);
                    b.entry(r, energy, -initial_fraction);
                }
                (0, SocEnd::Cyclic) if n == 1 => {
                    b.row(0.0, 0.0, &flow[1..]);
                }
                _ => {
                    let prev = soc + (t + n - 1) % n;
                    let r = b.row(0.0, 0.0, &flow);
                    b.entry(r, prev, -1.0);
                }
            }
            b.row(-INF, 0.0, &[(et, 1.0), (energy, -bat.soc_max_fraction)]);
            if bat.soc_min_fraction > 0.0 {
                b.row(0.0, INF, &[(et, 1.0), (energy, -bat.soc_min_fraction)]);
            }
            if let (Some(h), Some(r0)) = (held, reserve_rows) {
                // Headroom: stop charging and discharge up to the rating, for one step, from
                // the energy above the floor.
                b.row(
                    -INF,
                    0.0,
                    &[(h + t, 1.0), (power, -1.0), (dt_col, 1.0), (ct, -1.0)],
                );
                b.row(
                    -INF,
                    0.0,
                    &[
                        (h + t, dt / eta_d),
                        (et, -1.0),
                        (energy, bat.soc_min_fraction),
                    ],
                );
                b.entry(r0 + t, h + t, 1.0);
            }
        }
        if let SocEnd::Fixed { final_fraction, .. } = bat.soc_end {
            b.row(0.0, INF, &[(soc + n - 1, 1.0), (energy, -final_fraction)]);
        }
        lay.batteries.push(BatteryCols {
            power,
            energy,
            charge,
            discharge,
            soc,
        });
    }

    for s in &p.solar {
        let c = &s.capacity;
        let cap = capacity_col(
            &mut b,
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
        );
        let out = b.cols(n, 0.0, 0.0, INF);
        for t in 0..n {
            b.entry(lay.balance + t, out + t, 1.0);
            b.row(
                -INF,
                0.0,
                &[(out + t, 1.0), (cap, -at(&s.capacity_factor, t))],
            );
        }
        lay.solar.push((cap, out));
    }

    for m in &p.miners {
        let first = b.cols(n, -m.revenue.base() * dt, 0.0, m.capacity.mw());
        for t in 0..n {
            b.entry(lay.balance + t, first + t, -1.0);
            if let Some(r0) = reserve_rows {
                b.entry(r0 + t, first + t, 1.0);
            }
        }
        lay.miners.push(first);
    }

    lay.unserved = b.cols(n, p.value_of_lost_load.base() * dt, 0.0, 0.0);
    for t in 0..n {
        let u = lay.unserved + t;
        b.set_upper(u, p.load[t].mw());
        b.entry(lay.balance + t, u, 1.0);
    }

    let mut lp = b.finish();
    lp.offset = offset;
    (lp, lay)
}
