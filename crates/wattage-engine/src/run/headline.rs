//! The headline table of a run: one labelled row per figure, each with its value in a named
//! unit, its horizon ("per request", "over the 8,760 h simulated") and its scope (what is in
//! it and what is not), and a 5-95% range where the Monte Carlo gives one. The report's
//! summary table, the text summary and `summary.json`'s `headlines` are this list, so they
//! cannot disagree. Other parts append their rows with [`Headlines::push`] (keys are unique,
//! snake_case, unit last).
//!
//! Costs of different kinds are separate rows and never summed here: energy cost (what the
//! site pays for power), the value of lost training work (what interruptions and failures
//! waste, paid to no one), miners' net revenue and, when computed, capital.

use serde::Serialize;

use super::RunResult;
use super::fleet::PROFILE_STEP_S;

/// One row of the headline table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Stable key, snake_case with the unit last (`site_energy_mwh`).
    pub key: String,
    /// What the figure is.
    pub label: String,
    /// The value, in `unit`.
    pub value: f64,
    /// Unit of `value` (and of `low`/`high`): `MWh`, `USD`, `t CO2e`, `Wh`, `g CO2e`, ...
    pub unit: String,
    /// Monte Carlo 5th percentile, when there is a range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// Monte Carlo 95th percentile, when there is a range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// Over what the figure counts: `per request`, `over the 48 h simulated`, `per year`.
    pub horizon: String,
    /// What is in it (and what is not).
    pub scope: String,
    /// Why it differs from a neighbouring figure of the same kind, where there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Headline {
    /// A row without range or note.
    pub fn new(
        key: impl Into<String>,
        label: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        horizon: impl Into<String>,
        scope: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            value,
            unit: unit.into(),
            low: None,
            high: None,
            horizon: horizon.into(),
            scope: scope.into(),
            note: String::new(),
        }
    }

    /// Sets the 5-95% range.
    pub fn range(mut self, low: f64, high: f64) -> Self {
        self.low = Some(low);
        self.high = Some(high);
        self
    }

    /// Sets the note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// The value in the unit that fits it (`1.2 kWh`, `$163M`).
    pub fn value_text(&self) -> String {
        wattage_report::format::quantity(self.value, &self.unit)
    }

    /// The range in the value's scale, or empty.
    pub fn range_text(&self) -> String {
        match (self.low, self.high) {
            (Some(l), Some(h)) => {
                wattage_report::format::quantity_range(l, h, self.value, &self.unit)
            }
            _ => String::new(),
        }
    }
}

/// The rows, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Headlines(pub Vec<Headline>);

impl Headlines {
    /// Appends a row.
    pub fn push(&mut self, h: Headline) {
        self.0.push(h);
    }

    /// The row with this key.
    pub fn get(&self, key: &str) -> Option<&Headline> {
        self.0.iter().find(|h| h.key == key)
    }

    /// The table as text lines (the text summary).
    pub fn text(&self) -> Vec<String> {
        let w = self
            .0
            .iter()
            .map(|h| h.label.chars().count())
            .max()
            .unwrap_or(0);
        self.0
            .iter()
            .map(|h| {
                let range = h.range_text();
                let range = if range.is_empty() {
                    String::new()
                } else {
                    format!(" (p5-p95 {range})")
                };
                format!(
                    "  {:<w$}  {}{range}, {}; {}",
                    h.label,
                    h.value_text(),
                    h.horizon,
                    h.scope
                )
            })
            .collect()
    }
}

/// The carbon intensity of what supplied the site, g/kWh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SupplyMix {
    /// Over the horizon, weighted by the energy supplied in each interval (battery discharge
    /// at the mean intensity of the non-battery supply that charged it). Above emissions /
    /// energy supplied when batteries cycle: that ratio counts a discharged MWh twice in the
    /// energy, once when generated and once when discharged.
    pub site_g_per_kwh: f64,
    /// Weighted by the inference fleets' power, interval by interval: the intensity a request
    /// served on this site carries.
    pub inference_g_per_kwh: f64,
    /// Grid import's mean intensity over the run.
    pub grid_g_per_kwh: f64,
    /// The turbines' mean intensity over the run.
    pub turbines_g_per_kwh: f64,
}

/// The supply mix's intensity from the site run, interval by interval of the stored series:
/// each interval's intensity is its grid import, turbine output and battery discharge weighted
/// by their intensities (the run's mean for the grid and the turbines, the non-battery supply's
/// mean for the battery, solar zero) over their sum.
pub fn supply_mix(r: &RunResult) -> SupplyMix {
    let k = &r.year.kpis;
    let src = &k.energy_mwh_by_source;
    // t/MWh x 1000 = kg/MWh = g/kWh.
    let per = |t: f64, mwh: f64| if mwh > 0.0 { t * 1e3 / mwh } else { 0.0 };
    let grid = per(k.co2e_t_by_source.grid, src.grid);
    let turbines = per(k.co2e_t_by_source.turbines, src.turbines);
    let battery = per(
        k.co2e_t_by_source.grid + k.co2e_t_by_source.turbines,
        src.grid + src.turbines + src.solar,
    );
    let day = |time_s: f64| -> f64 {
        let bins = r.services[0].fleet.day_server_w.len();
        let i = ((time_s.rem_euclid(86_400.0) / PROFILE_STEP_S) as usize).min(bins - 1);
        r.services.iter().map(|s| s.fleet.day_server_w[i]).sum()
    };
    let (mut num, mut den, mut e_num, mut e_den) = (0.0, 0.0, 0.0, 0.0);
    for row in &r.year.series {
        let supply =
            row.grid_mw.max(0.0) + row.turbines_mw + row.solar_mw + row.battery_mw.max(0.0);
        if supply <= 0.0 {
            continue;
        }
        let intensity = (row.grid_mw.max(0.0) * grid
            + row.turbines_mw * turbines
            + row.battery_mw.max(0.0) * battery)
            / supply;
        let w = day(row.time_s);
        num += w * intensity;
        den += w;
        e_num += supply * intensity;
        e_den += supply;
    }
    let site = if e_den > 0.0 { e_num / e_den } else { 0.0 };
    SupplyMix {
        site_g_per_kwh: site,
        inference_g_per_kwh: if den > 0.0 { num / den } else { site },
        grid_g_per_kwh: grid,
        turbines_g_per_kwh: turbines,
    }
}

/// "8,760 h", "48 h", "0.5 h".
fn hours(h: f64) -> String {
    format!("{} h", wattage_report::format::significant(h, 4))
}

/// The headline table of a run.
pub fn build(r: &RunResult) -> Headlines {
    let k = &r.year.kpis;
    let c = &k.cost_usd_by_component;
    let pue = r.site_pue();
    let mix = supply_mix(r);
    let over = format!("over the {} simulated", hours(k.hours));
    let mut t = Headlines::default();
    for s in &r.services {
        let n = &s.service.name;
        let fl = &s.fleet;
        let e = &s.estimate;
        t.push(
            Headline::new(
                format!("{n}_energy_per_request_fleet_wh"),
                format!("{n}: energy per request, fleet average"),
                fl.server_wh_per_request() * pue,
                "Wh",
                "per request, averaged over the simulated day",
                format!(
                    "facility: the fleet's server energy, idle replicas included, x the site's PUE {}",
                    wattage_report::format::significant(pue, 3)
                ),
            )
            .note("why it differs from the steady state: replicas that stay on at night batch fewer requests, and their idle power is spread over the day's requests"),
        );
        t.push(
            Headline::new(
                format!("{n}_energy_per_request_steady_state_wh"),
                format!("{n}: energy per request, steady state"),
                e.energy.wh(),
                "Wh",
                "per request",
                format!(
                    "facility: roofline model at the fleet's mean batch ({}), idle reserve included, x the region's PUE {}",
                    wattage_report::format::significant(super::mean_batch(fl), 3),
                    wattage_report::format::significant(s.assumptions.pue, 3)
                ),
            )
            .range(s.mc.energy_wh.p5, s.mc.energy_wh.p95),
        );
        if let Some(recs) = fl.peak.records.as_ref().filter(|v| !v.is_empty()) {
            let mean_j = recs.iter().map(|x| x.energy_facility_j).sum::<f64>() / recs.len() as f64;
            t.push(
                Headline::new(
                    format!("{n}_energy_per_request_busy_wh"),
                    format!("{n}: energy per request, busiest hour's requests"),
                    mean_j / 3600.0,
                    "Wh",
                    "per request, mean of the busiest hour's simulated requests",
                    format!("facility: each request's share of the iterations it was in, idle time excluded (`energy_facility_j` of `requests_{n}.csv`)"),
                )
                .note("why it is the lowest: the busiest hour batches the most and idle power is left out"),
            );
        }
        let region_g = s.assumptions.carbon.g_per_kwh();
        t.push(Headline::new(
            format!("{n}_co2e_per_request_region_g"),
            format!("{n}: CO2e per request, regional grid"),
            e.co2e.g(),
            "g CO2e",
            "per request",
            format!(
                "steady-state energy at the {} grid's average, {} g/kWh",
                s.region.id,
                wattage_report::format::significant(region_g, 3)
            ),
        ));
        t.push(
            Headline::new(
                format!("{n}_co2e_per_request_site_mix_g"),
                format!("{n}: CO2e per request, site supply mix"),
                e.energy.wh() / 1e3 * mix.inference_g_per_kwh,
                "g CO2e",
                "per request",
                format!(
                    "steady-state energy at what supplied the site, {} g/kWh (interval by interval, weighted by the fleet's power)",
                    wattage_report::format::significant(mix.inference_g_per_kwh, 3)
                ),
            )
            .note("why it differs from the regional figure: the site runs on its own turbines and batteries as well as the grid"),
        );
        t.push(Headline::new(
            format!("{n}_accelerators"),
            format!("{n}: accelerators"),
            fl.gpus() as f64,
            "GPUs",
            "installed",
            format!("{} replicas x {} GPUs", fl.replicas, fl.gpus_per_replica),
        ));
    }
    let u = r.uncertainty.as_ref();
    let src = &k.energy_mwh_by_source;
    let mut energy = Headline::new(
        "site_energy_mwh",
        "Site energy supplied",
        src.grid + src.turbines + src.solar + src.battery_discharge + src.unserved,
        "MWh",
        over.clone(),
        "grid, turbines, solar, battery discharge and unserved; facility, miners and battery losses",
    );
    let mut cost = Headline::new(
        "site_energy_cost_usd",
        "Energy cost",
        c.energy_total(),
        "USD",
        over.clone(),
        "grid energy, demand charges, fuel, turbine O&M and starts, less exports; no capital, no lost work",
    );
    let mut co2 = Headline::new(
        "site_co2e_t",
        "Emissions, location-based",
        k.co2e_t,
        "t CO2e",
        over.clone(),
        "grid import at the site file's grid intensity, plus the turbines' fuel; operational only",
    );
    if let Some(u) = u {
        energy = energy.range(u.energy_mwh.p5, u.energy_mwh.p95);
        cost = cost.range(u.energy_cost_usd.p5, u.energy_cost_usd.p95);
        co2 = co2.range(u.co2e_t.p5, u.co2e_t.p95);
    }
    t.push(energy);
    t.push(cost);
    t.push(Headline::new(
        "site_energy_cost_usd_per_mwh",
        "Energy cost per MWh delivered",
        k.cost_usd_per_mwh,
        "$/MWh",
        format!("mean {over}"),
        "energy cost over the energy delivered to the facility and miners",
    ));
    let value = r
        .site
        .training
        .first()
        .map_or(0.0, |j| j.value_per_gpu_hour.usd());
    t.push(Headline::new(
        "site_lost_work_usd",
        "Value of lost training work",
        c.interruptions + c.job_failures,
        "USD",
        over.clone(),
        format!(
            "GPU-hours lost to site interruptions ({}) and the jobs' own failures ({}), at ${}/GPU-hour; not paid to anyone, not an energy cost",
            wattage_report::format::quantity(c.interruptions, "USD"),
            wattage_report::format::quantity(c.job_failures, "USD"),
            wattage_report::format::significant(value, 3)
        ),
    ));
    // Capital: the hardware of the fleets and the training job over the same horizon
    // (run::capital), beside the energy cost and never added to it.
    let cap = super::capital::build(r);
    let priced: Vec<&str> = cap
        .uses
        .iter()
        .filter(|u| u.cost_basis.is_some())
        .map(|u| u.name.as_str())
        .collect();
    if !priced.is_empty() {
        let mut row = Headline::new(
            "capital_hardware_usd",
            "Hardware cost (capital or rent)",
            cap.total.hardware_usd,
            "USD",
            over.clone(),
            format!(
                "accelerators and servers of {} amortized (or rented) per accelerator-hour; not in the energy cost",
                priced.join(", ")
            ),
        );
        if cap.total.total_usd > 0.0 {
            row.note = format!(
                "electricity is {:.1}% of hardware plus electricity for these uses",
                100.0 * cap.total.energy_usd / cap.total.total_usd
            );
        }
        t.push(row);
    }
    if cap.embodied_t.central > 0.0 {
        t.push(
            Headline::new(
                "capital_embodied_co2e_t",
                "Embodied emissions of the hardware",
                cap.embodied_t.central,
                "t CO2e",
                over.clone(),
                "manufacturing of accelerators and servers amortized over their service life (Scope 3); not in the emissions below",
            )
            .range(cap.embodied_t.low, cap.embodied_t.high),
        );
    }
    if k.energy_mwh_by_use.miners > 0.0 || c.miner_revenue != 0.0 {
        t.push(Headline::new(
            "site_miners_net_revenue_usd",
            "Miners' net revenue",
            -(c.miner_revenue + c.miner_other_costs),
            "USD",
            over.clone(),
            "bitcoin revenue less pool fees and wear; their power is in the energy cost",
        ));
    }
    t.push(co2);
    t.push(Headline::new(
        "site_supply_g_per_kwh",
        "Carbon intensity of the site's supply",
        mix.site_g_per_kwh,
        "g/kWh",
        format!("energy-weighted {over}"),
        format!(
            "grid {} g/kWh, turbines {} g/kWh, solar 0, batteries at the mix that charged them",
            wattage_report::format::significant(mix.grid_g_per_kwh, 3),
            wattage_report::format::significant(mix.turbines_g_per_kwh, 3)
        ),
    ));
    t.push(Headline::new(
        "site_water_fresh_m3",
        "Fresh water",
        k.water_fresh_m3,
        "m³",
        over.clone(),
        format!(
            "on site, cooling; {} in all with recycled water",
            wattage_report::format::quantity(k.water_m3, "m³")
        ),
    ));
    t.push(Headline::new(
        "site_peak_facility_mw",
        "Peak facility load",
        k.peak_facility_mw,
        "MW",
        format!("highest {}-s value {over}", k.step_s),
        "IT and cooling, miners excluded",
    ));
    t.push(Headline::new(
        "site_interruptions",
        "AI interruptions",
        k.interruptions as f64,
        "",
        over,
        format!(
            "spells of unserved AI load; {} GPU-hours lost",
            wattage_report::format::significant(k.gpu_hours_lost, 3)
        ),
    ));
    t
}

/// The text summary of a run (what `wattage run` prints): the title, each fleet on one line,
/// the headline table, and the factors that move the totals most.
pub fn summary_text(r: &RunResult, table: &Headlines) -> Vec<String> {
    use wattage_report::format::significant;
    let sc = &r.loaded.scenario;
    let mut out = vec![sc.title.clone().unwrap_or_else(|| sc.name.clone())];
    for s in &r.services {
        let f = &s.fleet;
        let p = &f.peak.summary;
        out.push(format!(
            "  {} ({} on {} x {}): {} replicas ({} GPUs), {} MW mean / {} MW peak server power; busiest hour: p99 TTFT {} ms, p99 ITL (all token gaps) {} ms, compute utilization {}%",
            s.service.name,
            s.deployment.model.id,
            s.deployment.gpus,
            s.deployment.hardware.id,
            f.replicas,
            f.gpus(),
            significant(f.mean_server_w() / 1e6, 3),
            significant(f.peak_server_w() / 1e6, 3),
            significant(p.ttft_ms_p99, 4),
            significant(p.itl_ms_p99, 3),
            significant(100.0 * p.compute_utilization, 3),
        ));
    }
    out.extend(table.text());
    if let Some(u) = &r.uncertainty {
        let top: Vec<String> = u
            .factors
            .iter()
            .filter(|f| f.sampled)
            .take(3)
            .map(|f| format!("{} ({}%)", f.label, significant(100.0 * f.swing, 2)))
            .collect();
        out.push(format!(
            "  ranges: 5th-95th percentiles of {} site runs at {} s steps; largest swings: {}",
            u.samples,
            u.step_s,
            if top.is_empty() {
                "none above 1%".to_string()
            } else {
                top.join(", ")
            }
        ));
    }
    out
}
