//! Builds the report model of a run (the `wattage-report` crate renders it).

use wattage_report::{
    Assumption, Axis, BarLayout, Bars, Chart, Colour, Distribution, DistributionStyle, KeyFigure,
    NamedFigures, Ranges, Report, Section, Table, TimeSeries,
};
use wattage_site::SeriesRow;

use super::fleet::PROFILE_STEP_S;
use super::{RunResult, RunUncertainty, ServiceResult};
use crate::error::Result;
use crate::optimize::OptimizeSummary;

fn fmt(v: f64) -> String {
    wattage_report::format::significant(v, 3)
}

/// The key figures of a run (also the rows of `wattage compare`).
pub fn figures(r: &RunResult) -> NamedFigures {
    let k = &r.year.kpis;
    let pue = r.site_pue();
    let mut f = Vec::new();
    for s in &r.services {
        let fl = &s.fleet;
        f.push(
            KeyFigure::new(
                format!("{}: energy per request (facility)", s.service.name),
                fl.server_wh_per_request() * pue,
                "Wh",
            )
            .note("serving simulator, whole day, site PUE"),
        );
        f.push(
            KeyFigure::new(
                format!("{}: steady-state estimate", s.service.name),
                s.estimate.energy.wh(),
                "Wh",
            )
            .range(s.mc.energy_wh.p5, s.mc.energy_wh.p95)
            .note("roofline at the fleet's mean batch; p5-p95"),
        );
        f.push(KeyFigure::new(
            format!("{}: accelerators", s.service.name),
            fl.gpus() as f64,
            "GPUs",
        ));
        f.push(KeyFigure::new(
            format!("{}: mean fleet power", s.service.name),
            fl.mean_server_w() / 1e6,
            "MW",
        ));
    }
    let src = &k.energy_mwh_by_source;
    let total = src.grid + src.turbines + src.solar + src.battery_discharge + src.unserved;
    f.push(KeyFigure::new("Site energy", total / 1e3, "GWh"));
    f.push(KeyFigure::new(
        "Peak facility load",
        k.peak_facility_mw,
        "MW",
    ));
    f.push(KeyFigure::new("Site cost", k.cost_usd / 1e6, "M$"));
    f.push(KeyFigure::new("Emissions", k.co2e_t / 1e3, "kt CO2e"));
    f.push(KeyFigure::new("Fresh water", k.water_fresh_m3, "m³"));
    f.push(KeyFigure::new("Unserved energy", k.unserved_mwh, "MWh"));
    f.push(KeyFigure::new(
        "AI interruptions",
        k.interruptions as f64,
        "events",
    ));
    NamedFigures::new(r.loaded.scenario.name.clone(), f)
}

fn hours(rows: &[SeriesRow], offset_s: f64) -> Vec<f64> {
    rows.iter()
        .map(|r| (r.time_s - offset_s) / 3600.0)
        .collect()
}

fn power_stack(rows: &[SeriesRow], x: Vec<f64>, x_axis: Axis) -> TimeSeries {
    let col = |f: fn(&SeriesRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let mut ts = TimeSeries::new(x_axis, Axis::new("Power", "MW"), x)
        .area("Grid", Colour::Grid, col(|r| r.grid_mw.max(0.0)))
        .area("Gas turbines", Colour::GasTurbine, col(|r| r.turbines_mw))
        .area("Solar", Colour::Solar, col(|r| r.solar_mw))
        .area("Battery", Colour::Battery, col(|r| r.battery_mw))
        .area("Unserved", Colour::Unserved, col(|r| r.unserved_mw));
    if rows.iter().any(|r| r.miners_mw > 0.0) {
        ts = ts.line("Miners", Colour::Miners, col(|r| r.miners_mw));
    }
    ts.line("Facility load", Colour::Load, col(|r| r.facility_mw))
        .line("IT load", Colour::It, col(|r| r.it_mw))
}

fn request_section(s: &ServiceResult, mix_g: f64) -> Result<Section> {
    let e = &s.estimate;
    let b = e.breakdown;
    let total = e.energy.wh();
    let ranges = Ranges::new(Axis::new("Energy per request", "Wh"), true)
        .bar("Accelerators", b.gpu.wh(), Colour::It)
        .bar(
            "Host (CPU, memory, network)",
            b.host.wh(),
            Colour::Palette(2),
        )
        .bar("Idle reserve capacity", b.reserve.wh(), Colour::Palette(3))
        .bar(
            "Cooling and power delivery",
            b.facility_overhead.wh(),
            Colour::Cooling,
        )
        .total(
            "Total (facility)",
            total,
            Some((s.mc.energy_wh.p5.min(total), s.mc.energy_wh.p95.max(total))),
            Colour::Load,
        );
    let d = &s.deployment;
    let mut sec = Section::new(format!("Request: {}", s.service.name))
        .paragraph(format!(
            "One request of {:.0} prompt and {:.0} output tokens to {}{} on a replica of {} x {} ({}), at the mean batch the fleet simulation found ({:.1} sequences). The roofline model costs each engine iteration from its FLOPs and bytes; the range is the 5th to 95th percentile of a Monte Carlo over the model's fitted constants, host load, idle reserve, PUE and grid carbon.",
            s.service.input_tokens,
            s.service.output_tokens,
            d.model.name,
            if d.model.estimate { " (architecture estimated)" } else { "" },
            d.gpus,
            d.hardware.name,
            d.weight_precision,
            super::mean_batch(&s.fleet),
        ))
        .figures(vec![
            KeyFigure::new("Energy per request", total, "Wh")
                .range(s.mc.energy_wh.p5, s.mc.energy_wh.p95)
                .note("facility scope"),
            KeyFigure::new("Per output token", e.energy.j() / s.service.output_tokens, "J"),
            KeyFigure::new("Time to first token", e.ttft.ms(), "ms"),
            KeyFigure::new("Per output token latency", e.decode_step.ms(), "ms"),
            KeyFigure::new("Emissions, regional grid", e.co2e.g(), "g CO2e").note(format!(
                "{} at {} g/kWh",
                s.region.id,
                fmt(s.assumptions.carbon.g_per_kwh())
            )),
            KeyFigure::new("Emissions, site supply mix", e.energy.wh() / 1e3 * mix_g, "g CO2e")
                .note(format!("what powered the site, {} g/kWh", fmt(mix_g))),
            KeyFigure::new("Water", e.water().ml(), "mL").note("on site + power plants"),
            KeyFigure::new("Flat 10% method", s.flat.energy.wh(), "Wh")
                .note("seed 003's method, same model and hardware"),
        ])
        .chart(
            Chart::new(
                format!("request-{}", s.service.name),
                "Energy of one request, by where it is drawn",
                ranges,
            )
            .caption("Waterfall from the accelerators to the facility boundary; the total bar shows the Monte Carlo 5-95% range"),
        );
    let rows = s
        .assumptions
        .rows(&s.region, wattage_request::Method::Roofline);
    sec = sec.assumptions(
        rows.into_iter()
            .map(|r| Assumption::new(r.name, fmt(r.value), r.unit, r.source))
            .collect(),
    );
    Ok(sec)
}

fn fleet_section(s: &ServiceResult, pue: f64) -> Result<Section> {
    let f = &s.fleet;
    let hours_of_day: Vec<f64> = (0..f.day_server_w.len())
        .map(|i| i as f64 * PROFILE_STEP_S / 3600.0)
        .collect();
    let day = TimeSeries::new(
        Axis::new("Time of day", "h"),
        Axis::new("Server power", "MW"),
        hours_of_day.clone(),
    )
    .area(
        "Fleet server power",
        Colour::It,
        f.day_server_w.iter().map(|w| w / 1e6).collect(),
    );
    let rate = TimeSeries::new(
        Axis::new("Time of day", "h"),
        Axis::new("Requests", "req/s"),
        hours_of_day,
    )
    .line(
        "Arrival rate",
        Colour::Load,
        f.day_requests.iter().map(|n| n / PROFILE_STEP_S).collect(),
    );
    let mut table = Table::new(
        "One replica at each load level (serving simulator)",
        [
            "requests/s per replica",
            "mean batch",
            "compute util. %",
            "server power kW",
            "% of TDP (GPU)",
            "p99 TTFT ms",
            "p99 ITL, all token gaps, ms",
            "Wh/request (server)",
        ],
    );
    let tdp = s.deployment.tdp().w();
    for l in &f.levels {
        let wh = if l.summary.throughput_requests_per_s > 0.0 {
            l.server_w / l.summary.throughput_requests_per_s / 3600.0
        } else {
            0.0
        };
        table = table.row([
            fmt(l.rate_per_s),
            fmt(l.summary.mean_batch_size),
            fmt(100.0 * l.summary.compute_utilization),
            fmt(l.server_w / 1e3),
            fmt(100.0 * l.gpu_w / tdp),
            fmt(l.summary.ttft_ms_p99),
            fmt(l.summary.itl_ms_p99),
            fmt(wh),
        ]);
    }
    let mut sec = Section::new(format!("Fleet: {}", s.service.name))
        .paragraph(format!(
            "{:.3e} requests a day ({:.0} per second on average, {:.0} at the busiest hour). One replica meets the objectives (p99 time to first token {} ms, p99 inter-token latency {} ms) up to {:.2} requests per second, so the fleet needs {} replicas, {} accelerators. Its power over the day is the simulated replica's power at each hour's load, times the replicas.",
            s.service.requests_per_day,
            f.mean_rate,
            f.peak_rate,
            s.service.ttft_p99_ms,
            s.service.itl_p99_ms,
            f.capacity_per_replica,
            f.replicas,
            f.gpus()
        ))
        .figures(vec![
            KeyFigure::new("Replicas", f64::from(f.replicas), ""),
            KeyFigure::new("Accelerators", f.gpus() as f64, "GPUs"),
            KeyFigure::new("Mean server power", f.mean_server_w() / 1e6, "MW"),
            KeyFigure::new("Peak server power", f.peak_server_w() / 1e6, "MW"),
            KeyFigure::new(
                "Energy per request, fleet average",
                f.server_wh_per_request() * pue,
                "Wh",
            )
            .note("facility, over the day, idle replicas included"),
            KeyFigure::new("p99 ITL, all token gaps", f.peak.summary.itl_ms_p99, "ms")
                .note("busiest hour, one replica"),
            KeyFigure::new(
                "Compute utilization at peak",
                100.0 * f.peak.summary.compute_utilization,
                "%",
            )
            .note("the flat method assumes 10%"),
        ])
        .chart(Chart::new(
            format!("fleet-day-{}", s.service.name),
            "Fleet server power over a day",
            day,
        ))
        .chart(Chart::new(
            format!("fleet-rate-{}", s.service.name),
            "Requests per second over a day",
            rate,
        ))
        .table(table);
    if let Some(recs) = &f.peak.records {
        let ttft: Vec<f64> = recs.iter().map(|r| r.ttft_ms).collect();
        let itl: Vec<f64> = recs
            .iter()
            .filter(|r| r.output_tokens > 1)
            .map(|r| r.itl_ms_mean)
            .collect();
        if !ttft.is_empty() {
            let d = Distribution::new(
                Axis::new("Time to first token", "ms"),
                DistributionStyle::Cdf,
            )
            .samples("Time to first token", Colour::Palette(0), &ttft)?
            .clip_at(0.995);
            sec = sec.chart(
                Chart::new(
                    format!("ttft-{}", s.service.name),
                    "Time to first token at the busiest hour",
                    d,
                )
                .caption("Cumulative share of requests; one simulated replica at peak load"),
            );
        }
        if !itl.is_empty() {
            let d = Distribution::new(
                Axis::new("Mean inter-token latency of a request", "ms"),
                DistributionStyle::Histogram { bins: 40 },
            )
            .samples("Per-request mean ITL", Colour::Palette(1), &itl)?
            .clip_at(0.995);
            sec = sec.chart(
                Chart::new(
                    format!("itl-{}", s.service.name),
                    "Each request's mean inter-token latency at the busiest hour",
                    d,
                )
                .caption(format!(
                    "Its p99 is of per-request means, lower than the p99 over all token gaps ({} ms): a request's long gaps (while another's prompt is prefilled) average out with its short ones",
                    fmt(f.peak.summary.itl_ms_p99)
                )),
            );
        }
    }
    Ok(sec)
}

/// A divisor and unit that fit a quantity: energy in MWh -> MWh or GWh, money in USD -> $
/// or M$, mass in t -> t or kt (charts keep one unit per axis).
fn fit(v: f64, base: &str) -> (f64, &'static str) {
    let a = v.abs();
    match base {
        "MWh" if a >= 1e3 => (1e3, "GWh"),
        "MWh" => (1.0, "MWh"),
        "USD" if a >= 1e6 => (1e6, "M$"),
        "USD" => (1.0, "$"),
        "t" if a >= 1e3 => (1e3, "kt CO2e"),
        "t" => (1.0, "t CO2e"),
        "m3" if a >= 1e6 => (1e3, "thousand m³"),
        _ => (1.0, "m³"),
    }
}

/// The stored series grouped by day: (day mid-points, min, mean, max) of `f`.
fn daily(rows: &[SeriesRow], f: fn(&SeriesRow) -> f64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut x, mut lo, mut mean, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < rows.len() {
        let day = (rows[i].time_s / 86_400.0).floor();
        let mut j = i;
        let (mut mn, mut mx, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        while j < rows.len() && (rows[j].time_s / 86_400.0).floor() == day {
            let v = f(&rows[j]);
            mn = mn.min(v);
            mx = mx.max(v);
            sum += v;
            j += 1;
        }
        x.push(day + 0.5);
        lo.push(mn);
        hi.push(mx);
        mean.push(sum / (j - i) as f64);
        i = j;
    }
    (x, lo, mean, hi)
}

fn site_section(r: &RunResult) -> Result<Section> {
    let k = &r.year.kpis;
    let src = &k.energy_mwh_by_source;
    let by_use = &k.energy_mwh_by_use;
    let over = format!("over the {} h simulated", fmt(k.hours));
    let day_rows = &r.day.series;
    let day_start = day_rows.first().map_or(0.0, |r| r.time_s);
    let day_chart = power_stack(
        day_rows,
        hours(day_rows, day_start),
        Axis::new("Hour of the day", "h"),
    );
    let year_rows = &r.year.series;
    let year_x: Vec<f64> = year_rows.iter().map(|r| r.time_s / 86_400.0).collect();
    let year_chart = power_stack(
        year_rows,
        year_x.clone(),
        Axis::new("Day of the run", "day"),
    )
    .mean_per_bucket(365);
    let total_mwh = src.grid + src.turbines + src.solar + src.battery_discharge + src.unserved;
    let (ed, eu) = fit(total_mwh, "MWh");
    let sources = Bars::new(
        "Source",
        [
            "Grid",
            "Gas turbines",
            "Solar",
            "Battery discharge",
            "Unserved",
        ],
        Axis::new("Energy", eu),
        BarLayout::Grouped,
    )
    .series(
        "Energy supplied",
        Colour::Palette(0),
        [
            src.grid,
            src.turbines,
            src.solar,
            src.battery_discharge,
            src.unserved,
        ]
        .iter()
        .map(|v| v / ed)
        .collect(),
    );
    let uses = Bars::new(
        "Use",
        [
            "Inference IT",
            "Training IT",
            "Cooling and power delivery",
            "Miners",
            "Battery losses",
        ],
        Axis::new("Energy", eu),
        BarLayout::Grouped,
    )
    .series(
        "Energy used",
        Colour::Palette(1),
        [
            by_use.inference_it,
            by_use.training_it,
            by_use.facility_overhead,
            by_use.miners,
            by_use.battery_losses,
        ]
        .iter()
        .map(|v| v / ed)
        .collect(),
    );
    let c = &k.cost_usd_by_component;
    let energy_cost = c.energy_total();
    let lost = c.interruptions + c.job_failures;
    let miners_net = c.miner_revenue + c.miner_other_costs;
    let (cd, cu) = fit(
        energy_cost.abs().max(lost.abs()).max(miners_net.abs()),
        "USD",
    );
    let cost = Bars::new(
        "Component",
        [
            "Grid energy",
            "Demand charges",
            "Fuel",
            "Turbine O&M and starts",
            "Lost GPU work",
            "Miners' net revenue",
        ],
        Axis::new("Cost", cu),
        BarLayout::Stacked,
    )
    .series(
        "Energy cost",
        Colour::Palette(2),
        vec![
            (c.grid_energy + c.export_revenue) / cd,
            c.demand_charge / cd,
            c.fuel / cd,
            (c.turbine_om + c.starts) / cd,
            0.0,
            0.0,
        ],
    )
    .series(
        "Not paid for power",
        Colour::Palette(4),
        vec![0.0, 0.0, 0.0, 0.0, lost / cd, miners_net / cd],
    );
    let mut sec = Section::new("Site: power, cost, carbon and water")
        .paragraph(format!(
            "`{}` simulated over {} hours at {} s steps, with the services' fleet power as its inference load. Every figure below is {over} unless it says otherwise. {}",
            r.loaded.site_origin,
            fmt(k.hours),
            k.step_s,
            r.site.description
        ))
        .figures(vec![
            KeyFigure::new("Energy supplied", total_mwh / ed, eu).note(over.clone()),
            KeyFigure::new("Peak facility load", k.peak_facility_mw, "MW"),
            KeyFigure::new("Peak grid import", k.peak_grid_import_mw, "MW"),
            KeyFigure::new("Energy cost", energy_cost / cd, cu)
                .note(format!("{} $/MWh; no capital, no lost work", fmt(k.cost_usd_per_mwh))),
            KeyFigure::new("Value of lost training work", lost / cd, cu)
                .note("GPU-hours lost, at the job's GPU-hour value; not an energy cost"),
            KeyFigure::new("Emissions", k.co2e_t / fit(k.co2e_t, "t").0, fit(k.co2e_t, "t").1)
                .note(format!(
                    "{} from the grid, {} from turbines",
                    wattage_report::format::quantity(k.co2e_t_by_source.grid, "t CO2e"),
                    wattage_report::format::quantity(k.co2e_t_by_source.turbines, "t CO2e")
                )),
            KeyFigure::new("Water", k.water_m3, "m³")
                .note(format!("{} m³ fresh", fmt(k.water_fresh_m3))),
            KeyFigure::new("Unserved", k.unserved_mwh, "MWh"),
            KeyFigure::new("AI interruptions", k.interruptions as f64, "")
                .note(format!("{} GPU-hours lost", fmt(k.gpu_hours_lost))),
            KeyFigure::new("Ramp violations", k.ramp_violations as f64, ""),
            KeyFigure::new("Battery cycles", k.battery_equivalent_cycles, "")
                .note("equivalent full cycles"),
        ])
        .chart(
            Chart::new("site-day", "Site power by source, one day second by second", day_chart)
                .caption(format!(
                    "Day {} of the year at 10-second resolution (min/max kept when drawn): training swings, the battery absorbing them, turbines following slowly",
                    r.loaded.scenario.site.zoom_day
                )),
        )
        .chart(
            Chart::new("site-year", "Site power by source over the run", year_chart)
                .caption("Daily means"),
        )
        .chart(Chart::new("energy-by-source", "Energy by source", sources).caption(over.clone()))
        .chart(Chart::new("energy-by-use", "Energy by use", uses).caption(over.clone()))
        .chart(Chart::new("cost", "Cost by component", cost).caption(format!(
            "{over}. Energy cost and what is not paid for power are told apart: lost GPU work is valued at the training job's GPU-hour value, and miners' revenue is negative cost"
        )));
    if !r.site.batteries.is_empty() {
        let soc = TimeSeries::new(
            Axis::new("Hour of the day", "h"),
            Axis::new("State of charge", "%"),
            hours(day_rows, day_start),
        )
        .line(
            "Battery state of charge",
            Colour::Battery,
            day_rows.iter().map(|r| 100.0 * r.soc).collect(),
        );
        sec = sec.chart(
            Chart::new("soc-day", "Battery state of charge, one day", soc)
                .caption("The axis fits the day's swing: a second-by-second swing of a few percent is what absorbs the training load's steps"),
        );
        let (dx, lo, mean, hi) = daily(year_rows, |r| 100.0 * r.soc);
        let soc_year = if dx.len() >= 2 {
            TimeSeries::new(
                Axis::new("Day of the run", "day"),
                Axis::new("State of charge", "%"),
                dx,
            )
            .band("Daily minimum to maximum", Colour::Battery, lo, hi)
            .line("Daily mean", Colour::Battery, mean)
        } else {
            TimeSeries::new(
                Axis::new("Day of the run", "day"),
                Axis::new("State of charge", "%"),
                year_x.clone(),
            )
            .line(
                "Battery state of charge",
                Colour::Battery,
                year_rows.iter().map(|r| 100.0 * r.soc).collect(),
            )
        };
        sec = sec.chart(
            Chart::new("soc-year", "Battery state of charge over the run", soc_year).caption(
                format!(
                    "Each day's range of the stored {}-s values; {} equivalent full cycles {over}",
                    fmt(r.site.simulation.output_resolution.s()),
                    fmt(k.battery_equivalent_cycles)
                ),
            ),
        );
    }
    if year_rows.iter().any(|r| r.miners_mw > 0.0) {
        let miners = TimeSeries::new(
            Axis::new("Hour of the day", "h"),
            Axis::new("Miners' power", "MW"),
            hours(day_rows, day_start),
        )
        .area(
            "Miners",
            Colour::Miners,
            day_rows.iter().map(|r| r.miners_mw).collect(),
        );
        sec = sec.chart(
            Chart::new(
                "miners-day",
                "Bitcoin miners: power and curtailment, one day",
                miners,
            )
            .caption("Miners run on surplus and curtail within seconds when AI needs the power"),
        );
    }
    let (kd, ku) = fit(k.co2e_t, "t");
    let emissions = Bars::new(
        "Source",
        ["Grid import", "Gas turbines"],
        Axis::new("Emissions", ku),
        BarLayout::Grouped,
    )
    .series(
        "CO2e",
        Colour::Palette(3),
        vec![
            k.co2e_t_by_source.grid / kd,
            k.co2e_t_by_source.turbines / kd,
        ],
    );
    if k.co2e_t > 0.0 {
        sec = sec.chart(
            Chart::new("co2e-by-source", "Emissions by source", emissions).caption(format!(
                "{over}; location-based: grid import at the site file's intensity, turbines by their fuel"
            )),
        );
    }
    let (wd, wu) = fit(k.water_m3, "m3");
    let water = Bars::new(
        "Water",
        ["Fresh", "Recycled"],
        Axis::new("Water", wu),
        BarLayout::Grouped,
    )
    .series(
        "Water",
        Colour::Palette(0),
        vec![k.water_fresh_m3 / wd, k.water_recycled_m3 / wd],
    );
    if k.water_m3 > 0.0 {
        sec = sec.chart(Chart::new("water", "Water by kind", water).caption(over));
    }
    Ok(sec)
}

fn optimize_section(r: &RunResult, o: &OptimizeSummary) -> Section {
    let solver = match o.solver {
        "highs" => "HiGHS",
        "clarabel" => "Clarabel",
        other => other,
    };
    let sim_h = r.year.kpis.hours;
    let horizon = if (o.duration_h - sim_h).abs() > 1e-6 {
        format!(
            "over the {} h optimized (the first {} h of the {} h simulated; the costs below are for those hours, not for the whole run)",
            fmt(o.duration_h),
            fmt(o.duration_h),
            fmt(sim_h)
        )
    } else {
        format!("over the {} h optimized, the whole run", fmt(o.duration_h))
    };
    let mut sec = Section::new("Cheapest design (linear program)").paragraph(format!(
        "The site's design and dispatch optimized by linear programming ({solver}) at {} h steps {horizon}, where the site may extend its batteries, turbines, solar and grid connection at annualized capital cost; then the rule-based simulator run on the optimal design at the site's own step, to see what the hourly plan cannot (ramps, swings, outages).",
        fmt(o.step_s / 3600.0),
    ));
    if let Some(rb) = &o.rule_based {
        sec = sec.figures(vec![
            KeyFigure::new(
                "Optimal cost (LP)",
                o.objective_usd / fit(o.objective_usd, "USD").0,
                fit(o.objective_usd, "USD").1,
            )
            .note(format!("{} h, capital included", fmt(o.duration_h))),
            KeyFigure::new(
                "Same design, rule-based dispatch",
                rb.cost_usd / fit(o.objective_usd, "USD").0,
                fit(o.objective_usd, "USD").1,
            )
            .note(format!("{} h at {} s steps", fmt(o.duration_h), rb.step_s)),
        ]);
    }
    // The existing design beside the optimal one.
    let site = &r.site;
    let cap = &o.capacities;
    let mut design = Table::new(
        "Design: existing and optimal",
        ["asset", "existing", "optimal", "unit"],
    );
    let mut names = Vec::new();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    if let (Some(g), Some(opt)) = (&site.grid, cap.grid_import_mw) {
        design = design.row([
            "Grid import connection".to_string(),
            fmt(g.import_cap.mw()),
            fmt(opt),
            "MW".into(),
        ]);
        names.push("Grid import".to_string());
        before.push(g.import_cap.mw());
        after.push(opt);
    }
    for t in &cap.turbines {
        let ex = site.turbines.iter().find(|x| x.name == t.name);
        let (mw, units) = ex.map_or((0.0, 0), |x| (x.unit.mw() * f64::from(x.count), x.count));
        design = design
            .row([
                format!("Turbines `{}`", t.name),
                fmt(mw),
                fmt(t.mw),
                "MW".into(),
            ])
            .row([
                format!("Turbines `{}`, units", t.name),
                units.to_string(),
                t.units.to_string(),
                "units".into(),
            ]);
        names.push(format!("Turbines {}", t.name));
        before.push(mw);
        after.push(t.mw);
    }
    for b in &cap.batteries {
        let ex = site.batteries.iter().find(|x| x.name == b.name);
        let (mw, mwh) = ex.map_or((0.0, 0.0), |x| (x.power.mw(), x.energy.mwh()));
        design = design
            .row([
                format!("Battery `{}`, power", b.name),
                fmt(mw),
                fmt(b.mw),
                "MW".into(),
            ])
            .row([
                format!("Battery `{}`, energy", b.name),
                fmt(mwh),
                fmt(b.mwh),
                "MWh".into(),
            ]);
        names.push(format!("Battery {} power", b.name));
        before.push(mw);
        after.push(b.mw);
    }
    for p in &cap.solar {
        let ex = site.solar.iter().find(|x| x.name == p.name);
        let mw = ex.map_or(0.0, |x| x.nameplate.mw());
        design = design.row([
            format!("Solar `{}`", p.name),
            fmt(mw),
            fmt(p.mw),
            "MW".into(),
        ]);
        names.push(format!("Solar {}", p.name));
        before.push(mw);
        after.push(p.mw);
    }
    if !names.is_empty() && before.iter().chain(&after).any(|v| *v != 0.0) {
        let bars = Bars::new(
            "Asset",
            names,
            Axis::new("Rating", "MW"),
            BarLayout::Grouped,
        )
        .series("Existing", Colour::Palette(5), before)
        .series("Optimal (LP)", Colour::Palette(0), after);
        sec = sec.chart(
            Chart::new(
                "lp-design",
                "Design: existing and optimal power ratings",
                bars,
            )
            .caption("Battery energy (MWh) is in the table below: one unit per axis"),
        );
    }
    sec = sec.table(design);
    let c = &o.costs;
    let mut costs = Table::new(
        format!("The optimum's cost by component, {horizon}"),
        ["component", "USD"],
    );
    for (label, v) in [
        ("Fuel", c.fuel_usd),
        ("Turbine variable O&M", c.turbine_vom_usd),
        ("Start-ups", c.startup_usd),
        ("Grid energy", c.grid_energy_usd),
        ("Demand charges", c.demand_charge_usd),
        (
            "Capital of new capacity (annualized, this horizon's share)",
            c.capital_usd,
        ),
        ("Battery wear", c.battery_wear_usd),
        ("Value of lost load", c.lost_load_usd),
        ("Carbon price", c.carbon_usd),
        ("Export revenue (subtracted)", c.export_revenue_usd),
        ("Miners' revenue (subtracted)", c.miner_revenue_usd),
        ("Total (the LP's objective)", o.objective_usd),
    ] {
        costs = costs.row([
            label.to_string(),
            wattage_report::format::quantity(v, "USD"),
        ]);
    }
    sec = sec.table(costs);
    if let Some(rb) = &o.rule_based {
        let t = Table::new(
            "The hourly plan against the rule-based check of the same design",
            ["quantity", "LP plan", "rule-based check"],
        )
        .row([
            "Cost, capital included".to_string(),
            wattage_report::format::quantity(o.objective_usd, "USD"),
            wattage_report::format::quantity(rb.cost_usd, "USD"),
        ])
        .row([
            "Emissions".to_string(),
            wattage_report::format::quantity(o.emissions_t, "t CO2e"),
            wattage_report::format::quantity(rb.co2e_t, "t CO2e"),
        ])
        .row([
            "Unserved energy".to_string(),
            wattage_report::format::quantity(o.unserved_mwh, "MWh"),
            wattage_report::format::quantity(rb.unserved_mwh, "MWh"),
        ])
        .row([
            "Step".to_string(),
            format!("{} s", fmt(o.step_s)),
            format!("{} s", fmt(rb.step_s)),
        ])
        .row([
            "Peak grid import".to_string(),
            "–".into(),
            format!("{} MW", fmt(rb.peak_grid_import_mw)),
        ])
        .row([
            "AI interruptions".to_string(),
            "–".into(),
            rb.interruptions.to_string(),
        ])
        .row([
            "Ramp violations (steps)".to_string(),
            "–".into(),
            rb.ramp_violations.to_string(),
        ])
        .row([
            "Below minimum stable load (steps)".to_string(),
            "–".into(),
            rb.min_stable_violations.to_string(),
        ])
        .row([
            "Short of reserve".to_string(),
            "–".into(),
            format!("{} s", fmt(rb.reserve_shortfall_s)),
        ])
        .row([
            "Turbine starts".to_string(),
            "–".into(),
            rb.turbine_starts.to_string(),
        ]);
        sec = sec.table(t);
    }
    let mut stats = Table::new("Solver statistics", ["statistic", "value"])
        .row(["Solver".to_string(), solver.to_string()])
        .row(["Steps".to_string(), o.steps.to_string()])
        .row(["Columns".to_string(), o.lp_cols.to_string()])
        .row(["Rows".to_string(), o.lp_rows.to_string()])
        .row(["Non-zeros".to_string(), o.lp_nnz.to_string()])
        .row(["Iterations".to_string(), o.solver_iterations.to_string()])
        .row(["Build time".to_string(), format!("{:.3} s", o.build_s)])
        .row(["Solve time".to_string(), format!("{:.3} s", o.solve_s)])
        .row([
            "Mean marginal price".to_string(),
            format!("{} $/MWh", fmt(o.mean_marginal_price_usd_per_mwh)),
        ])
        .row([
            "Highest marginal price".to_string(),
            format!("{} $/MWh", fmt(o.max_marginal_price_usd_per_mwh)),
        ]);
    if let Some(g) = o.mip_gap {
        stats = stats.row(["MIP gap".to_string(), format!("{g:.2e}")]);
    }
    sec.table(stats)
}

/// The uncertainty section: how the ranges were found, the factors, and a tornado per total.
fn uncertainty_section(u: &RunUncertainty, hours_simulated: f64) -> Section {
    let mut t = Table::new(
        "Factors, largest swing first",
        [
            "factor",
            "range (x central)",
            "why this range",
            "swing",
            "drawn",
        ],
    );
    for f in &u.factors {
        t = t.row([
            f.label.to_string(),
            format!("{}–{}", fmt(f.low), fmt(f.high)),
            f.source.to_string(),
            format!("{} %", fmt(100.0 * f.swing)),
            if f.sampled { "yes" } else { "no (under 1%)" }.to_string(),
        ]);
    }
    let mut sec = Section::new("Uncertainty of the totals")
        .paragraph(format!(
            "Ranges are the 5th and 95th percentiles of {} site runs over the {} h simulated, each at {} s steps with its own draw of the factors below (triangular around the central value; the inference factor is one draw of the request model's own Monte Carlo at server scope). A sensitivity pass first sets each factor to its low and high end alone; factors that move no total by 1% are held central. Each sample's totals are taken as ratios to a central run at the same step and applied to the headline values. Carbon intensity, prices and heat rate are applied to the run's cost and emission terms with dispatch held fixed. Seed {}.",
            u.samples,
            fmt(hours_simulated),
            u.step_s,
            u.seed
        ))
        .figures(vec![
            band_figure("Energy supplied", u.central.energy_mwh, &u.energy_mwh, "MWh"),
            band_figure("Energy cost", u.central.energy_cost_usd, &u.energy_cost_usd, "USD"),
            band_figure("Emissions", u.central.co2e_t, &u.co2e_t, "t"),
        ])
        .table(t);
    for (id, title, base, get) in [
        (
            "tornado-energy",
            "What moves the site's energy",
            "MWh",
            (|t: &super::uncertainty::Totals| t.energy_mwh)
                as fn(&super::uncertainty::Totals) -> f64,
        ),
        (
            "tornado-cost",
            "What moves the energy cost",
            "USD",
            |t: &super::uncertainty::Totals| t.energy_cost_usd,
        ),
        (
            "tornado-co2e",
            "What moves the emissions",
            "t",
            |t: &super::uncertainty::Totals| t.co2e_t,
        ),
    ] {
        let central = get(&u.central);
        let (d, unit) = fit(central, base);
        let mut rows: Vec<(f64, &str, f64, f64)> = u
            .factors
            .iter()
            .map(|f| {
                let (a, b) = (get(&f.at_low), get(&f.at_high));
                ((b - a).abs(), f.label, a.min(b), a.max(b))
            })
            .filter(|(sw, ..)| *sw > 0.0)
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        let axis = match base {
            "MWh" => "Site energy",
            "USD" => "Energy cost",
            _ => "Emissions",
        };
        let mut chart = Ranges::tornado(Axis::new(axis, unit));
        for (_, label, lo, hi) in rows {
            chart = chart.bar_with_range(label, lo / d, central / d, hi / d, Colour::Palette(0));
        }
        sec = sec.chart(Chart::new(id, title, chart).caption(format!(
            "Each factor alone at the low and the high end of its range, the others central; the line is the headline value {}",
            wattage_report::format::quantity(central, if base == "t" { "t CO2e" } else { base })
        )));
    }
    sec
}

fn band_figure(label: &str, central: f64, b: &super::uncertainty::Band, base: &str) -> KeyFigure {
    let (d, unit) = fit(central, base);
    KeyFigure::new(label, central / d, unit)
        .range(b.p5 / d, b.p95 / d)
        .note("5th to 95th percentile")
}

/// The summary: the headline table, then why figures of the same kind differ.
fn summary_section(r: &RunResult) -> Section {
    let heads = r.headlines();
    let mut t = Table::new(
        "Headline figures",
        ["figure", "value", "5–95% range", "horizon", "scope"],
    );
    for h in &heads.0 {
        t = t.row([
            h.label.clone(),
            h.value_text(),
            h.range_text(),
            h.horizon.clone(),
            h.scope.clone(),
        ]);
    }
    let mut sec = Section::new("Summary")
        .paragraph("From one token to the grid: what one request takes, what the serving fleet draws over the day, and how the campus powers it alongside training, second by second. Costs of different kinds are separate lines and are not added up: energy cost is what the site pays for power; the value of lost training work is paid to no one.")
        .table(t);
    let notes: Vec<String> = heads
        .0
        .iter()
        .filter(|h| !h.note.is_empty())
        .map(|h| format!("{}: {}.", h.label, h.note))
        .collect();
    if !notes.is_empty() {
        sec = sec.paragraph(format!("Why these differ. {}", notes.join(" ")));
    }
    for s in &r.services {
        sec = sec.paragraph(format!(
            "{}: two inter-token latencies, two definitions. \"p99 ITL, all token gaps\" ({} ms at the busiest hour) is the 99th percentile over every gap between consecutive tokens; the histogram in the fleet section shows each request's mean gap, whose 99th percentile is lower because a request's long gaps average out with its short ones. The objective ({} ms) applies to the first.",
            s.service.name,
            fmt(s.fleet.peak.summary.itl_ms_p99),
            fmt(s.service.itl_p99_ms)
        ));
    }
    sec
}

/// The whole report.
pub fn build(r: &RunResult) -> Result<Report> {
    let sc = &r.loaded.scenario;
    // The seeds actually used: the run's seed seeds the site too when it is given.
    let (serving, site) = (sc.serving_seed(), r.site.simulation.seed);
    let seeds = if serving == site {
        format!("seed {serving}")
    } else {
        format!("seed {serving} (serving), site seed {site} (site file)")
    };
    let mut rep = Report::new(sc.title.clone().unwrap_or_else(|| sc.name.clone()))
        .subtitle(sc.description.clone())
        .generated_by(format!(
            "wattage {} · scenario `{}` · {seeds}",
            env!("CARGO_PKG_VERSION"),
            r.loaded.origin,
        ));
    rep = rep.section(summary_section(r));
    let pue = r.site_pue();
    let mix = super::headline::supply_mix(r);
    for s in &r.services {
        rep = rep.section(request_section(s, mix.inference_g_per_kwh)?);
        rep = rep.section(fleet_section(s, pue)?);
    }
    rep = rep.section(site_section(r)?);
    if let Some(u) = &r.uncertainty {
        rep = rep.section(uncertainty_section(u, r.year.kpis.hours));
    }
    if let Some(o) = &r.optimized {
        rep = rep.section(optimize_section(r, o));
    }
    let mut times = Table::new("Wall time of each stage", ["stage", "seconds"]);
    for (name, t) in &r.timings {
        times = times.row([name.to_string(), format!("{t:.2}")]);
    }
    rep = rep.section(Section::new("How this was computed").table(times));
    Ok(rep)
}
