//! Builds the report model of a run (the `wattage-report` crate renders it).

use serde_json::Value;
use wattage_report::{
    Assumption, Axis, BarLayout, Bars, Chart, Colour, Distribution, DistributionStyle, KeyFigure,
    NamedFigures, Ranges, Report, Section, Table, TimeSeries,
};
use wattage_site::SeriesRow;

use super::fleet::PROFILE_STEP_S;
use super::{RunResult, ServiceResult};
use crate::error::{Error, Result};

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

fn request_section(s: &ServiceResult) -> Result<Section> {
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
            KeyFigure::new("Emissions", e.co2e.g(), "g CO2e").note(s.region.id.clone()),
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
            "p99 ITL ms",
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
            KeyFigure::new("Energy per request", f.server_wh_per_request() * pue, "Wh")
                .note("facility, over the day"),
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
                Axis::new("Mean inter-token latency per request", "ms"),
                DistributionStyle::Histogram { bins: 40 },
            )
            .samples("Inter-token latency", Colour::Palette(1), &itl)?
            .clip_at(0.995);
            sec = sec.chart(Chart::new(
                format!("itl-{}", s.service.name),
                "Inter-token latency at the busiest hour",
                d,
            ));
        }
    }
    Ok(sec)
}

fn site_section(r: &RunResult) -> Result<Section> {
    let k = &r.year.kpis;
    let src = &k.energy_mwh_by_source;
    let by_use = &k.energy_mwh_by_use;
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
    let sources = Bars::new(
        "Source",
        [
            "Grid",
            "Gas turbines",
            "Solar",
            "Battery discharge",
            "Unserved",
        ],
        Axis::new("Energy", "GWh"),
        BarLayout::Grouped,
    )
    .series(
        "Energy supplied",
        Colour::Palette(0),
        vec![
            src.grid / 1e3,
            src.turbines / 1e3,
            src.solar / 1e3,
            src.battery_discharge / 1e3,
            src.unserved / 1e3,
        ],
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
        Axis::new("Energy", "GWh"),
        BarLayout::Grouped,
    )
    .series(
        "Energy used",
        Colour::Palette(1),
        vec![
            by_use.inference_it / 1e3,
            by_use.training_it / 1e3,
            by_use.facility_overhead / 1e3,
            by_use.miners / 1e3,
            by_use.battery_losses / 1e3,
        ],
    );
    let c = &k.cost_usd_by_component;
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
        Axis::new("Cost", "M$"),
        BarLayout::Grouped,
    )
    .series(
        "Cost",
        Colour::Palette(2),
        vec![
            c.grid_energy / 1e6,
            c.demand_charge / 1e6,
            c.fuel / 1e6,
            (c.turbine_om + c.starts) / 1e6,
            (c.interruptions + c.job_failures) / 1e6,
            (c.miner_revenue + c.miner_other_costs) / 1e6,
        ],
    );
    let soc = TimeSeries::new(
        Axis::new("Hour of the day", "h"),
        Axis::new("State of charge", "%"),
        hours(day_rows, day_start),
    )
    .line(
        "Battery state of charge",
        Colour::Battery,
        day_rows.iter().map(|r| 100.0 * r.soc).collect(),
    )
    .y_range(0.0, 100.0);
    let soc_year = TimeSeries::new(
        Axis::new("Day of the run", "day"),
        Axis::new("State of charge", "%"),
        year_x.clone(),
    )
    .line(
        "Battery state of charge",
        Colour::Battery,
        year_rows.iter().map(|r| 100.0 * r.soc).collect(),
    )
    .y_range(0.0, 100.0);
    let mut sec = Section::new("Site: power, cost, carbon and water")
        .paragraph(format!(
            "`{}` simulated over {:.0} hours at {} s steps, with the services' fleet power as its inference load. {}",
            r.loaded.site_origin,
            k.hours,
            k.step_s,
            r.site.description
        ))
        .figures(vec![
            KeyFigure::new(
                "Energy",
                (src.grid + src.turbines + src.solar + src.battery_discharge + src.unserved) / 1e3,
                "GWh",
            ),
            KeyFigure::new("Peak facility load", k.peak_facility_mw, "MW"),
            KeyFigure::new("Peak grid import", k.peak_grid_import_mw, "MW"),
            KeyFigure::new("Cost", k.cost_usd / 1e6, "M$")
                .note(format!("{} $/MWh", fmt(k.cost_usd_per_mwh))),
            KeyFigure::new("Emissions", k.co2e_t / 1e3, "kt CO2e").note(format!(
                "{} kt from the grid, {} kt from turbines",
                fmt(k.co2e_t_by_source.grid / 1e3),
                fmt(k.co2e_t_by_source.turbines / 1e3)
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
        .chart(Chart::new("energy-by-source", "Energy by source", sources))
        .chart(Chart::new("energy-by-use", "Energy by use", uses))
        .chart(Chart::new("cost", "Cost by component", cost).caption(
            "Miners' revenue is negative cost; lost GPU work is valued at the training job's GPU-hour value",
        ))
        .chart(Chart::new("soc-day", "Battery state of charge, one day", soc))
        .chart(Chart::new("soc-year", "Battery state of charge over the run", soc_year));
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
    let emissions = Bars::new(
        "Quantity",
        [
            "CO2e, grid (kt)",
            "CO2e, turbines (kt)",
            "Fresh water (1000 m³)",
            "Recycled water (1000 m³)",
        ],
        Axis::new("Amount", "kt or 1000 m³"),
        BarLayout::Grouped,
    )
    .series(
        "Site",
        Colour::Palette(3),
        vec![
            k.co2e_t_by_source.grid / 1e3,
            k.co2e_t_by_source.turbines / 1e3,
            k.water_fresh_m3 / 1e3,
            k.water_recycled_m3 / 1e3,
        ],
    );
    sec = sec.chart(Chart::new("carbon-water", "Emissions and water", emissions));
    Ok(sec)
}

/// Flattens a JSON value into `(path, value)` rows; array elements are named by their `name`.
fn flatten(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix} · {k}")
        }
    };
    match v {
        Value::Number(n) => rows.push((prefix.to_string(), fmt(n.as_f64().unwrap_or(0.0)))),
        Value::String(s) if !prefix.is_empty() => rows.push((prefix.to_string(), s.clone())),
        Value::Object(m) => {
            for (k, x) in m {
                if k != "name" {
                    flatten(&join(k), x, rows);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let name = x
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_string);
                flatten(&join(&name), x, rows);
            }
        }
        _ => {}
    }
}

fn optimize_section(v: &Value, solver: &str) -> Option<Section> {
    v.as_object()?;
    let mut rows = Vec::new();
    flatten("", v, &mut rows);
    let mut t = Table::new(
        "Optimal design, cost and solver statistics",
        ["quantity", "value"],
    );
    for (a, b) in rows {
        t = t.row([a, b]);
    }
    let lp = v.get("objective_usd").and_then(Value::as_f64);
    let rb = v
        .get("rule_based")
        .and_then(|r| r.get("cost_usd"))
        .and_then(Value::as_f64);
    let solver = match solver {
        "highs" => "HiGHS",
        "clarabel" => "Clarabel",
        other => other,
    };
    let mut sec = Section::new("Cheapest design (linear program)").paragraph(format!(
        "The site's design and dispatch optimized by linear programming ({solver}) over the same scenario, where the site may extend its batteries, turbines, solar and grid connection at annualized capital cost; then the rule-based simulator run second by second on the optimal design, to see what the hourly plan cannot (ramps, swings, outages).",
    ));
    if let (Some(lp), Some(rb)) = (lp, rb) {
        sec = sec.figures(vec![
            KeyFigure::new("Optimal cost (LP)", lp / 1e6, "M$"),
            KeyFigure::new("Same design, rule-based dispatch", rb / 1e6, "M$")
                .note("second by second"),
        ]);
    }
    Some(sec.table(t))
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
    let figs = figures(r);
    rep = rep.section(
        Section::new("Summary")
            .paragraph("From one token to the grid: what one request takes, what the serving fleet draws over the day, and how the campus powers it alongside training, second by second.")
            .figures(figs.figures),
    );
    let pue = r.site_pue();
    for s in &r.services {
        rep = rep.section(request_section(s)?);
        rep = rep.section(fleet_section(s, pue)?);
    }
    rep = rep.section(site_section(r)?);
    if let Some(o) = &r.optimized {
        let v = serde_json::to_value(o)
            .map_err(|e| Error::internal(format!("cannot serialise the optimum: {e}")))?;
        if let Some(sec) = optimize_section(&v, o.solver) {
            rep = rep.section(sec);
        }
    }
    let mut times = Table::new("Wall time of each stage", ["stage", "seconds"]);
    for (name, t) in &r.timings {
        times = times.row([name.to_string(), format!("{t:.2}")]);
    }
    rep = rep.section(Section::new("How this was computed").table(times));
    Ok(rep)
}
