//! The time-stepping engine: loads, events, dispatch through a [`DispatchPolicy`], and
//! streamed accounting into [`Kpis`] and a time series at the output resolution.
//!
//! Memory is bounded by the output resolution: per-step values are folded into running sums
//! and one [`SeriesRow`] per output interval; nothing of length "number of steps" is stored.
//! Random draws happen only at event times (exponential times to the next failure, outage or
//! repair; one weather draw per day), from separate seeded ChaCha8 streams per purpose, so a
//! seed fixes the whole run.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use serde::Serialize;
use wattage_units::Time;

use crate::dispatch::{
    BatteryBounds, DispatchPolicy, GridBounds, RuleBased, StepBounds, StepDecision, TurbineBounds,
};
use crate::fx::Fx;
use crate::profile::{self, Cursor};
use crate::scenario::{
    Carbon, InferenceShape, Scenario, ScenarioError, SolarSource, Tariff, Temperature,
};

const EPS_MW: f64 = 1e-6;
const MONTH_S: f64 = 730.0 * 3600.0;
const SLOW_TICK_S: f64 = 60.0;
/// Most rows a run may store (the output resolution must keep the series below this).
pub const MAX_SERIES_ROWS: u64 = 2_000_000;

/// Options of one run that are not part of the scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed (defaults to the scenario's).
    pub seed: u64,
    /// Step (defaults to the scenario's).
    pub step: Time,
    /// Horizon (defaults to the scenario's).
    pub duration: Time,
    /// Output resolution of the stored series (defaults to the scenario's).
    pub resolution: Time,
    /// Store the time series (turn off for Monte Carlo and optimisation).
    pub keep_series: bool,
}

impl RunOptions {
    /// The scenario's own settings.
    pub fn from_scenario(sc: &Scenario) -> Self {
        Self {
            seed: sc.simulation.seed,
            step: sc.simulation.step,
            duration: sc.simulation.duration,
            resolution: sc.simulation.output_resolution,
            keep_series: true,
        }
    }

    /// Checks the options (the error's field is `step`, `duration` or `resolution`) and
    /// returns the number of steps and the steps per stored row.
    pub fn check(&self) -> Result<(u64, u64), ScenarioError> {
        let (dt, dur, res) = (self.step.s(), self.duration.s(), self.resolution.s());
        if !(dt.is_finite() && dt > 0.0 && dt <= 3600.0) {
            return Err(ScenarioError::api("step", "must be in (0, 3600] s"));
        }
        if !(dur.is_finite() && dur >= dt && dur <= 10.0 * 366.0 * 86_400.0) {
            return Err(ScenarioError::api(
                "duration",
                "must be at least one step and at most ten years",
            ));
        }
        if !(res.is_finite() && res >= dt) {
            return Err(ScenarioError::api(
                "resolution",
                format!("must be at least the step ({dt} s), found {res} s"),
            ));
        }
        let steps = (dur / dt).round().mx(1.0) as u64;
        let per_row = (res / dt).round().mx(1.0) as u64;
        if self.keep_series && steps.div_ceil(per_row) > MAX_SERIES_ROWS {
            return Err(ScenarioError::api(
                "resolution",
                format!(
                    "would store {} rows; choose a coarser resolution (at most {MAX_SERIES_ROWS} rows)",
                    steps.div_ceil(per_row)
                ),
            ));
        }
        Ok((steps, per_row))
    }
}

/// One row of the output time series: averages (MW) over an output interval.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SeriesRow {
    /// Start of the interval (s).
    pub time_s: f64,
    /// IT load (MW).
    pub it_mw: f64,
    /// Facility load, IT plus overhead (MW).
    pub facility_mw: f64,
    /// Miners (MW).
    pub miners_mw: f64,
    /// Grid import, negative for export (MW).
    pub grid_mw: f64,
    /// Turbines (MW).
    pub turbines_mw: f64,
    /// Solar used (MW).
    pub solar_mw: f64,
    /// Battery net output, negative when charging (MW).
    pub battery_mw: f64,
    /// Unserved (MW).
    pub unserved_mw: f64,
    /// Battery state of charge at the end of the interval (fraction of usable energy, all
    /// batteries together).
    pub soc: f64,
    /// Energy stored in the batteries at the end of the interval, all together (MWh).
    pub soc_mwh: f64,
    /// Mean grid price ($/MWh).
    pub price_usd_per_mwh: f64,
    /// Highest per-step facility load in the interval (MW).
    pub facility_peak_mw: f64,
}

/// Energy by source (MWh).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EnergyBySource {
    /// Grid import.
    pub grid: f64,
    /// Gas turbines.
    pub turbines: f64,
    /// Solar used.
    pub solar: f64,
    /// Battery discharge.
    pub battery_discharge: f64,
    /// Unserved.
    pub unserved: f64,
}

/// Emissions by source (t CO2e).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Co2eBySource {
    /// Grid import, at the grid's carbon intensity.
    pub grid: f64,
    /// Gas turbines, at their CO2 per MWh.
    pub turbines: f64,
}

/// Energy by use (MWh).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EnergyByUse {
    /// Inference IT.
    pub inference_it: f64,
    /// Training IT (including dummy work).
    pub training_it: f64,
    /// Of which dummy work (power floor and ramp-limit mitigations).
    pub training_dummy_work: f64,
    /// Cooling and power-delivery overhead (PUE - 1).
    pub facility_overhead: f64,
    /// Bitcoin miners.
    pub miners: f64,
    /// Battery charging.
    pub battery_charge: f64,
    /// Grid export.
    pub export: f64,
    /// Battery conversion losses.
    pub battery_losses: f64,
}

/// Cost by component (USD; revenue negative where noted).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CostBreakdown {
    /// Grid energy.
    pub grid_energy: f64,
    /// Grid demand charges.
    pub demand_charge: f64,
    /// Export revenue (negative cost).
    pub export_revenue: f64,
    /// Turbine fuel.
    pub fuel: f64,
    /// Turbine variable O&M.
    pub turbine_om: f64,
    /// Turbine starts.
    pub starts: f64,
    /// Value of GPU work lost to site interruptions (since last checkpoint, plus restart).
    pub interruptions: f64,
    /// Value of GPU work lost to the jobs' own failures.
    pub job_failures: f64,
    /// Miners' revenue (negative cost).
    pub miner_revenue: f64,
    /// Miners' costs other than power (pool fees, wear), per MWh they draw.
    pub miner_other_costs: f64,
}

impl CostBreakdown {
    /// Energy cost of the site: grid, demand charge, export, fuel, O&M, starts.
    pub fn energy_total(&self) -> f64 {
        self.grid_energy
            + self.demand_charge
            + self.export_revenue
            + self.fuel
            + self.turbine_om
            + self.starts
    }
    /// Everything: energy cost plus lost work, minus miners' revenue net of their other
    /// costs.
    pub fn total(&self) -> f64 {
        self.energy_total()
            + self.interruptions
            + self.job_failures
            + self.miner_revenue
            + self.miner_other_costs
    }
}

/// One AI interruption (a spell of unserved load).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Interruption {
    /// Start (s).
    pub start_s: f64,
    /// Length (s).
    pub duration_s: f64,
    /// Energy unserved (MWh).
    pub unserved_mwh: f64,
    /// GPU-hours lost (work since the last checkpoint plus restart time).
    pub gpu_hours_lost: f64,
}

/// A pair of fractions written as percentages (rounded to 1e-9 %, so 0.9 is 90, not
/// 90.00000000000001).
fn as_pct<S: serde::Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    let mut t = s.serialize_tuple(2)?;
    for x in v {
        t.serialize_element(&((x * 100.0 * 1e9).round() / 1e9))?;
    }
    t.end()
}

/// Key figures of one run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Kpis {
    /// Seed of the run.
    pub seed: u64,
    /// Simulated time (h).
    pub hours: f64,
    /// Step (s).
    pub step_s: f64,
    /// Steps simulated.
    pub steps: u64,
    /// Energy by source (MWh).
    pub energy_mwh_by_source: EnergyBySource,
    /// Energy by use (MWh).
    pub energy_mwh_by_use: EnergyByUse,
    /// Unserved energy (MWh).
    pub unserved_mwh: f64,
    /// Solar curtailed (MWh).
    pub solar_curtailed_mwh: f64,
    /// Highest grid import (MW).
    pub peak_grid_import_mw: f64,
    /// Highest facility load (MW).
    pub peak_facility_mw: f64,
    /// Mean facility load over peak.
    pub load_factor: f64,
    /// Mean grid import over peak import.
    pub grid_load_factor: f64,
    /// Total cost (USD): energy, lost work, minus miners' revenue.
    pub cost_usd: f64,
    /// Cost by component (USD).
    pub cost_usd_by_component: CostBreakdown,
    /// Energy cost per MWh delivered to the loads, facility and miners ($/MWh).
    pub cost_usd_per_mwh: f64,
    /// The facility's share of the energy cost (in proportion to energy, so miners carry
    /// theirs) per training GPU-hour delivered ($/GPU-h; 0 without training).
    pub cost_usd_per_gpu_hour: f64,
    /// Emissions (t CO2e): grid import plus turbines.
    pub co2e_t: f64,
    /// Emissions by source (t CO2e).
    pub co2e_t_by_source: Co2eBySource,
    /// Water (m3), total.
    pub water_m3: f64,
    /// Fresh water (m3).
    pub water_fresh_m3: f64,
    /// Recycled water (m3).
    pub water_recycled_m3: f64,
    /// Battery discharge throughput (MWh).
    pub battery_throughput_mwh: f64,
    /// Equivalent full cycles (discharge throughput / nameplate energy).
    pub battery_equivalent_cycles: f64,
    /// Usable battery capacity lost to degradation (MWh).
    pub battery_fade_mwh: f64,
    /// Lowest and highest state of charge seen (fraction of usable energy); written as
    /// `soc_range_pct`, in % like every state of charge in the outputs.
    #[serde(rename = "soc_range_pct", serialize_with = "as_pct")]
    pub soc_range: [f64; 2],
    /// Steps in which a ramp limit was exceeded (grid, turbines).
    pub ramp_violations: u64,
    /// Of which on the grid connection.
    pub grid_ramp_violations: u64,
    /// Steps in which turbines ran below minimum stable load while online.
    pub min_stable_violations: u64,
    /// Turbine trips (forced outages).
    pub turbine_trips: u64,
    /// Turbine starts.
    pub turbine_starts: u64,
    /// Grid outages that began in the run.
    pub grid_outages: u64,
    /// Seconds with less spinning reserve than required.
    pub reserve_shortfall_s: f64,
    /// Number of AI interruptions (spells of unserved load).
    pub interruptions: u64,
    /// Of those, the ones shorter than `[reliability] interruption_min_s` (momentary, in
    /// the sense of IEEE 1366; none unless that is set).
    pub momentary_interruptions: u64,
    /// Total length of interruptions (s).
    pub interruption_s: f64,
    /// Longest interruption (s).
    pub longest_interruption_s: f64,
    /// GPU-hours lost to interruptions.
    pub gpu_hours_lost: f64,
    /// Training jobs' own failures.
    pub job_failures: u64,
    /// Training GPU-hours delivered (running, not paused).
    pub gpu_hours: f64,
    /// Miners' revenue (USD).
    pub miner_revenue_usd: f64,
    /// Miners' energy (MWh).
    pub miner_energy_mwh: f64,
    /// Share of time the miners were hashing (drawing more than 1% of their rated power).
    pub miner_uptime: f64,
    /// Miners' energy over what they would draw at full power all the time.
    pub miner_capacity_factor: f64,
    /// Largest |supply - demand| at any step (MW); floating-point noise only.
    pub max_balance_error_mw: f64,
    /// The interruptions (up to 1000 listed).
    pub interruption_list: Vec<Interruption>,
}

/// Result of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimResult {
    /// Key figures.
    pub kpis: Kpis,
    /// Time series at the output resolution (empty when not kept).
    pub series: Vec<SeriesRow>,
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum JobState {
    Running,
    Paused { until: f64 },
}

#[derive(Debug, Clone)]
struct Job {
    gpus: f64,
    tdp_w: f64,
    compute_w: f64,
    comm_w: f64,
    idle_w: f64,
    /// The phases' power with the floor applied: compute, communication, paused.
    floored_compute_w: f64,
    floored_comm_w: f64,
    floored_idle_w: f64,
    /// Whether the floor lifts any phase (otherwise drawn power is the natural power).
    floor_binds: bool,
    host_w: f64,
    iter_s: f64,
    duty: f64,
    ckpt_s: f64,
    ckpt_dur_s: f64,
    fail_rate_per_s: f64,
    restart_s: f64,
    value_per_gpu_h: f64,
    ramp_w_per_s: f64,
    // state
    state: JobState,
    phase_s: f64,
    work_s: f64,
    gpu_w: f64,
    next_fail_t: f64,
}

impl Job {
    /// Work since the last checkpoint (s), `back_s` seconds of running ago. With steps
    /// longer than the checkpoint interval the engine checkpoints at most once a step, so the
    /// remainder is taken: in continuous time the job checkpoints every interval.
    fn since_checkpoint(&self, back_s: f64) -> f64 {
        let w = (self.work_s - back_s).mx(0.0);
        if self.ckpt_s.is_finite() && self.ckpt_s > 0.0 {
            w % self.ckpt_s
        } else {
            w
        }
    }

    /// Integral of the compute-phase indicator from phase 0 to `x`.
    #[inline]
    fn compute_time(&self, x: f64) -> f64 {
        let n = (x / self.iter_s).floor();
        n * self.duty * self.iter_s + (x - n * self.iter_s).mn(self.duty * self.iter_s)
    }
}

#[derive(Debug, Clone)]
struct Group {
    count: u32,
    unit_mw: f64,
    min_frac: f64,
    ramp_mw_s: f64,
    start_s: f64,
    start_cost: f64,
    cost_mwh: f64,
    fuel_mwh: f64,
    om_mwh: f64,
    co2_t_per_mwh: f64,
    fail_rate_per_s: f64,
    mttr_s: f64,
    // state
    n_on: u32,
    n_failed: u32,
    starting: Vec<f64>,
    repairs: Vec<f64>,
    out_mw: f64,
    next_fail_t: f64,
    surplus_since: f64,
    // cached from `n_on` by `refresh_caps`
    pmax: f64,
    pmin: f64,
    ramp_step: f64,
    share: f64,
    // sum of output (MW) over steps; energy, fuel, O&M and CO2 follow at the end
    out_sum: f64,
}

#[derive(Debug, Clone)]
struct Bat {
    p_mw: f64,
    e0_mwh: f64,
    e_mwh: f64,
    eta_c: f64,
    eta_d: f64,
    soc_min: f64,
    soc_max: f64,
    soc_target: f64,
    fade: f64,
    soc_mwh: f64,
    charge_below: f64,
    discharge_above: f64,
    // sums over steps of discharge and charge power (MW)
    dis_sum: f64,
    chg_sum: f64,
    // cached by `refresh_limits` (they move with fade)
    emin: f64,
    emax: f64,
    et: f64,
    // per-run constants: MW per MWh of headroom
    k_dis: f64,
    k_chg: f64,
    k_dis_restore: f64,
    k_chg_restore: f64,
    drawn_per_mw: f64,
}

impl Bat {
    fn refresh_limits(&mut self) {
        self.emin = self.soc_min * self.e_mwh;
        self.emax = self.soc_max * self.e_mwh;
        self.et = self.soc_target * self.e_mwh;
    }
}

#[derive(Debug, Clone)]
struct Miner {
    p_mw: f64,
    rate_mw_s: f64,
    break_even: f64,
    usd_per_mwh_revenue: f64,
    usd_per_mwh_other: f64,
    load_mw: f64,
    // this step's limits (set with the bounds, used again in the accounting)
    lo: f64,
    hi: f64,
    // sum of load (MW) over steps
    mw_sum: f64,
    // cached by `update_miner_plan`: capacity cheaper than the break-even, and its ramp rate
    cheap_mw: f64,
    cheap_ramp_mw_s: f64,
}

enum InfLoad {
    Const(f64),
    Diurnal { mean: f64, amp: f64, peak_h: f64 },
    Series(Cursor),
}

/// Nameplate (MW), performance ratio, source.
type SolarPlant = (f64, f64, Analytic<(f64, f64)>);

enum Analytic<T> {
    Fixed(f64),
    Series(Cursor),
    Other(T),
}

/// A simulation in progress; advance it with [`Simulator::run_steps`] (the CLI draws a
/// progress bar between chunks) and collect with [`Simulator::finish`].
pub struct Simulator<P: DispatchPolicy = RuleBased> {
    policy: P,
    dt: f64,
    dt_h: f64,
    steps: u64,
    step: u64,
    per_row: u64,
    slow_every: u64,
    slow_count: u64,
    keep_series: bool,
    start_day: f64,
    // loads
    inference: Vec<InfLoad>,
    inf_slow: f64,
    inf_series_idx: Vec<usize>,
    jobs: Vec<Job>,
    pue: f64,
    pue_per_degc: f64,
    pue_threshold: f64,
    temperature: Analytic<(f64, f64, f64)>,
    pue_now: f64,
    wue_l_per_kwh: f64,
    recycled: f64,
    // supply
    has_grid: bool,
    grid_cap: f64,
    grid_export_cap: f64,
    export_frac: f64,
    grid_ramp: f64,
    peak_shave: f64,
    demand_charge_usd_per_kw: f64,
    tariff: Analytic<(f64, f64, f64, f64)>,
    carbon: Analytic<()>,
    price_now: f64,
    carbon_now: f64,
    outage_rate_per_s: f64,
    mean_outage_s: f64,
    windows: Vec<(f64, f64, Option<f64>)>, // start, end, DR cap; sorted by start
    /// Windows before this index have ended (the per-step scan starts here).
    first_window: usize,
    grid_out_until: f64,
    next_random_outage: f64,
    grid_mw: f64,
    groups: Vec<Group>,
    group_order: Vec<usize>,
    solar: Vec<SolarPlant>,
    solar_weather: Vec<f64>,
    solar_now: f64,
    bats: Vec<Bat>,
    miners: Vec<Miner>,
    reserve_mw: f64,
    decommit_s: f64,
    turbine_ema: f64,
    need_peak: f64,
    firm_peak: f64,
    miner_plan_mw: f64,
    cap_online: f64,
    next_month_t: f64,
    inv_dt: f64,
    ema_gain: f64,
    peak_decay: f64,
    gpu_s: f64,
    grid_co2_kg: f64,
    soc_cap: f64,
    inv_soc_cap: f64,
    fading: bool,
    miner_supply_stale: bool,
    miners_total_mw: f64,
    miner_supply_key: (f64, bool, f64),
    miner_lead_s: f64,
    turbines_cheaper: bool,
    // rng streams
    rng_outage: ChaCha8Rng,
    rng_turbine: ChaCha8Rng,
    rng_job: ChaCha8Rng,
    rng_weather: ChaCha8Rng,
    next_event: f64,
    // scratch
    tb: Vec<TurbineBounds>,
    bb: Vec<BatteryBounds>,
    dec: StepDecision,
    // accounting
    k: Kpis,
    month: u64,
    month_peak: f64,
    in_interruption: bool,
    /// When the current interruption began (s).
    spell_start_s: f64,
    /// Interruptions shorter than this are momentary (s).
    momentary_s: f64,
    miner_on_steps: u64,
    row: SeriesRow,
    row_n: u64,
    row_start: [f64; 8],
    inv_dt_h: f64,
    series: Vec<SeriesRow>,
}

fn exp_draw(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    match Exp::new(rate) {
        Ok(e) => e.sample(rng),
        Err(_) => f64::INFINITY,
    }
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

impl Simulator<RuleBased> {
    /// A simulator with the rule-based policy.
    pub fn new(sc: &Scenario, opts: &RunOptions) -> Result<Self, ScenarioError> {
        Self::with_policy(sc, opts, RuleBased)
    }
}

impl<P: DispatchPolicy> Simulator<P> {
    /// A simulator with a given policy.
    pub fn with_policy(sc: &Scenario, opts: &RunOptions, policy: P) -> Result<Self, ScenarioError> {
        let (steps, per_row) = opts.check()?;
        let dt = opts.step.s();
        let dt_h = dt / 3600.0;
        let seed = opts.seed;
        let mut rng_outage = rng(seed, 1);
        let mut rng_turbine = rng(seed, 2);
        let mut rng_job = rng(seed, 3);
        let rng_weather = rng(seed, 4);

        let mut inference = Vec::new();
        for l in &sc.inference {
            inference.push(match &l.shape {
                InferenceShape::Constant(p) => InfLoad::Const(p.mw()),
                InferenceShape::Diurnal {
                    mean,
                    amplitude,
                    peak_hour,
                } => InfLoad::Diurnal {
                    mean: mean.mw(),
                    amp: *amplitude,
                    peak_h: *peak_hour,
                },
                InferenceShape::Profile(p) => InfLoad::Series(Cursor::of(p, 0.0)),
            });
        }
        let inf_series_idx = inference
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l, InfLoad::Series(_)))
            .map(|(i, _)| i)
            .collect();

        let mut jobs = Vec::new();
        for t in &sc.training {
            let tdp = t.gpu_tdp.w();
            let fail_rate = t.failures_per_day / 86_400.0;
            let comm_w = t.comm_power_fraction * tdp;
            let floor_w = t.power_floor_fraction * tdp;
            jobs.push(Job {
                gpus: t.gpus as f64,
                tdp_w: tdp,
                compute_w: t.compute_power_fraction * tdp,
                comm_w,
                idle_w: t.idle_power_fraction * tdp,
                floored_compute_w: (t.compute_power_fraction * tdp).mx(floor_w),
                floored_comm_w: comm_w.mx(floor_w),
                floored_idle_w: (t.idle_power_fraction * tdp).mx(floor_w),
                floor_binds: floor_w
                    > comm_w
                        .mn(t.idle_power_fraction * tdp)
                        .mn(t.compute_power_fraction * tdp),
                host_w: t.host_power_per_gpu.w(),
                iter_s: t.iteration.s(),
                duty: t.compute_duty,
                ckpt_s: t.checkpoint_interval.map_or(f64::INFINITY, |c| c.s()),
                ckpt_dur_s: t.checkpoint_duration.s(),
                fail_rate_per_s: fail_rate,
                restart_s: t.restart.s(),
                value_per_gpu_h: t.value_per_gpu_hour.usd(),
                ramp_w_per_s: t.ramp_limit_per_gpu.map_or(f64::INFINITY, |r| r.w_per_s()),
                state: JobState::Running,
                phase_s: 0.0,
                work_s: 0.0,
                gpu_w: comm_w.mx(floor_w),
                next_fail_t: exp_draw(&mut rng_job, fail_rate),
            });
        }

        let f = &sc.facility;
        let temperature = match &f.temperature {
            None => Analytic::Fixed(15.0),
            Some(Temperature::Sinusoid {
                mean_c,
                annual_amplitude_c,
                daily_amplitude_c,
            }) => Analytic::Other((*mean_c, *annual_amplitude_c, *daily_amplitude_c)),
            Some(Temperature::Profile(p)) => Analytic::Series(Cursor::of(p, 15.0)),
        };

        let (has_grid, grid_cap, export_cap, export_frac, grid_ramp, peak_shave, dc) =
            match &sc.grid {
                Some(g) => (
                    true,
                    g.import_cap.mw(),
                    g.export_cap.mw(),
                    g.export_price_fraction,
                    g.ramp_limit.map_or(f64::INFINITY, |r| r.mw_per_s()),
                    g.peak_shave.map_or(f64::INFINITY, |p| p.mw()),
                    g.demand_charge.usd_per_kw_month(),
                ),
                None => (false, 0.0, 0.0, 0.0, f64::INFINITY, f64::INFINITY, 0.0),
            };
        let tariff = match sc.grid.as_ref().map(|g| &g.tariff) {
            None => Analytic::Fixed(0.0),
            Some(Tariff::Flat(p)) => Analytic::Fixed(p.usd_per_mwh()),
            Some(Tariff::TimeOfUse {
                off_peak,
                peak,
                start_hour,
                end_hour,
            }) => Analytic::Other((
                off_peak.usd_per_mwh(),
                peak.usd_per_mwh(),
                *start_hour,
                *end_hour,
            )),
            Some(Tariff::Profile(p)) => Analytic::Series(Cursor::of(p, 0.0)),
        };
        let carbon = match sc.grid.as_ref().map(|g| &g.carbon) {
            None => Analytic::Fixed(0.0),
            Some(Carbon::Flat(c)) => Analytic::Fixed(c.g_per_kwh()),
            Some(Carbon::Profile(p)) => Analytic::Series(Cursor::of(p, 0.0)),
        };
        let (outage_rate, mean_outage, mut windows) = match &sc.grid {
            Some(g) => {
                let mut w: Vec<(f64, f64, Option<f64>)> = g
                    .outages
                    .iter()
                    .chain(g.demand_response.iter())
                    .map(|w| {
                        (
                            w.start.s(),
                            w.start.s() + w.duration.s(),
                            w.import_cap.map(|c| c.mw()),
                        )
                    })
                    .collect();
                w.sort_by(|a, b| a.0.total_cmp(&b.0));
                (
                    g.outages_per_year / wattage_units::SECONDS_PER_YEAR,
                    g.mean_outage.s(),
                    w,
                )
            }
            None => (0.0, 1.0, Vec::new()),
        };
        windows.shrink_to_fit();

        let mut groups = Vec::new();
        for g in &sc.turbines {
            let fail = g.mttf().map_or(0.0, |m| 1.0 / m.s());
            groups.push(Group {
                count: g.count,
                unit_mw: g.unit.mw(),
                min_frac: g.min_stable_fraction,
                ramp_mw_s: g.ramp.mw_per_s(),
                start_s: g.start_time.s(),
                start_cost: g.start_cost.usd(),
                cost_mwh: g.marginal_cost().usd_per_mwh(),
                fuel_mwh: g.heat_rate.fuel_cost(g.fuel_price).usd_per_mwh(),
                om_mwh: g.variable_om.usd_per_mwh(),
                co2_t_per_mwh: g.co2_per_mwh.g_per_kwh() / 1000.0,
                fail_rate_per_s: fail,
                mttr_s: g.mttr.s(),
                n_on: 0,
                n_failed: 0,
                starting: Vec::with_capacity(g.count as usize),
                repairs: Vec::with_capacity(g.count as usize),
                out_mw: 0.0,
                next_fail_t: f64::INFINITY,
                surplus_since: f64::NAN,
                pmax: 0.0,
                pmin: 0.0,
                ramp_step: 0.0,
                share: 0.0,
                out_sum: 0.0,
            });
        }
        let mut group_order: Vec<usize> = (0..groups.len()).collect();
        group_order.sort_by(|a, b| groups[*a].cost_mwh.total_cmp(&groups[*b].cost_mwh));
        // Units needed at time zero are online from the start (a warm start), at the load
        // they will see, so the first hour is not an artefact.

        let solar = sc
            .solar
            .iter()
            .map(|s| {
                let src = match &s.source {
                    SolarSource::ClearSky {
                        latitude_deg,
                        weather_noise,
                    } => Analytic::Other((*latitude_deg, *weather_noise)),
                    SolarSource::Profile(p) => Analytic::Series(Cursor::of(p, 0.0)),
                };
                (s.nameplate.mw(), s.performance_ratio, src)
            })
            .collect::<Vec<_>>();
        let solar_weather = vec![1.0; solar.len()];

        let bats = sc
            .batteries
            .iter()
            .map(|b| Bat {
                p_mw: b.power.mw(),
                e0_mwh: b.energy.mwh(),
                e_mwh: b.energy.mwh(),
                eta_c: b.charge_efficiency,
                eta_d: b.discharge_efficiency,
                soc_min: b.soc_min,
                soc_max: b.soc_max,
                soc_target: b.soc_target,
                fade: b.fade_per_equivalent_cycle,
                soc_mwh: b.soc_initial * b.energy.mwh(),
                charge_below: b
                    .charge_below
                    .map_or(f64::NEG_INFINITY, |p| p.usd_per_mwh()),
                discharge_above: b.discharge_above.map_or(f64::INFINITY, |p| p.usd_per_mwh()),
                dis_sum: 0.0,
                chg_sum: 0.0,
                emin: 0.0,
                emax: 0.0,
                et: 0.0,
                // Restore the target over about 15 minutes, not in one step, so restoring
                // does not itself make swings.
                k_dis: b.discharge_efficiency / dt_h,
                k_chg: 1.0 / (b.charge_efficiency * dt_h),
                k_dis_restore: b.discharge_efficiency / dt_h.max(0.25),
                k_chg_restore: 1.0 / (b.charge_efficiency * dt_h.max(0.25)),
                drawn_per_mw: dt_h / b.discharge_efficiency,
            })
            .map(|mut b| {
                b.refresh_limits();
                b
            })
            .collect::<Vec<_>>();
        let mut miners = sc
            .miners
            .iter()
            .map(|m| {
                let th_per_s_per_mw = 1e6 / m.efficiency.j_per_th();
                Miner {
                    p_mw: m.power.mw(),
                    rate_mw_s: m.power.mw() / m.response.s(),
                    break_even: m.break_even().usd_per_mwh(),
                    usd_per_mwh_revenue: th_per_s_per_mw * m.hashprice.usd_per_th_day() / 24.0,
                    usd_per_mwh_other: m.other_cost.usd_per_mwh(),
                    load_mw: 0.0,
                    lo: 0.0,
                    hi: 0.0,
                    mw_sum: 0.0,
                    cheap_mw: 0.0,
                    cheap_ramp_mw_s: 0.0,
                }
            })
            .collect::<Vec<_>>();
        miners.sort_by(|a, b| b.break_even.total_cmp(&a.break_even));
        let miner_lead_s = sc.miners.iter().map(|m| m.response.s()).fold(0.0, f64::max);

        let next_random_outage = exp_draw(&mut rng_outage, outage_rate);
        let _ = &mut rng_turbine;
        let ng = groups.len();
        let nb = bats.len();
        let turbines_cheaper = match &tariff {
            Analytic::Fixed(p) => groups.iter().any(|g| g.cost_mwh < *p) || !has_grid,
            Analytic::Other((off, _, _, _)) => {
                groups.iter().any(|g| g.cost_mwh < *off) || !has_grid
            }
            Analytic::Series(_) => !has_grid,
        };

        let tb = groups
            .iter()
            .map(|g| TurbineBounds {
                cost_usd_per_mwh: g.cost_mwh,
                ..Default::default()
            })
            .collect();
        let bb = bats
            .iter()
            .map(|b| BatteryBounds {
                charge_below: b.charge_below,
                discharge_above: b.discharge_above,
                ..Default::default()
            })
            .collect();
        let mut s = Self {
            policy,
            dt,
            dt_h,
            steps,
            step: 0,
            per_row,
            slow_every: ((SLOW_TICK_S / dt).round() as u64).max(1),
            slow_count: 0,
            keep_series: opts.keep_series,
            start_day: sc.simulation.start_day_of_year,
            inference,
            inf_slow: 0.0,
            inf_series_idx,
            jobs,
            pue: f.pue,
            pue_per_degc: f.pue_per_degc,
            pue_threshold: f.pue_threshold_c,
            temperature,
            pue_now: f.pue,
            wue_l_per_kwh: f.wue.l_per_kwh(),
            recycled: f.recycled_water_share,
            has_grid,
            grid_cap,
            grid_export_cap: export_cap,
            export_frac,
            grid_ramp,
            peak_shave,
            demand_charge_usd_per_kw: dc,
            tariff,
            carbon,
            price_now: 0.0,
            carbon_now: 0.0,
            outage_rate_per_s: outage_rate,
            mean_outage_s: mean_outage,
            windows,
            first_window: 0,
            grid_out_until: f64::NEG_INFINITY,
            next_random_outage,
            grid_mw: 0.0,
            groups,
            group_order,
            solar,
            solar_weather,
            solar_now: 0.0,
            bats,
            miners,
            reserve_mw: sc.dispatch.reserve.mw(),
            decommit_s: sc.dispatch.decommit_delay.s(),
            turbine_ema: 0.0,
            need_peak: 0.0,
            firm_peak: 0.0,
            miner_plan_mw: 0.0,
            cap_online: 0.0,
            next_month_t: MONTH_S,
            inv_dt: 1.0 / dt,
            ema_gain: if sc.dispatch.turbine_smoothing.s() > 0.0 {
                (dt / sc.dispatch.turbine_smoothing.s()).min(1.0)
            } else {
                1.0
            },
            peak_decay: (dt / sc.dispatch.decommit_delay.s().max(dt)).min(1.0),
            gpu_s: 0.0,
            grid_co2_kg: 0.0,
            soc_cap: 0.0,
            inv_soc_cap: 0.0,
            fading: sc
                .batteries
                .iter()
                .any(|b| b.fade_per_equivalent_cycle > 0.0),
            miner_supply_stale: true,
            miners_total_mw: sc.miners.iter().map(|m| m.power.mw()).sum(),
            miner_supply_key: (0.0, false, 0.0),
            miner_lead_s,
            turbines_cheaper,
            rng_outage,
            rng_turbine,
            rng_job,
            rng_weather,
            next_event: 0.0,
            tb,
            bb,
            dec: StepDecision {
                turbines_mw: vec![0.0; ng],
                batteries_mw: vec![0.0; nb],
                ..Default::default()
            },
            k: Kpis {
                seed,
                step_s: dt,
                steps,
                soc_range: [f64::INFINITY, f64::NEG_INFINITY],
                ..Default::default()
            },
            month: 0,
            month_peak: 0.0,
            in_interruption: false,
            spell_start_s: 0.0,
            momentary_s: sc.reliability.interruption_min.s(),
            miner_on_steps: 0,
            row: SeriesRow::default(),
            row_n: 0,
            row_start: [0.0; 8],
            inv_dt_h: 1.0 / dt_h,
            series: Vec::new(),
        };
        if s.keep_series {
            s.series.reserve(steps.div_ceil(per_row) as usize);
        }
        s.refresh_soc_cap();
        s.warm_start();
        Ok(s)
    }

    /// Commits turbines for the load at time zero, online and loaded, so that a run does not
    /// open with a start-up transient that no real site would have.
    fn warm_start(&mut self) {
        self.slow_tick(0.0);
        let it = self.it_load(0.0, false);
        let need = it.0 * self.pue_now;
        self.need_peak = need;
        self.firm_peak = need;
        let grid_avail = if self.has_grid {
            self.grid_cap.mn(self.peak_shave)
        } else {
            0.0
        };
        let mut rem = if self.turbines_cheaper {
            need
        } else {
            (need - grid_avail).mx(0.0)
        };
        rem += self.reserve_gap(need, 0.0);
        let mut served = 0.0;
        for gi in self.group_order.clone() {
            let g = &mut self.groups[gi];
            let n = ((rem / g.unit_mw).ceil().mx(0.0) as u32).min(g.count);
            g.n_on = n;
            let out = (rem.mn(n as f64 * g.unit_mw)).mx(n as f64 * g.unit_mw * g.min_frac);
            g.out_mw = out.mn(need - served).mx(n as f64 * g.unit_mw * g.min_frac);
            served += g.out_mw;
            rem -= n as f64 * g.unit_mw;
            g.next_fail_t = exp_draw(&mut self.rng_turbine, g.fail_rate_per_s * n as f64);
        }
        self.turbine_ema = served;
        self.grid_mw = if self.has_grid {
            (need - served).cl(0.0, self.grid_cap)
        } else {
            0.0
        };
        for m in &mut self.miners {
            m.load_mw = 0.0;
        }
        self.refresh_caps();
        self.refresh_next_event();
    }

    /// Caches the batteries' usable energy (it fades with throughput) and its inverse.
    fn refresh_soc_cap(&mut self) {
        self.soc_cap = self.bats.iter().map(|b| b.e_mwh).sum();
        self.inv_soc_cap = if self.soc_cap > 0.0 {
            1.0 / self.soc_cap
        } else {
            0.0
        };
    }

    /// Caches each turbine group's limits from its number of units online; called whenever
    /// that number changes (warm start, events, commitment).
    fn refresh_caps(&mut self) {
        let dt = self.dt;
        let mut total = 0.0;
        for g in &mut self.groups {
            g.pmax = g.n_on as f64 * g.unit_mw;
            g.pmin = g.pmax * g.min_frac;
            g.ramp_step = g.n_on as f64 * g.ramp_mw_s * dt;
            total += g.pmax;
        }
        for g in &mut self.groups {
            g.share = if total > 0.0 { g.pmax / total } else { 0.0 };
        }
        self.cap_online = total;
        self.miner_supply_stale = true;
    }

    /// The miners' plan: how much they may draw from sources cheaper than their break-even
    /// price, once the firm load's recent peak and the batteries' way back to their target
    /// state of charge are served. Fleets with the best break-even are served first. The plan
    /// falls at once (a trip, a price spike, a demand-response call) and rises no faster than
    /// half the ramp rate of the cheap sources, so the sources that feed the miners can follow
    /// and miners never create the swings the batteries are there to absorb.
    #[inline]
    fn update_miner_plan(
        &mut self,
        facility: f64,
        dr: bool,
        grid_ok: bool,
        grid_cap: f64,
        restore: f64,
    ) {
        let price = self.price_now;
        // The cheap capacity each fleet sees changes only with units online, the price and
        // the grid's state: recompute it then, not every step.
        // With a demand charge, grid power above this month's peak so far would set a new
        // peak for the miners: only power below it is cheap.
        let grid_room = if self.demand_charge_usd_per_kw > 0.0 {
            grid_cap.mn(self.peak_shave).mn(self.month_peak)
        } else {
            grid_cap.mn(self.peak_shave)
        };
        let key = (price, grid_ok, grid_room);
        if self.miner_supply_stale || key != self.miner_supply_key {
            for m in &mut self.miners {
                let be = m.break_even;
                let mut supply = 0.0;
                let mut rate = 0.0;
                for g in &self.groups {
                    if g.cost_mwh < be {
                        supply += g.pmax;
                        rate += g.n_on as f64 * g.ramp_mw_s;
                    }
                }
                if grid_ok && price < be && grid_room > 0.0 {
                    supply += grid_room;
                    rate += self.grid_ramp;
                }
                m.cheap_mw = supply;
                m.cheap_ramp_mw_s = rate;
            }
            self.miner_supply_stale = false;
            self.miner_supply_key = key;
        }
        let firm = self.firm_peak.mx(facility) + restore;
        let mut plan = 0.0;
        let mut up_rate = 0.0;
        if !dr {
            for m in &self.miners {
                let x = (m.cheap_mw - firm - plan).cl(0.0, m.p_mw);
                if x > 0.0 {
                    up_rate = f64::max(up_rate, m.cheap_ramp_mw_s);
                }
                plan += x;
            }
        }
        self.miner_plan_mw = if plan <= self.miner_plan_mw {
            plan
        } else {
            (self.miner_plan_mw + 0.5 * up_rate * self.dt).mn(plan)
        };
    }

    fn reserve_gap(&self, need: f64, turb_cap: f64) -> f64 {
        let grid_head = if self.has_grid && !self.grid_out(0.0) {
            (self.grid_cap - (need - turb_cap).mx(0.0)).mx(0.0)
        } else {
            0.0
        };
        let bat: f64 = self
            .bats
            .iter()
            .map(|b| {
                if b.soc_mwh > (b.soc_min + 0.05) * b.e_mwh {
                    b.p_mw
                } else {
                    0.0
                }
            })
            .sum();
        let miners: f64 = self.miners.iter().map(|m| m.load_mw).sum();
        (self.reserve_mw - grid_head - bat - miners).mx(0.0)
    }

    fn grid_out(&self, t: f64) -> bool {
        t < self.grid_out_until
    }

    /// Total number of steps.
    pub fn total_steps(&self) -> u64 {
        self.steps
    }

    /// Steps done so far.
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Key figures accumulated so far: counters and running totals. Turbine and battery
    /// energy, fuel, O&M, CO2 from turbines, water and derived ratios are folded in by
    /// [`Simulator::finish`].
    pub fn kpis_so_far(&self) -> &Kpis {
        &self.k
    }

    /// True when every step has run.
    pub fn is_done(&self) -> bool {
        self.step >= self.steps
    }

    fn slow_tick(&mut self, t: f64) {
        let hour = profile::hour_of_day(t);
        let day = self.start_day + t / 86_400.0;
        // Inference analytic shapes.
        let mut inf = 0.0;
        for l in &self.inference {
            match l {
                InfLoad::Const(p) => inf += p,
                InfLoad::Diurnal { mean, amp, peak_h } => {
                    inf +=
                        mean * (1.0 + amp * ((hour - peak_h) / 24.0 * std::f64::consts::TAU).cos())
                }
                InfLoad::Series(_) => {}
            }
        }
        self.inf_slow = inf;
        // Temperature -> PUE.
        let temp = match &mut self.temperature {
            Analytic::Fixed(v) => *v,
            Analytic::Series(c) => c.at(t),
            Analytic::Other((m, a, d)) => {
                profile::sinusoid_temperature(t, self.start_day, *m, *a, *d)
            }
        };
        self.pue_now = self.pue + self.pue_per_degc * (temp - self.pue_threshold).mx(0.0);
        // Price and carbon (series are read every step; see `step`).
        if let Analytic::Fixed(p) = self.tariff {
            self.price_now = p;
        } else if let Analytic::Other((off, peak, s, e)) = self.tariff {
            let in_peak = if s <= e {
                hour >= s && hour < e
            } else {
                hour >= s || hour < e
            };
            self.price_now = if in_peak { peak } else { off };
        }
        if let Analytic::Fixed(c) = self.carbon {
            self.carbon_now = c;
        }
        // Solar: a new weather draw at each midnight.
        let new_day = t == 0.0
            || (t / 86_400.0).floor() != ((t - self.dt.mx(SLOW_TICK_S)) / 86_400.0).floor();
        let mut sol = 0.0;
        for (i, (np, pr, src)) in self.solar.iter_mut().enumerate() {
            sol += match src {
                Analytic::Fixed(v) => *np * *v,
                Analytic::Series(c) => *np * c.at(t).cl(0.0, 1.0),
                Analytic::Other((lat, noise)) => {
                    if new_day {
                        self.solar_weather[i] =
                            profile::weather_factor(&mut self.rng_weather, *noise);
                    }
                    *np * *pr * self.solar_weather[i] * profile::clear_sky_factor(*lat, day, hour)
                }
            };
        }
        self.solar_now = sol;
    }

    /// IT load at `t`: (total IT MW, inference MW, training MW, dummy MW, gpu-seconds running).
    /// With `advance`, jobs due for a checkpoint pause first and their state moves on a step.
    #[inline(always)]
    fn it_load(&mut self, t: f64, advance: bool) -> (f64, f64, f64, f64, f64) {
        let mut inf = self.inf_slow;
        for &i in &self.inf_series_idx {
            if let InfLoad::Series(c) = &mut self.inference[i] {
                inf += c.at(t);
            }
        }
        let dt = self.dt;
        let inv_dt = self.inv_dt;
        let mut train_w = 0.0;
        let mut dummy_w = 0.0;
        let mut gpu_s = 0.0;
        for j in &mut self.jobs {
            // A job that has worked a checkpoint interval pauses to write one.
            if advance && j.state == JobState::Running && j.work_s >= j.ckpt_s {
                j.work_s = 0.0;
                j.state = JobState::Paused {
                    until: t + j.ckpt_dur_s,
                };
                self.next_event = self.next_event.mn(t + j.ckpt_dur_s);
            }
            // Share of this step the job is paused: a pause (checkpoint, restart) that ends
            // inside a long step leaves the job running for the rest of it.
            let paused = match j.state {
                JobState::Running => 0.0,
                JobState::Paused { until } => ((until - t) * inv_dt).cl(0.0, 1.0),
            };
            let run_dt = (1.0 - paused) * dt;
            // Natural power (no mitigation) and the power drawn with the floor: each the
            // paused share at idle plus the running share between communication and compute.
            let run = 1.0 - paused;
            let frac = if run_dt <= 0.0 {
                0.0
            } else if run_dt < j.iter_s {
                // Compute-phase share of the running part of the step. Fast path without
                // `floor`: the span covers at most two iterations.
                let (ph, dd, tt) = (j.phase_s, j.duty * j.iter_s, j.iter_s);
                let end = ph + run_dt;
                let c1 = (end.mn(dd) - ph).mx(0.0);
                let c2 = (end.mn(tt + dd) - tt).mx(0.0);
                (c1 + c2) / run_dt
            } else {
                (j.compute_time(j.phase_s + run_dt) - j.compute_time(j.phase_s)) / run_dt
            };
            let natural = paused * j.idle_w + run * (j.comm_w + (j.compute_w - j.comm_w) * frac);
            let target = if j.floor_binds {
                let (hi, lo) = (j.floored_compute_w, j.floored_comm_w);
                paused * j.floored_idle_w + run * (lo + (hi - lo) * frac)
            } else {
                natural
            };
            let p = if j.ramp_w_per_s.is_finite() {
                let r = j.ramp_w_per_s * dt;
                target.cl(j.gpu_w - r, j.gpu_w + r).cl(0.0, j.tdp_w)
            } else {
                target
            };
            if advance {
                j.gpu_w = p;
                if run_dt > 0.0 {
                    j.phase_s += run_dt;
                    if j.phase_s >= j.iter_s {
                        j.phase_s -= j.iter_s;
                        if j.phase_s >= j.iter_s {
                            j.phase_s %= j.iter_s;
                        }
                    }
                    j.work_s += run_dt;
                    gpu_s += j.gpus * run_dt;
                }
            }
            train_w += j.gpus * (p + j.host_w);
            dummy_w += j.gpus * (p - natural).mx(0.0);
        }
        let train = train_w * 1e-6;
        (inf + train, inf, train, dummy_w * 1e-6, gpu_s)
    }

    fn refresh_next_event(&mut self) {
        let now = self.step as f64 * self.dt;
        let mut n = self.next_random_outage;
        if self.grid_out_until > now {
            n = n.mn(self.grid_out_until);
        }
        for g in &self.groups {
            n = n.mn(g.next_fail_t);
            for &r in g.starting.iter().chain(g.repairs.iter()) {
                n = n.mn(r);
            }
        }
        for j in &self.jobs {
            n = n.mn(j.next_fail_t);
            if let JobState::Paused { until } = j.state {
                n = n.mn(until);
            }
        }
        self.next_event = n;
    }

    fn handle_events(&mut self, t: f64) {
        // Grid: random outages.
        while self.next_random_outage <= t {
            let len = exp_draw(&mut self.rng_outage, 1.0 / self.mean_outage_s);
            if !self.grid_out(t) {
                self.k.grid_outages += 1;
            }
            self.grid_out_until = self.grid_out_until.mx(self.next_random_outage + len);
            self.next_random_outage += exp_draw(&mut self.rng_outage, self.outage_rate_per_s);
        }
        // Turbines: starts done, repairs done, failures.
        for g in &mut self.groups {
            let mut i = 0;
            while i < g.starting.len() {
                if g.starting[i] <= t {
                    g.starting.swap_remove(i);
                    if g.n_on + g.n_failed < g.count {
                        g.n_on += 1;
                        g.next_fail_t =
                            t + exp_draw(&mut self.rng_turbine, g.fail_rate_per_s * g.n_on as f64);
                    }
                } else {
                    i += 1;
                }
            }
            let mut i = 0;
            while i < g.repairs.len() {
                if g.repairs[i] <= t {
                    g.repairs.swap_remove(i);
                    g.n_failed -= 1;
                } else {
                    i += 1;
                }
            }
            while g.next_fail_t <= t && g.n_on > 0 {
                g.n_on -= 1;
                g.n_failed += 1;
                self.k.turbine_trips += 1;
                g.repairs
                    .push(t + exp_draw(&mut self.rng_turbine, 1.0 / g.mttr_s));
                g.out_mw = g.out_mw.mn(g.n_on as f64 * g.unit_mw);
                g.next_fail_t =
                    t + exp_draw(&mut self.rng_turbine, g.fail_rate_per_s * g.n_on as f64);
            }
            if g.n_on == 0 {
                g.next_fail_t = f64::INFINITY;
            }
        }
        // Jobs: failures and end of pauses.
        for j in &mut self.jobs {
            if let JobState::Paused { until } = j.state
                && until <= t
            {
                j.state = JobState::Running;
            }
            if j.next_fail_t <= t {
                if j.state == JobState::Running {
                    self.k.job_failures += 1;
                    // The failure happened at `next_fail_t`, inside the last step.
                    let back = (t - j.next_fail_t).mx(0.0);
                    let lost_h = j.gpus * (j.since_checkpoint(back) + j.restart_s) / 3600.0;
                    self.k.cost_usd_by_component.job_failures += lost_h * j.value_per_gpu_h;
                    j.work_s = 0.0;
                    j.state = JobState::Paused {
                        until: t + j.restart_s,
                    };
                }
                j.next_fail_t = t + exp_draw(&mut self.rng_job, j.fail_rate_per_s);
            }
        }
        self.refresh_caps();
        self.refresh_next_event();
    }

    /// Runs up to `n` more steps; returns true when the run is complete.
    pub fn run_steps(&mut self, n: u64) -> bool {
        let end = (self.step + n).min(self.steps);
        while self.step < end {
            self.one_step();
        }
        self.is_done()
    }

    #[inline]
    fn one_step(&mut self) {
        let dt = self.dt;
        let dt_h = self.dt_h;
        // Steps are counted in u64 but stay far below 2^63, where the signed conversion
        // (one instruction on x86-64) is exact.
        let t = self.step as i64 as f64 * dt;
        let slow = self.slow_count == 0;
        if slow {
            self.slow_tick(t);
            self.slow_count = self.slow_every;
        }
        self.slow_count -= 1;
        let events = t >= self.next_event;
        if events {
            self.handle_events(t);
        }
        if let Analytic::Series(c) = &mut self.tariff {
            self.price_now = c.at(t);
        }
        if let Analytic::Series(c) = &mut self.carbon {
            self.carbon_now = c.at(t);
        }
        let (it, inf, train, dummy, gpu_s) = self.it_load(t, true);
        let facility = it * self.pue_now;

        // Grid state.
        let mut cap = self.grid_cap;
        let mut dr = false;
        let mut scheduled_out = false;
        // Demand-response calls are scheduled: miners start to curtail one response time
        // ahead, so they are off when the import cap begins.
        let lead = self.miner_lead_s;
        while self
            .windows
            .get(self.first_window)
            .is_some_and(|w| w.1 <= t)
        {
            self.first_window += 1;
        }
        for w in &self.windows[self.first_window..] {
            if w.0 > t + lead {
                break;
            }
            if t < w.1 {
                match w.2 {
                    Some(c) => {
                        dr = true;
                        if w.0 <= t {
                            cap = cap.mn(c);
                        }
                    }
                    None => scheduled_out |= w.0 <= t,
                }
            }
        }
        let out = !self.has_grid || scheduled_out || self.grid_out(t);
        if out {
            cap = 0.0;
        }
        let gr = self.grid_ramp * dt;
        let prev_g = self.grid_mw;
        let grid_b = GridBounds {
            available: !out,
            lo_mw: (prev_g - gr).cl(0.0, cap),
            hi_ramp_mw: (prev_g.mx(0.0) + gr).mn(cap),
            soft_cap_mw: self.peak_shave.mn(cap),
            cap_mw: cap,
            export_cap_mw: if out { 0.0 } else { self.grid_export_cap },
            price_usd_per_mwh: self.price_now,
        };

        // Miners' bounds and plan.
        let (mut m_lo, mut m_hi, mut m_be) = (0.0, 0.0, f64::NEG_INFINITY);
        for m in &mut self.miners {
            let r = m.rate_mw_s * dt;
            let lo = (m.load_mw - r).mx(0.0);
            let hi = if dr { lo } else { (m.load_mw + r).mn(m.p_mw) };
            (m.lo, m.hi) = (lo, hi);
            m_lo += lo;
            m_hi += hi;
            if hi > lo {
                m_be = m_be.mx(m.break_even);
            }
        }

        // Battery bounds, and the state-of-charge gaps that steer turbines and miners.
        let mut soc_bias = 0.0;
        let mut restore = 0.0;
        let mut bat_dis_max = 0.0;
        for (b, bb) in self.bats.iter().zip(&mut self.bb) {
            let gap = b.et - b.soc_mwh;
            // Turbines steer the batteries back to target over about 15 minutes.
            soc_bias += gap * 4.0; // over a quarter of an hour
            restore += gap.mx(0.0) * b.k_chg_restore;
            let discharge_max_mw = ((b.soc_mwh - b.emin).mx(0.0) * b.k_dis).mn(b.p_mw);
            bat_dis_max += discharge_max_mw;
            // (The price thresholds never change; they are set once in `with_policy`.)
            bb.discharge_max_mw = discharge_max_mw;
            bb.charge_max_mw = ((b.emax - b.soc_mwh).mx(0.0) * b.k_chg).mn(b.p_mw);
            bb.to_target_mw = (gap.mx(0.0) * b.k_chg_restore).mn(b.p_mw);
            bb.above_target_mw = ((-gap).mx(0.0) * b.k_dis_restore).mn(b.p_mw);
        }
        if !self.miners.is_empty() {
            self.update_miner_plan(facility, dr, !out, cap, restore);
        }
        // Turbine bounds and setpoints: the filtered need plus the state-of-charge feedback.
        // When turbines are the cheap source, the miners' plan (already limited to half their
        // ramp rate) is added straight to the setpoint rather than through the filter, so
        // the turbines follow it without lag and no other source has to fill in.
        let miners_ff = if self.turbines_cheaper {
            self.miner_plan_mw
        } else {
            0.0
        };
        let turbine_target = (self.turbine_ema + miners_ff + soc_bias).mx(0.0);
        let turb_cap_online = self.cap_online;
        for (g, tb) in self.groups.iter().zip(&mut self.tb) {
            let (pmax, pmin, r, prev) = (g.pmax, g.pmin, g.ramp_step, g.out_mw);
            let lo = if prev >= pmin {
                (prev - r).mx(pmin)
            } else {
                (prev + r).mn(pmin)
            };
            let hi = (prev + r).mn(pmax).mx(lo);
            // (The marginal cost is set once in `with_policy`.)
            tb.lo_mw = lo;
            tb.hi_mw = hi;
            tb.target_mw = turbine_target * g.share;
        }
        let bounds = StepBounds {
            t_s: t,
            dt_s: dt,
            firm_mw: facility,
            miner_lo_mw: m_lo,
            miner_hi_mw: m_hi,
            miner_break_even: m_be,
            miner_plan_mw: self.miner_plan_mw,
            solar_mw: self.solar_now,
            grid: grid_b,
            turbines: &self.tb,
            batteries: &self.bb,
        };
        self.policy.dispatch(&bounds, &mut self.dec);

        // ---- Enforce physical limits and account.
        let d = &mut self.dec;
        d.solar_mw = d.solar_mw.cl(0.0, self.solar_now);
        d.miners_mw = d.miners_mw.cl(m_lo, m_hi.mx(m_lo));
        d.grid_mw = d.grid_mw.cl(-grid_b.export_cap_mw, cap);
        let mut turb = 0.0;
        let mut ramp_viol = false;
        for ((g, tb), out) in self.groups.iter_mut().zip(&self.tb).zip(&mut d.turbines_mw) {
            let x = out.cl(0.0, tb.hi_mw);
            *out = x;
            if x < tb.lo_mw - EPS_MW {
                if x < g.pmin - EPS_MW {
                    self.k.min_stable_violations += 1;
                }
                if x < g.out_mw - g.ramp_step - EPS_MW {
                    ramp_viol = true;
                }
            }
            g.out_mw = x;
            g.out_sum += x;
            turb += x;
        }
        if grid_b.available && (d.grid_mw.mx(0.0) - prev_g.mx(0.0)).abs() > gr + EPS_MW {
            ramp_viol = true;
            self.k.grid_ramp_violations += 1;
        }
        if ramp_viol {
            self.k.ramp_violations += 1;
        }
        let mut bat_net = 0.0;
        let mut soc_e = 0.0;
        let soc_cap = self.soc_cap;
        for ((b, bb), out) in self.bats.iter_mut().zip(&self.bb).zip(&mut d.batteries_mw) {
            let x = out.cl(-bb.charge_max_mw, bb.discharge_max_mw);
            *out = x;
            // Energy, losses and throughput follow from these sums (see `finish`).
            if x >= 0.0 {
                b.soc_mwh -= x * b.drawn_per_mw;
                b.dis_sum += x;
            } else {
                b.soc_mwh -= x * dt_h * b.eta_c;
                b.chg_sum -= x;
            }
            b.soc_mwh = b.soc_mwh.cl(b.emin, b.emax);
            bat_net += x;
            soc_e += b.soc_mwh;
        }
        // Unserved is whatever the policy left uncovered, recomputed from the clamped values.
        let demand = facility + d.miners_mw;
        let supply = d.solar_mw + d.grid_mw + turb + bat_net;
        let short = demand - supply;
        d.unserved_mw = if short > EPS_MW { short } else { 0.0 };
        let err = (supply + d.unserved_mw - demand).abs();
        if err > self.k.max_balance_error_mw {
            self.k.max_balance_error_mw = err;
        }

        let (solar_u, miners_u, grid_u, unserved_u) =
            (d.solar_mw, d.miners_mw, d.grid_mw, d.unserved_mw);

        // Turbine setpoint filter and commitment.
        let g_econ = if self.turbines_cheaper {
            grid_u.mx(0.0)
        } else {
            0.0
        };
        let ff = if self.turbines_cheaper { miners_u } else { 0.0 };
        let ideal = turb + bat_net + unserved_u + g_econ - ff;
        self.turbine_ema += (ideal.mn(turb_cap_online) - self.turbine_ema) * self.ema_gain;
        let need = facility + miners_u;
        let b_decay = self.peak_decay;
        self.need_peak = need.mx(self.need_peak + (need - self.need_peak) * b_decay);
        self.firm_peak = facility.mx(self.firm_peak + (facility - self.firm_peak) * b_decay);
        // Commitment is reviewed every slow tick (units take minutes to start), at once after
        // an event (a trip, a unit online) or when the load exceeds what is online.
        if slow || events || need > turb_cap_online + cap {
            self.commit(t, cap, turb_cap_online, dr);
        }

        // Grid accounting.
        let g = grid_u;
        self.grid_mw = g;
        if g >= 0.0 {
            let e = g * dt_h;
            self.k.energy_mwh_by_source.grid += e;
            self.k.cost_usd_by_component.grid_energy += e * self.price_now;
            self.grid_co2_kg += e * self.carbon_now;
            if g > self.k.peak_grid_import_mw {
                self.k.peak_grid_import_mw = g;
            }
            if g > self.month_peak {
                self.month_peak = g;
            }
        } else {
            let e = -g * dt_h;
            self.k.energy_mwh_by_use.export += e;
            self.k.cost_usd_by_component.export_revenue -= e * self.price_now * self.export_frac;
        }
        if t >= self.next_month_t {
            let month = (t / MONTH_S) as u64;
            self.next_month_t = (month + 1) as f64 * MONTH_S;
            self.k.cost_usd_by_component.demand_charge +=
                self.month_peak * 1000.0 * self.demand_charge_usd_per_kw;
            self.month_peak = 0.0;
            self.month = month;
        }

        // Loads, water, miners.
        // Water and the facility's energy follow from these at the end (see `finish`).
        self.k.energy_mwh_by_use.inference_it += inf * dt_h;
        self.k.energy_mwh_by_use.training_it += train * dt_h;
        self.k.energy_mwh_by_use.training_dummy_work += dummy * dt_h;
        self.k.energy_mwh_by_use.facility_overhead += (facility - it) * dt_h;
        if facility > self.k.peak_facility_mw {
            self.k.peak_facility_mw = facility;
        }
        self.k.energy_mwh_by_source.solar += solar_u * dt_h;
        self.k.solar_curtailed_mwh += (self.solar_now - solar_u) * dt_h;
        self.gpu_s += gpu_s;
        if !self.miners.is_empty() {
            // Fleets with the best break-even first; revenue and energy follow from the sums.
            let mut mrem = miners_u;
            for m in &mut self.miners {
                let x = m.lo + (mrem - m.lo).cl(0.0, m.hi - m.lo);
                mrem -= x;
                m.load_mw = x;
                m.mw_sum += x;
            }
            if miners_u > 0.01 * self.miners_total_mw {
                self.miner_on_steps += 1;
            }
        }

        // Reserve.
        let reserve = (turb_cap_online - turb)
            + if grid_b.available {
                (cap - g).mx(0.0)
            } else {
                0.0
            }
            + bat_dis_max
            + miners_u;
        if reserve + EPS_MW < self.reserve_mw {
            self.k.reserve_shortfall_s += dt;
        }

        // Interruptions.
        if unserved_u > 0.0 {
            let e = unserved_u * dt_h;
            self.k.energy_mwh_by_source.unserved += e;
            if !self.in_interruption {
                self.in_interruption = true;
                self.spell_start_s = t;
                self.k.interruptions += 1;
                let mut lost_h = 0.0;
                for j in &mut self.jobs {
                    if j.state == JobState::Running {
                        let h = j.gpus * (j.since_checkpoint(0.0) + j.restart_s) / 3600.0;
                        lost_h += h;
                        self.k.cost_usd_by_component.interruptions += h * j.value_per_gpu_h;
                        j.work_s = 0.0;
                    }
                    // The job restarts once power is back; keep it paused meanwhile.
                    j.state = JobState::Paused {
                        until: t + dt + j.restart_s,
                    };
                }
                self.k.gpu_hours_lost += lost_h;
                if self.k.interruption_list.len() < 1000 {
                    self.k.interruption_list.push(Interruption {
                        start_s: t,
                        duration_s: 0.0,
                        unserved_mwh: 0.0,
                        gpu_hours_lost: lost_h,
                    });
                }
                self.refresh_next_event();
            } else {
                for j in &mut self.jobs {
                    j.state = JobState::Paused {
                        until: t + dt + j.restart_s,
                    };
                }
                self.refresh_next_event();
            }
            self.k.interruption_s += dt;
            let listed = self.k.interruptions as usize == self.k.interruption_list.len();
            if let Some(last) = self.k.interruption_list.last_mut()
                && listed
            {
                last.duration_s += dt;
                last.unserved_mwh += e;
            }
        } else if self.in_interruption {
            self.end_interruption(t);
        }

        // SoC range.
        let soc = soc_e * self.inv_soc_cap;
        if soc_cap > 0.0 {
            if soc < self.k.soc_range[0] {
                self.k.soc_range[0] = soc;
            }
            if soc > self.k.soc_range[1] {
                self.k.soc_range[1] = soc;
            }
        }

        // Series row.
        if self.keep_series {
            // Power averages come from the running totals at flush time (`flush_row`).
            let r = &mut self.row;
            if self.row_n == 0 {
                r.time_s = t;
            }
            r.price_usd_per_mwh += self.price_now;
            r.facility_peak_mw = r.facility_peak_mw.mx(facility);
            r.soc = soc;
            r.soc_mwh = soc_e;
            self.row_n += 1;
            if self.row_n == self.per_row {
                self.flush_row();
            }
        }

        // Degradation once per slow tick.
        if slow && self.fading {
            for b in &mut self.bats {
                if b.fade > 0.0 {
                    let cycles = b.dis_sum * self.dt_h / b.e0_mwh;
                    b.e_mwh = (b.e0_mwh * (1.0 - b.fade * cycles)).mx(0.0);
                    b.refresh_limits();
                    b.soc_mwh = b.soc_mwh.cl(b.emin, b.emax);
                }
            }
            self.refresh_soc_cap();
        }
        self.step += 1;
    }

    /// Closes the interruption under way at `t`, counting it as momentary when short.
    fn end_interruption(&mut self, t: f64) {
        self.in_interruption = false;
        if t - self.spell_start_s < self.momentary_s {
            self.k.momentary_interruptions += 1;
        }
    }

    /// Running totals the series rows are differences of, as power sums (MW x steps):
    /// IT, facility, miners, grid (net), turbines, solar, battery (net), unserved.
    fn row_totals(&self) -> [f64; 8] {
        let u = &self.k.energy_mwh_by_use;
        let src = &self.k.energy_mwh_by_source;
        let per_h = self.inv_dt_h;
        let it = (u.inference_it + u.training_it) * per_h;
        [
            it,
            it + u.facility_overhead * per_h,
            self.miners.iter().map(|m| m.mw_sum).sum(),
            (src.grid - u.export) * per_h,
            self.groups.iter().map(|g| g.out_sum).sum(),
            src.solar * per_h,
            self.bats.iter().map(|b| b.dis_sum - b.chg_sum).sum(),
            src.unserved * per_h,
        ]
    }

    fn flush_row(&mut self) {
        let n = self.row_n as f64;
        let now = self.row_totals();
        let d: [f64; 8] = std::array::from_fn(|i| (now[i] - self.row_start[i]) / n);
        let mut r = std::mem::take(&mut self.row);
        r.it_mw = d[0];
        r.facility_mw = d[1];
        r.miners_mw = d[2];
        r.grid_mw = d[3];
        r.turbines_mw = d[4];
        r.solar_mw = d[5];
        r.battery_mw = d[6];
        r.unserved_mw = d[7];
        r.price_usd_per_mwh /= n;
        self.series.push(r);
        self.row_n = 0;
        self.row_start = now;
    }

    /// Unit commitment: start units when the recent peak need plus reserve exceeds online
    /// capacity; stop one when a unit's worth of capacity has been surplus for the decommit
    /// delay. Units are committed for the miners too, except during a demand-response call
    /// (`dr`).
    fn commit(&mut self, t: f64, grid_cap: f64, cap_online: f64, dr: bool) {
        if self.groups.is_empty() {
            return;
        }
        let need = self.need_peak;
        let grid_econ = if self.turbines_cheaper {
            0.0
        } else {
            grid_cap.mn(self.peak_shave)
        };
        let mut req = (need - grid_econ).mx(0.0) + self.reserve_gap(need, cap_online);
        // Miners that would profit from a turbine's power get units of groups cheaper than
        // their break-even committed for them too (start costs are not weighed).
        let best_be = self
            .miners
            .iter()
            .map(|m| m.break_even)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut extra = if dr {
            0.0
        } else {
            let with_miners = need.mx(self.firm_peak + self.miners_total_mw);
            (with_miners - grid_econ).mx(0.0) - (need - grid_econ).mx(0.0)
        };
        for gi in 0..self.group_order.len() {
            let g = &mut self.groups[self.group_order[gi]];
            let cheap = g.cost_mwh < best_be;
            let req_g = if cheap { req + extra } else { req };
            let avail = g.count - g.n_failed;
            let want = ((req_g / g.unit_mw - 1e-9).ceil().mx(0.0) as u32).min(avail);
            let have = g.n_on + g.starting.len() as u32;
            if want > have {
                for _ in have..want {
                    g.starting.push(t + g.start_s);
                    self.k.turbine_starts += 1;
                    self.k.cost_usd_by_component.starts += g.start_cost;
                    self.next_event = self.next_event.mn(t + g.start_s);
                }
                g.surplus_since = f64::NAN;
            } else if want < g.n_on && g.starting.is_empty() {
                if g.surplus_since.is_nan() {
                    g.surplus_since = t;
                } else if t - g.surplus_since >= self.decommit_s
                    && g.out_mw <= (g.n_on - 1) as f64 * g.unit_mw
                {
                    g.n_on -= 1;
                    g.surplus_since = f64::NAN;
                    g.next_fail_t =
                        t + exp_draw(&mut self.rng_turbine, g.fail_rate_per_s * g.n_on as f64);
                    if g.n_on == 0 {
                        g.next_fail_t = f64::INFINITY;
                    }
                    self.next_event = self.next_event.mn(g.next_fail_t);
                }
            } else {
                g.surplus_since = f64::NAN;
            }
            let provided = (g.n_on + g.starting.len() as u32) as f64 * g.unit_mw;
            let for_firm = provided.mn(req);
            req -= for_firm;
            if cheap {
                extra = (extra - (provided - for_firm)).mx(0.0);
            }
        }
        self.refresh_caps();
    }

    /// Ends the run (running any remaining steps) and returns its result.
    pub fn finish(mut self) -> SimResult {
        while !self.is_done() {
            self.one_step();
        }
        if self.keep_series && self.row_n > 0 {
            self.flush_row();
        }
        let dur_s = self.steps as f64 * self.dt;
        if self.in_interruption {
            self.end_interruption(dur_s);
        }
        for b in &self.bats {
            let (dis, chg) = (b.dis_sum * self.dt_h, b.chg_sum * self.dt_h);
            self.k.energy_mwh_by_source.battery_discharge += dis;
            self.k.energy_mwh_by_use.battery_charge += chg;
            self.k.energy_mwh_by_use.battery_losses += dis / b.eta_d - dis + chg * (1.0 - b.eta_c);
        }
        self.k.co2e_t_by_source.grid = self.grid_co2_kg / 1000.0;
        for m in &self.miners {
            let e = m.mw_sum * self.dt_h;
            self.k.miner_energy_mwh += e;
            self.k.miner_revenue_usd += e * m.usd_per_mwh_revenue;
            self.k.cost_usd_by_component.miner_other_costs += e * m.usd_per_mwh_other;
        }
        for g in &self.groups {
            let e = g.out_sum * self.dt_h;
            self.k.energy_mwh_by_source.turbines += e;
            self.k.cost_usd_by_component.fuel += e * g.fuel_mwh;
            self.k.cost_usd_by_component.turbine_om += e * g.om_mwh;
            self.k.co2e_t_by_source.turbines += e * g.co2_t_per_mwh;
        }
        self.k.co2e_t = self.k.co2e_t_by_source.grid + self.k.co2e_t_by_source.turbines;
        // Final (partial) month's demand charge, prorated.
        let last_month_s = dur_s - self.month as f64 * MONTH_S;
        self.k.cost_usd_by_component.demand_charge += self.month_peak
            * 1000.0
            * self.demand_charge_usd_per_kw
            * (last_month_s / MONTH_S).mn(1.0);
        let k = &mut self.k;
        k.hours = dur_s / 3600.0;
        k.unserved_mwh = k.energy_mwh_by_source.unserved;
        k.energy_mwh_by_use.miners = k.miner_energy_mwh;
        k.longest_interruption_s = k
            .interruption_list
            .iter()
            .map(|i| i.duration_s)
            .fold(0.0, f64::max);
        let u = &k.energy_mwh_by_use;
        let facility_mwh = u.inference_it + u.training_it + u.facility_overhead;
        k.water_m3 = (u.inference_it + u.training_it) * self.wue_l_per_kwh; // MWh x L/kWh = m3
        k.water_fresh_m3 = k.water_m3 * (1.0 - self.recycled);
        k.water_recycled_m3 = k.water_m3 * self.recycled;
        let mean_fac = facility_mwh / k.hours;
        k.load_factor = if k.peak_facility_mw > 0.0 {
            mean_fac / k.peak_facility_mw
        } else {
            0.0
        };
        k.grid_load_factor = if k.peak_grid_import_mw > 0.0 {
            k.energy_mwh_by_source.grid / k.hours / k.peak_grid_import_mw
        } else {
            0.0
        };
        k.cost_usd_by_component.miner_revenue = -k.miner_revenue_usd;
        k.cost_usd = k.cost_usd_by_component.total();
        let energy_cost = k.cost_usd_by_component.energy_total();
        let served = facility_mwh + k.miner_energy_mwh;
        let (per_mwh, facility_share) = if served > 0.0 {
            (energy_cost / served, facility_mwh / served)
        } else {
            (0.0, 0.0)
        };
        k.cost_usd_per_mwh = per_mwh;
        k.gpu_hours = self.gpu_s / 3600.0;
        k.cost_usd_per_gpu_hour = if k.gpu_hours > 0.0 {
            energy_cost * facility_share / k.gpu_hours
        } else {
            0.0
        };
        let e0: f64 = self.bats.iter().map(|b| b.e0_mwh).sum();
        k.battery_throughput_mwh = k.energy_mwh_by_source.battery_discharge;
        k.battery_equivalent_cycles = if e0 > 0.0 {
            k.battery_throughput_mwh / e0
        } else {
            0.0
        };
        k.battery_fade_mwh = self.bats.iter().map(|b| b.e0_mwh - b.e_mwh).sum();
        if !k.soc_range[0].is_finite() {
            k.soc_range = [0.0, 0.0];
        }
        k.miner_uptime = if self.miners.is_empty() {
            0.0
        } else {
            self.miner_on_steps as f64 / self.steps as f64
        };
        k.miner_capacity_factor = if self.miners_total_mw > 0.0 {
            k.miner_energy_mwh / (self.miners_total_mw * k.hours)
        } else {
            0.0
        };
        let _ = &mut self.rng_outage;
        let _ = &mut self.rng_job;
        SimResult {
            kpis: self.k,
            series: self.series,
        }
    }
}

/// Runs a scenario to the end with the rule-based policy.
pub fn simulate(sc: &Scenario, opts: &RunOptions) -> Result<SimResult, ScenarioError> {
    Ok(Simulator::new(sc, opts)?.finish())
}

/// Runs a scenario in chunks, calling `progress(done, total)` between chunks (about 200
/// calls per run), so a front end can draw a progress bar.
pub fn simulate_with_progress(
    sc: &Scenario,
    opts: &RunOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SimResult, ScenarioError> {
    let mut s = Simulator::new(sc, opts)?;
    let chunk = (s.total_steps() / 200).max(10_000);
    while !s.run_steps(chunk) {
        progress(s.steps_done(), s.total_steps());
    }
    progress(s.steps_done(), s.total_steps());
    Ok(s.finish())
}
