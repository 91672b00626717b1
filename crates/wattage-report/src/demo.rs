//! A realistic demo report with made-up but plausible numbers, to look at the rendering and to
//! test it (the browser test, the example and the snapshot tests use it). Its numbers come from
//! closed-form curves and a fixed-seed generator, not from the model crates.

use crate::model::{
    Assumption, Axis, BarLayout, Bars, Chart, Colour, Distribution, DistributionStyle, KeyFigure,
    Ranges, Report, Section, Table, TimeSeries,
};

/// A small deterministic generator (xorshift64*), so the demo needs no `rand`.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal by Box-Muller.
    fn normal(&mut self) -> f64 {
        let u = self.next_f64().max(1e-12);
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// One day of site dispatch at 5-minute steps, in MW.
struct Day {
    hours: Vec<f64>,
    load: Vec<f64>,
    solar: Vec<f64>,
    grid: Vec<f64>,
    gas: Vec<f64>,
    battery: Vec<f64>,
    unserved: Vec<f64>,
    soc: Vec<f64>,
    miners: Vec<f64>,
    curtailed: Vec<f64>,
}

fn day(rng: &mut Rng) -> Day {
    let steps = 24 * 12;
    let dt = 1.0 / 12.0;
    let capacity_mwh = 400.0;
    let mut soc_mwh = 200.0;
    let mut d = Day {
        hours: Vec::new(),
        load: Vec::new(),
        solar: Vec::new(),
        grid: Vec::new(),
        gas: Vec::new(),
        battery: Vec::new(),
        unserved: Vec::new(),
        soc: Vec::new(),
        miners: Vec::new(),
        curtailed: Vec::new(),
    };
    for k in 0..=steps {
        let h = k as f64 * dt;
        // Inference follows the day; a training job adds a flat block with checkpoint dips.
        let inference = 140.0 + 45.0 * ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos();
        let training = if (k / 30) % 4 == 3 && k % 30 < 3 {
            60.0
        } else {
            150.0
        };
        let load = inference + training + 4.0 * rng.normal();
        let solar = (120.0 * ((h - 6.0) / 13.0 * std::f64::consts::PI).sin()).max(0.0);
        let grid_cap = 170.0;
        let mut rest = load - solar;
        // Battery charges from surplus solar at midday and discharges in the evening peak.
        let mut battery = 0.0;
        if (10.0..15.0).contains(&h) && soc_mwh < capacity_mwh {
            battery = -(60.0_f64).min((capacity_mwh - soc_mwh) / dt);
        } else if (17.0..22.0).contains(&h) && soc_mwh > 40.0 {
            battery = 70.0_f64.min((soc_mwh - 40.0) / dt).min(rest.max(0.0));
        }
        rest -= battery;
        let grid = rest.clamp(0.0, grid_cap);
        rest -= grid;
        let gas = rest.clamp(0.0, 160.0);
        rest -= gas;
        let unserved = rest.max(0.0);
        soc_mwh -= battery * dt * if battery < 0.0 { 0.92 } else { 1.0 / 0.92 };
        soc_mwh = soc_mwh.clamp(0.0, capacity_mwh);
        // Miners run on whatever the grid contract leaves; they are curtailed in the peak.
        let peak = (17.0..22.0).contains(&h) || training < 100.0;
        let miners = if peak {
            2.0 + 2.0 * rng.next_f64()
        } else {
            36.0 + 4.0 * rng.next_f64()
        };
        d.hours.push(h);
        d.load.push(load);
        d.solar.push(solar);
        d.grid.push(grid);
        d.gas.push(gas);
        d.battery.push(battery);
        d.unserved.push(unserved);
        d.soc.push(soc_mwh / capacity_mwh * 100.0);
        d.miners.push(miners);
        d.curtailed.push(40.0 - miners);
    }
    d
}

/// The demo report: a campus of about 300 MW serving an inference fleet and a training job.
pub fn demo_report() -> Report {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let d = day(&mut rng);

    let power_day = TimeSeries::new(
        Axis::new("Time of day", "h"),
        Axis::new("Power", "MW"),
        d.hours.clone(),
    )
    .area("Solar", Colour::Solar, d.solar.clone())
    .area("Grid", Colour::Grid, d.grid.clone())
    .area("Gas turbines", Colour::GasTurbine, d.gas.clone())
    .area("Battery", Colour::Battery, d.battery.clone())
    .area("Unserved", Colour::Unserved, d.unserved.clone())
    .line("Load", Colour::Load, d.load.clone());

    // A year at hourly steps: exercises the downsampling (8,760 points drawn as 2,000).
    let hours_year: Vec<f64> = (0..8760).map(|h| f64::from(h) / 24.0).collect();
    let mut solar_y = Vec::new();
    let mut grid_y = Vec::new();
    let mut gas_y = Vec::new();
    let mut load_y = Vec::new();
    for &t in &hours_year {
        let h = (t * 24.0) % 24.0;
        let season = (t / 365.0 * std::f64::consts::TAU).cos();
        let load = 290.0 + 20.0 * ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos() - 10.0 * season
            + 5.0 * rng.normal();
        let solar = ((110.0 - 30.0 * season) * ((h - 6.0) / 13.0 * std::f64::consts::PI).sin())
            .max(0.0)
            * (0.7 + 0.3 * rng.next_f64());
        let grid = (load - solar).clamp(0.0, 170.0);
        let gas = (load - solar - grid).max(0.0);
        solar_y.push(solar);
        grid_y.push(grid);
        gas_y.push(gas);
        load_y.push(load);
    }
    let power_year = TimeSeries::new(
        Axis::new("Day of year", "day"),
        Axis::new("Power", "MW"),
        hours_year,
    )
    .area("Solar", Colour::Solar, solar_y)
    .area("Grid", Colour::Grid, grid_y)
    .area("Gas turbines", Colour::GasTurbine, gas_y)
    .line("Load", Colour::Load, load_y)
    .mean_per_bucket(365);

    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seasonal = |base: f64, amp: f64| -> Vec<f64> {
        (0..12)
            .map(|m| base + amp * (f64::from(m) / 12.0 * std::f64::consts::TAU).cos())
            .collect()
    };
    let by_source = Bars::new(
        "Month",
        months,
        Axis::new("Energy", "GWh"),
        BarLayout::Stacked,
    )
    .series("Grid", Colour::Grid, seasonal(118.0, 4.0))
    .series("Gas turbines", Colour::GasTurbine, seasonal(52.0, 12.0))
    .series("Solar", Colour::Solar, seasonal(38.0, -14.0))
    .series("Battery", Colour::Battery, seasonal(4.0, 0.5));
    let by_use = Bars::new(
        "Use",
        [
            "IT: inference",
            "IT: training",
            "Cooling",
            "Power conversion",
            "Miners",
        ],
        Axis::new("Energy per year", "GWh"),
        BarLayout::Stacked,
    )
    .series("Grid", Colour::Grid, vec![640.0, 520.0, 160.0, 44.0, 60.0])
    .series(
        "Gas turbines",
        Colour::GasTurbine,
        vec![290.0, 230.0, 72.0, 20.0, 0.0],
    )
    .series("Solar", Colour::Solar, vec![210.0, 170.0, 52.0, 14.0, 12.0]);
    let cost = Bars::new(
        "Component",
        [
            "Grid energy",
            "Demand charges",
            "Gas fuel",
            "Turbine capex",
            "Battery capex",
            "Solar capex",
        ],
        Axis::new("Cost per year", "M$"),
        BarLayout::Stacked,
    )
    .series(
        "Cost",
        Colour::Palette(0),
        vec![98.0, 21.0, 47.0, 38.0, 16.0, 22.0],
    );
    let co2 = Bars::new(
        "Source",
        ["Grid", "Gas turbines", "Solar", "Battery losses"],
        Axis::new("Emissions per year", "kt CO2e"),
        BarLayout::Grouped,
    )
    .series(
        "Operational",
        Colour::Palette(3),
        vec![520.0, 410.0, 0.0, 9.0],
    )
    .series("Embodied", Colour::Palette(9), vec![0.0, 12.0, 35.0, 6.0]);

    let per_request = Ranges::new(Axis::new("Energy per request", "Wh"), true)
        .bar_with_range("Prefill", 0.048, 0.06, 0.075, Colour::Palette(0))
        .bar_with_range("Decode", 0.14, 0.19, 0.27, Colour::Palette(0))
        .bar_with_range(
            "Idle and batching slack",
            0.02,
            0.035,
            0.06,
            Colour::Palette(9),
        )
        .bar("Host CPU, memory, network", 0.028, Colour::Palette(8))
        .bar_with_range(
            "Cooling and power losses (PUE 1.25)",
            0.05,
            0.078,
            0.1,
            Colour::Cooling,
        )
        .total("Total per request", 0.391, Some((0.28, 0.55)), Colour::Load);

    let mut ttft_a = Vec::new();
    let mut ttft_b = Vec::new();
    let mut itl = Vec::new();
    for _ in 0..20_000 {
        ttft_a.push((5.3 + 0.45 * rng.normal()).exp());
        ttft_b.push((4.9 + 0.5 * rng.normal()).exp());
        itl.push(18.0 + 3.0 * rng.normal().abs() + if rng.next_f64() < 0.03 { 40.0 } else { 0.0 });
    }
    let ttft = Distribution::new(
        Axis::new("Time to first token", "ms"),
        DistributionStyle::Cdf,
    )
    .samples("H100, BF16", Colour::Palette(0), &ttft_a)
    .and_then(|d| d.samples("B200, FP8", Colour::Palette(1), &ttft_b))
    .map(|d| d.clip_at(0.995))
    .unwrap_or_else(|_| unreachable!("demo samples are finite"));
    let itl = Distribution::new(
        Axis::new("Inter-token latency", "ms"),
        DistributionStyle::Histogram { bins: 50 },
    )
    .samples("H100, BF16", Colour::Palette(0), &itl)
    .map(|d| d.clip_at(0.999))
    .unwrap_or_else(|_| unreachable!("demo samples are finite"));

    let soc = TimeSeries::new(
        Axis::new("Time of day", "h"),
        Axis::new("State of charge", "%"),
        d.hours.clone(),
    )
    .line("Battery 400 MWh", Colour::Battery, d.soc.clone())
    .y_range(0.0, 100.0);
    let miners = TimeSeries::new(
        Axis::new("Time of day", "h"),
        Axis::new("Power", "MW"),
        d.hours.clone(),
    )
    .line("Miners running", Colour::Miners, d.miners.clone())
    .line("Miners curtailed", Colour::Unserved, d.curtailed.clone());

    let energy_table = Table::new(
        "Annual energy balance",
        [
            "Source",
            "Energy (GWh)",
            "Share (%)",
            "Cost (M$)",
            "Emissions (kt CO2e)",
        ],
    )
    .row(["Grid", "1,424", "59.3", "119", "520"])
    .row(["Gas turbines", "612", "25.5", "85", "422"])
    .row(["Solar", "458", "19.1", "22", "35"])
    .row(["Battery (net losses)", "-42", "-1.7", "16", "15"])
    .row(["Total", "2,452", "100.0", "242", "992"]);

    Report::new("wattage run: default scenario")
        .subtitle("1 billion requests a day on a GPT-4o-class model, plus a frontier training job, on a 300 MW campus")
        .generated_by("Generated by wattage-report demo (illustrative numbers, not model output)")
        .section(
            Section::new("Summary")
                .paragraph("One consistent answer from token to grid: the energy of one request, the fleet's power, the site's energy mix, cost, carbon and reliability. All numbers in this demo are illustrative.")
                .figures(vec![
                    KeyFigure::new("Energy per request", 0.391, "Wh").range(0.28, 0.55).note("central, with 90 % range"),
                    KeyFigure::new("Site power, mean", 279.0, "MW"),
                    KeyFigure::new("Site energy per year", 2_452_000.0, "MWh"),
                    KeyFigure::new("Cost per year", 242.0, "M$"),
                    KeyFigure::new("Emissions per year", 992.0, "kt CO2e"),
                    KeyFigure::new("Unserved energy", 0.02, "%").note("of demand"),
                ]),
        )
        .section(
            Section::new("Site power")
                .paragraph("The power stack by source; the battery charges from midday solar (below zero) and discharges into the evening peak. The black line is the site load.")
                .chart(Chart::new("power-day", "Site power by source, one day", power_day).caption("5-minute steps; battery charging shown below zero"))
                .chart(Chart::new("power-year", "Site power by source, one year", power_year).caption("Hourly steps, drawn as daily means"))
                .chart(Chart::new("soc", "Battery state of charge", soc).size(960, 320))
                .chart(Chart::new("miners", "Miners: power used and curtailed", miners).size(960, 320).caption("Miners take the grid contract's headroom and stop in the peak")),
        )
        .section(
            Section::new("Energy, cost and carbon")
                .chart(Chart::new("energy-by-source", "Energy by source, per month", by_source))
                .chart(Chart::new("energy-by-use", "Energy by use and source, per year", by_use))
                .chart(Chart::new("cost", "Cost breakdown per year", cost).size(960, 380))
                .chart(Chart::new("co2e", "Emissions by source per year", co2).size(960, 380))
                .table(energy_table),
        )
        .section(
            Section::new("Per request")
                .paragraph("Where the energy of one request goes. Error bars show the 90 % range of the Monte Carlo run; the total's range is not the sum of the parts' ranges.")
                .chart(Chart::new("energy-per-request", "Energy per request, breakdown", per_request).size(960, 360))
                .chart(Chart::new("ttft", "Time to first token", ttft).caption("Cumulative share of requests"))
                .chart(Chart::new("itl", "Inter-token latency", itl)),
        )
        .section(
            Section::new("Assumptions").assumptions(vec![
                Assumption::new("Requests per day", "1,000,000,000", "requests", "scenario file"),
                Assumption::new("Model", "GPT-4o-class, 200 B active parameters", "", "assumed; not disclosed by vendor"),
                Assumption::new("Accelerator", "H100 SXM", "", "catalog"),
                Assumption::new("Accelerator board power", "700", "W", "vendor datasheet"),
                Assumption::new("PUE", "1.25", "", "default"),
                Assumption::new("Grid carbon intensity", "365", "g CO2e/kWh", "grid region catalog"),
                Assumption::new("Battery", "400", "MWh", "scenario file"),
            ]),
        )
}
