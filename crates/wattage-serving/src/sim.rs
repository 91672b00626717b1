//! The event loop: arrivals and iteration completions over a fleet of replicas.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use wattage_request::{Deployment, Roofline, RooflineParams, Step, StepCost};
use wattage_units::{Energy, Power, Time};

use crate::SimError;
use crate::hist::LogHistogram;
use crate::metrics::{PowerSeries, RequestRecord, ScopeEnergy, SimOutput, Summary};
use crate::policy::{Planned, Policy, Queues, SchedulerConfig, Seq};
use crate::router::{ReplicaLoad, Router};
use crate::scope::{Scope, ScopeModel, ScopeParams};
use crate::workload::{Arrival, Source, Workload};

/// Settings of a simulation (everything but the deployment and the workload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Identical replicas in the fleet.
    pub replicas: u32,
    /// Batch scheduling policy of each replica.
    pub scheduler: SchedulerConfig,
    /// How requests are spread over replicas.
    pub router: Router,
    /// Tokens per KV-cache block (vLLM: 16).
    pub block_size: u32,
    /// Width of the power time series bins, s.
    pub power_resolution_s: f64,
    /// Keep one record per request (memory grows with the run).
    pub record_requests: bool,
    /// Spread idle energy over requests in the headline per-request figures.
    pub spread_idle: bool,
    /// Scope of the headline energy and power figures.
    pub scope: Scope,
    /// Constants of the scope conversion.
    pub scope_params: ScopeParams,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            replicas: 1,
            scheduler: SchedulerConfig::default(),
            router: Router::default(),
            block_size: 16,
            power_resolution_s: 1.0,
            record_requests: false,
            spread_idle: true,
            scope: Scope::Facility,
            scope_params: ScopeParams::default(),
        }
    }
}

/// The closed set of things that happen.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    /// A request arrives.
    Arrival(Arrival),
    /// A replica finishes its current iteration.
    IterationDone(u32),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    time: f64,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed, so the max-heap pops the earliest event (ties: first scheduled).
    fn cmp(&self, o: &Self) -> Ordering {
        o.time.total_cmp(&self.time).then(o.seq.cmp(&self.seq))
    }
}

#[derive(Debug)]
struct Replica {
    q: Queues,
    policy: Box<dyn Policy>,
    plan: Vec<Planned>,
    done: Vec<u32>,
    busy: bool,
    idle_since: f64,
    iter_start: f64,
    cost: StepCost,
    step: Step,
    step_tokens: u64,
    outstanding: u32,
}

/// Accumulates power into fixed-width bins.
#[derive(Debug, Clone)]
struct PowerBins {
    res: f64,
    joules: Vec<f64>,
}

/// Most bins a power series may have (about 100 MB of f64 at worst, far less in practice).
const MAX_BINS: usize = 10_000_000;

impl PowerBins {
    #[inline]
    fn add(&mut self, t0: f64, t1: f64, watts: f64) {
        if t1 <= t0 {
            return;
        }
        let mut a = t0;
        let mut i = (t0 / self.res) as usize;
        loop {
            if i >= MAX_BINS {
                return;
            }
            if i >= self.joules.len() {
                self.joules.resize(i + 1, 0.0);
            }
            let edge = (i + 1) as f64 * self.res;
            if t1 <= edge {
                self.joules[i] += watts * (t1 - a);
                return;
            }
            self.joules[i] += watts * (edge - a);
            a = edge;
            i += 1;
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Acc {
    completed: u64,
    rejected: u64,
    input_tokens: u64,
    output_tokens: u64,
    iterations: u64,
    busy_s: f64,
    busy_j: f64,
    idle_j: f64,
    flop: f64,
    bytes: f64,
    attributed_j: f64,
    attributed_share_s: f64,
    prefill_j: f64,
    kv_block_s: f64,
    kv_peak_blocks: u64,
    in_system: u64,
    in_system_integral: f64,
    last_t: f64,
    batch_sum: f64,
    preemptions: u64,
}

/// A discrete-event simulation of a serving fleet. Build it, call [`Simulator::run`] (or
/// [`Simulator::advance`] in chunks to show progress), then [`Simulator::finish`].
#[derive(Debug)]
pub struct Simulator {
    cfg: SimConfig,
    deployment: Deployment,
    roofline: Roofline,
    scope: ScopeModel,
    rng: ChaCha8Rng,
    source: Source,
    heap: BinaryHeap<Entry>,
    seqno: u64,
    now: f64,
    seqs: Vec<Seq>,
    free_slots: Vec<u32>,
    replicas: Vec<Replica>,
    rr: usize,
    next_id: u64,
    acc: Acc,
    ttft: LogHistogram,
    itl: LogHistogram,
    e2e: LogHistogram,
    queue: LogHistogram,
    batch: Vec<u64>,
    records: Vec<RequestRecord>,
    power: PowerBins,
    tdp_w: f64,
    peak_flops: f64,
    peak_bw: f64,
}

impl Simulator {
    /// A fleet of `cfg.replicas` copies of `deployment`, timed by the roofline model with
    /// `params`, fed by `workload`. All randomness comes from `rng`.
    pub fn new(
        deployment: &Deployment,
        params: RooflineParams,
        cfg: &SimConfig,
        workload: &Workload,
        mut rng: ChaCha8Rng,
    ) -> Result<Self, SimError> {
        if cfg.replicas == 0 {
            return Err(SimError::invalid("replicas", "must be at least 1"));
        }
        if cfg.replicas > 1_000_000 {
            return Err(SimError::invalid("replicas", "at most 1,000,000"));
        }
        if cfg.block_size == 0 || cfg.block_size > 4096 {
            return Err(SimError::invalid("block_size", "must be in 1..=4096"));
        }
        if !(cfg.power_resolution_s.is_finite() && cfg.power_resolution_s >= 1e-3) {
            return Err(SimError::invalid(
                "power_resolution_s",
                "must be at least 0.001 s",
            ));
        }
        ScopeModel::validate(&cfg.scope_params)?;
        let roofline = Roofline::new(deployment, params);
        let total_blocks = (deployment.kv_capacity_tokens() / f64::from(cfg.block_size)).floor();
        if total_blocks.is_nan() || total_blocks < 1.0 {
            return Err(SimError::invalid(
                "gpus",
                "the KV cache has no room for one block; use more GPUs per replica",
            ));
        }
        let total_blocks = total_blocks.min(1e15) as u64;
        let mut replicas = Vec::with_capacity(cfg.replicas as usize);
        for _ in 0..cfg.replicas {
            replicas.push(Replica {
                q: Queues::new(total_blocks, cfg.block_size, deployment.kv_footprint()),
                policy: cfg.scheduler.build()?,
                plan: Vec::new(),
                done: Vec::new(),
                busy: false,
                idle_since: 0.0,
                iter_start: 0.0,
                cost: StepCost::default(),
                step: Step::default(),
                step_tokens: 0,
                outstanding: 0,
            });
        }
        let max_batch = replicas[0].policy.max_batch() as usize;
        let source = Source::new(workload)?;
        let mut sim = Self {
            scope: ScopeModel::new(
                deployment.hardware.host_w_per_accel,
                deployment.gpus,
                &cfg.scope_params,
            ),
            tdp_w: roofline.tdp().w(),
            peak_flops: deployment.peak_per_gpu().flops() * f64::from(deployment.gpus),
            peak_bw: deployment.bandwidth_per_gpu().bytes_per_s() * f64::from(deployment.gpus),
            cfg: cfg.clone(),
            deployment: deployment.clone(),
            roofline,
            rng: rng.clone(),
            source,
            heap: BinaryHeap::new(),
            seqno: 0,
            now: 0.0,
            seqs: Vec::new(),
            free_slots: Vec::new(),
            replicas,
            rr: 0,
            next_id: 0,
            acc: Acc::default(),
            ttft: LogHistogram::new(),
            itl: LogHistogram::new(),
            e2e: LogHistogram::new(),
            queue: LogHistogram::new(),
            batch: vec![0; max_batch + 1],
            records: Vec::new(),
            power: PowerBins {
                res: cfg.power_resolution_s,
                joules: Vec::new(),
            },
        };
        let clients = sim.source.clients();
        if clients > 0 {
            for c in 0..clients {
                if let Some(a) = sim.source.next_closed(c, 0.0, &mut rng) {
                    sim.push(a.time, Event::Arrival(a));
                }
            }
        } else if let Some(a) = sim.source.next_open(&mut rng) {
            sim.push(a.time, Event::Arrival(a));
        }
        sim.rng = rng;
        Ok(sim)
    }

    /// [`Simulator::new`] with a `ChaCha8Rng` seeded from `seed`.
    pub fn with_seed(
        deployment: &Deployment,
        params: RooflineParams,
        cfg: &SimConfig,
        workload: &Workload,
        seed: u64,
    ) -> Result<Self, SimError> {
        use rand::SeedableRng;
        Self::new(
            deployment,
            params,
            cfg,
            workload,
            ChaCha8Rng::seed_from_u64(seed),
        )
    }

    #[inline]
    fn push(&mut self, time: f64, event: Event) {
        self.seqno += 1;
        self.heap.push(Entry {
            time,
            seq: self.seqno,
            event,
        });
    }

    /// Simulated time, s.
    pub fn now(&self) -> Time {
        Time::from_s(self.now)
    }

    /// Requests finished so far.
    pub fn completed(&self) -> u64 {
        self.acc.completed
    }

    /// True when no event is left.
    pub fn is_done(&self) -> bool {
        self.heap.is_empty()
    }

    /// Processes up to `max_events` events; returns true while events remain. Lets a caller
    /// draw a progress bar between chunks.
    pub fn advance(&mut self, max_events: u64) -> bool {
        for _ in 0..max_events {
            let Some(e) = self.heap.pop() else {
                return false;
            };
            self.handle(e);
        }
        !self.heap.is_empty()
    }

    /// Runs to the end and returns the results.
    pub fn run(mut self) -> SimOutput {
        while self.advance(u64::MAX) {}
        self.finish()
    }

    #[inline]
    fn clock(&mut self, t: f64) {
        let a = &mut self.acc;
        a.in_system_integral += a.in_system as f64 * (t - a.last_t);
        a.last_t = t;
        self.now = t;
    }

    fn handle(&mut self, e: Entry) {
        self.clock(e.time);
        match e.event {
            Event::Arrival(a) => self.on_arrival(a),
            Event::IterationDone(r) => self.on_iteration_done(r as usize),
        }
    }

    fn on_arrival(&mut self, a: Arrival) {
        if a.client == u32::MAX
            && let Some(n) = self.source.next_open(&mut self.rng)
        {
            self.push(n.time, Event::Arrival(n));
        }
        let q = &self.replicas[0].q;
        let need = u64::from(q.blocks_for(a.input.saturating_add(a.output)));
        if need > q.total_blocks {
            self.acc.rejected += 1;
            self.next_for_client(a.client);
            return;
        }
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.seqs.push(Seq::default());
                (self.seqs.len() - 1) as u32
            }
        };
        let loads = self.replicas.iter().map(|r| ReplicaLoad {
            outstanding: r.outstanding,
            waiting: r.q.waiting.len() as u32,
        });
        let r = self
            .cfg
            .router
            .pick(loads, self.replicas.len(), &mut self.rr);
        self.seqs[slot as usize] = Seq {
            id: self.next_id,
            arrival_s: self.now,
            input: a.input,
            output: a.output,
            prompt: a.input,
            first_scheduled_s: -1.0,
            first_token_s: -1.0,
            last_token_s: -1.0,
            client: a.client,
            replica: r as u32,
            ..Seq::default()
        };
        self.next_id += 1;
        self.acc.in_system += 1;
        let rep = &mut self.replicas[r];
        rep.q.waiting.push_back(slot);
        rep.outstanding += 1;
        if !rep.busy {
            self.start_iteration(r);
        }
    }

    fn next_for_client(&mut self, client: u32) {
        if client == u32::MAX {
            return;
        }
        let t = self.now + self.source.think_s();
        if let Some(n) = self.source.next_closed(client, t, &mut self.rng) {
            self.push(n.time, Event::Arrival(n));
        }
    }

    fn start_iteration(&mut self, r: usize) {
        let now = self.now;
        let rep = &mut self.replicas[r];
        rep.q.now = now;
        rep.plan.clear();
        rep.policy
            .schedule(&mut rep.q, &mut self.seqs, &mut rep.plan);
        if rep.plan.is_empty() {
            return;
        }
        // The replica was idle since `idle_since`.
        if now > rep.idle_since {
            let idle_w = self.roofline.idle_power().w();
            self.acc.idle_j += idle_w * (now - rep.idle_since);
            self.power.add(rep.idle_since, now, idle_w);
        }
        let mut step = Step {
            seqs: rep.plan.len() as f64,
            ..Step::default()
        };
        let mut decode_seqs = 0u64;
        let mut decode_ctx = 0u64;
        let mut tokens = 0u64;
        for p in &rep.plan {
            let s = &self.seqs[p.slot as usize];
            tokens += u64::from(p.tokens);
            if p.prefill {
                let a = f64::from(s.computed);
                let c = f64::from(p.tokens);
                step.prefill_tokens += c;
                step.prefill_attention += c * a + c * (c + 1.0) / 2.0;
            } else {
                decode_seqs += 1;
                decode_ctx += u64::from(s.computed) + 1;
            }
        }
        step.decode_seqs = decode_seqs as f64;
        step.decode_context = decode_ctx as f64;
        rep.step = step;
        rep.step_tokens = tokens;
        self.launch(r);
    }

    /// Costs the replica's current step and schedules its end.
    #[inline]
    fn launch(&mut self, r: usize) {
        let rep = &mut self.replicas[r];
        let cost = self.roofline.step(&rep.step);
        rep.cost = cost;
        rep.busy = true;
        rep.iter_start = self.now;
        let t = self.now + cost.time.s();
        self.push(t, Event::IterationDone(r as u32));
    }

    fn on_iteration_done(&mut self, r: usize) {
        let now = self.now;
        let rep = &mut self.replicas[r];
        let cost = rep.cost;
        let start = rep.iter_start;
        let dt = now - start;
        let power_w = cost.power.w();
        let energy = power_w * dt;
        let acc = &mut self.acc;
        acc.iterations += 1;
        acc.busy_s += dt;
        acc.busy_j += energy;
        acc.flop += cost.flop.count();
        acc.bytes += cost.bytes.count();
        let used = rep.q.total_blocks - rep.q.free_blocks;
        acc.kv_block_s += used as f64 * dt;
        acc.kv_peak_blocks = acc.kv_peak_blocks.max(used);
        let n = rep.plan.len();
        acc.batch_sum += n as f64;
        if let Some(b) = self.batch.get_mut(n) {
            *b += 1;
        } else if let Some(b) = self.batch.last_mut() {
            *b += 1;
        }
        self.power.add(start, now, power_w);
        let tokens = rep.step_tokens.max(1) as f64;
        let per_token_j = energy / tokens;
        let per_token_s = dt / tokens;
        let bs = rep.q.block_size;
        let mut regular = 0u64;
        let mut all_decoding = true;
        let mut short = false;
        let mut next_ctx = 0u64;
        let mut kept = 0usize;
        let planned = rep.plan.len();
        rep.done.clear();
        for i in 0..planned {
            let p = rep.plan[i];
            let s = &mut self.seqs[p.slot as usize];
            let k = f64::from(p.tokens);
            let e = per_token_j * k;
            s.energy_j += e;
            s.busy_share_s += per_token_s * k;
            if p.prefill {
                s.prefill_energy_j += e;
                s.computed += p.tokens;
                if s.computed >= s.prompt {
                    if s.generated == 0 {
                        s.first_token_s = now;
                        self.ttft.record(now - s.arrival_s);
                    } else {
                        self.itl.record(now - s.last_token_s);
                    }
                    s.generated += 1;
                    s.last_token_s = now;
                }
            } else {
                s.computed += 1;
                s.generated += 1;
                if s.last_token_s == start {
                    regular += 1;
                } else {
                    self.itl.record(now - s.last_token_s);
                }
                s.last_token_s = now;
            }
            if s.generated >= s.output {
                s.done = true;
                rep.done.push(p.slot);
            } else if s.prefilling() {
                all_decoding = false;
            } else {
                // Its next decode token may need a block: take it now, as the scheduler
                // would (running sequences are served before waiting ones).
                let next = u64::from(s.computed) + 1;
                if next > u64::from(s.blocks) * u64::from(bs) && !rep.q.holds(s.blocks, next) {
                    if rep.q.free_blocks > 0 {
                        rep.q.free_blocks -= 1;
                        s.blocks += 1;
                    } else {
                        short = true;
                    }
                }
                next_ctx += u64::from(s.computed) + 1;
                // Carried into the next plan as a one-token decode (used on the fast path).
                rep.plan[kept] = Planned {
                    slot: p.slot,
                    tokens: 1,
                    prefill: false,
                };
                kept += 1;
            }
        }
        self.itl.record_n(dt, regular);
        acc.attributed_j += energy;
        acc.attributed_share_s += dt;
        rep.busy = false;
        rep.idle_since = now;
        let covered_all = planned == rep.q.running.len();
        if !rep.done.is_empty() {
            let seqs = &self.seqs;
            rep.q.running.retain(|&s| !seqs[s as usize].done);
            let done = std::mem::take(&mut rep.done);
            for &slot in &done {
                self.finish_request(r, slot);
            }
            self.replicas[r].done = done;
        }
        // Fast path: every running sequence decodes again, one token further on, so the
        // next step follows from this one without rescanning the batch; the policy only
        // adds waiting sequences.
        let rep = &mut self.replicas[r];
        if all_decoding && !short && covered_all {
            rep.plan.truncate(kept);
            rep.q.now = now;
            if rep.policy.extend(&mut rep.q, &mut self.seqs, &mut rep.plan) && !rep.plan.is_empty()
            {
                let mut step = Step {
                    decode_seqs: kept as f64,
                    decode_context: next_ctx as f64,
                    seqs: rep.plan.len() as f64,
                    ..Step::default()
                };
                let mut tokens = kept as u64;
                for p in &rep.plan[kept..] {
                    let a = f64::from(self.seqs[p.slot as usize].computed);
                    let c = f64::from(p.tokens);
                    step.prefill_tokens += c;
                    step.prefill_attention += c * a + c * (c + 1.0) / 2.0;
                    tokens += u64::from(p.tokens);
                }
                rep.step = step;
                rep.step_tokens = tokens;
                self.launch(r);
                return;
            }
        }
        self.start_iteration(r);
    }

    fn finish_request(&mut self, r: usize, slot: u32) {
        let s = self.seqs[slot as usize];
        let rep = &mut self.replicas[r];
        rep.q.free_blocks += u64::from(s.blocks);
        rep.outstanding -= 1;
        let a = &mut self.acc;
        a.completed += 1;
        a.in_system -= 1;
        a.input_tokens += u64::from(s.input);
        a.output_tokens += u64::from(s.output);
        a.prefill_j += s.prefill_energy_j;
        let e2e = self.now - s.arrival_s;
        self.e2e.record(e2e);
        self.queue
            .record((s.first_scheduled_s - s.arrival_s).max(0.0));
        if self.cfg.record_requests {
            let ttft = s.first_token_s - s.arrival_s;
            let itl = if s.generated > 1 {
                (s.last_token_s - s.first_token_s) / f64::from(s.generated - 1)
            } else {
                0.0
            };
            let busy = Time::from_s(s.busy_share_s);
            let gpu = Energy::from_j(s.energy_j);
            self.records.push(RequestRecord {
                id: s.id,
                replica: s.replica,
                arrival_s: s.arrival_s,
                input_tokens: s.input,
                output_tokens: s.output,
                queue_ms: (s.first_scheduled_s - s.arrival_s).max(0.0) * 1e3,
                ttft_ms: ttft * 1e3,
                itl_ms_mean: itl * 1e3,
                e2e_ms: e2e * 1e3,
                preemptions: s.preemptions,
                busy_share_s: s.busy_share_s,
                energy_gpu_j: s.energy_j,
                prefill_energy_gpu_j: s.prefill_energy_j,
                energy_server_j: self.scope.energy(Scope::Server, gpu, busy).j(),
                energy_facility_j: self.scope.energy(Scope::Facility, gpu, busy).j(),
                idle_share_gpu_j: 0.0,
            });
        }
        self.free_slots.push(slot);
        self.next_for_client(s.client);
    }

    /// Closes the books (idle energy up to the end) and summarises.
    pub fn finish(mut self) -> SimOutput {
        let end = {
            let src_end = self.source.end_s();
            let t = if src_end.is_finite() {
                self.now.max(src_end)
            } else {
                self.now
            };
            t.max(1e-9)
        };
        self.clock(end);
        let idle_w = self.roofline.idle_power().w();
        for i in 0..self.replicas.len() {
            let since = self.replicas[i].idle_since;
            if end > since && !self.replicas[i].busy {
                self.acc.idle_j += idle_w * (end - since);
                self.power.add(since, end, idle_w);
            }
            self.acc.preemptions += self.replicas[i].q.preemptions;
        }
        let a = &self.acc;
        let nrep = self.replicas.len() as f64;
        let elapsed = end;
        let completed = a.completed;
        let req = completed.max(1) as f64;
        let out_tok = a.output_tokens.max(1) as f64;
        let total_gpu_j = a.busy_j + a.idle_j;
        let fleet_time = Time::from_s(elapsed * nrep);
        let idle_time = Time::from_s((elapsed * nrep - a.busy_s).max(0.0));
        let mut by_scope = Vec::new();
        let bins = &self.power.joules;
        let peak_gpu_w = bins
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let w = (self.cfg.power_resolution_s).min(elapsed - i as f64 * self.power.res);
                if w > 0.0 { j / w } else { 0.0 }
            })
            .fold(0.0, f64::max);
        for scope in Scope::ALL {
            let sm = &self.scope;
            let busy = sm
                .energy(
                    scope,
                    Energy::from_j(a.attributed_j),
                    Time::from_s(a.attributed_share_s),
                )
                .j();
            let idle = sm.energy(scope, Energy::from_j(a.idle_j), idle_time).j();
            let total = sm
                .energy(scope, Energy::from_j(total_gpu_j), fleet_time)
                .j();
            let headline = if self.cfg.spread_idle { total } else { busy };
            by_scope.push(ScopeEnergy {
                scope,
                total_energy_wh: total / 3600.0,
                idle_energy_wh: idle / 3600.0,
                energy_wh_per_request_busy: busy / req / 3600.0,
                energy_wh_per_request: headline / req / 3600.0,
                energy_j_per_output_token: headline / out_tok,
                avg_power_w: total / elapsed,
                peak_power_w: sm.power(scope, Power::from_w(peak_gpu_w / nrep)).w() * nrep,
            });
        }
        let sel = by_scope
            .iter()
            .find(|s| s.scope == self.cfg.scope)
            .cloned()
            .unwrap_or_else(|| by_scope[0].clone());
        let iters = a.iterations.max(1) as f64;
        let gpus = self.deployment.gpus * self.replicas.len() as u32;
        let mut batch_p = [0u32; 2];
        for (k, q) in [0.5, 0.99].iter().enumerate() {
            let rank = (q * a.iterations as f64).ceil() as u64;
            let mut seen = 0;
            for (b, c) in self.batch.iter().enumerate() {
                seen += c;
                if seen >= rank.max(1) {
                    batch_p[k] = b as u32;
                    break;
                }
            }
        }
        let ms = |h: &LogHistogram, q: f64| h.quantile(q) * 1e3;
        let summary = Summary {
            requests: completed,
            rejected: a.rejected,
            replicas: self.replicas.len() as u32,
            gpus_per_replica: self.deployment.gpus,
            gpus,
            model: self.deployment.model.id.clone(),
            hardware: self.deployment.hardware.id.clone(),
            duration_s: elapsed,
            throughput_requests_per_s: completed as f64 / elapsed,
            throughput_tokens_per_s: a.output_tokens as f64 / elapsed,
            input_tokens_per_s: a.input_tokens as f64 / elapsed,
            mean_input_tokens: a.input_tokens as f64 / req,
            mean_output_tokens: a.output_tokens as f64 / req,
            ttft_ms_p50: ms(&self.ttft, 0.5),
            ttft_ms_p90: ms(&self.ttft, 0.9),
            ttft_ms_p99: ms(&self.ttft, 0.99),
            ttft_ms_mean: self.ttft.mean() * 1e3,
            itl_ms_p50: ms(&self.itl, 0.5),
            itl_ms_p90: ms(&self.itl, 0.9),
            itl_ms_p99: ms(&self.itl, 0.99),
            itl_ms_mean: self.itl.mean() * 1e3,
            e2e_ms_p50: ms(&self.e2e, 0.5),
            e2e_ms_p90: ms(&self.e2e, 0.9),
            e2e_ms_p99: ms(&self.e2e, 0.99),
            e2e_ms_mean: self.e2e.mean() * 1e3,
            queue_ms_p50: ms(&self.queue, 0.5),
            queue_ms_p99: ms(&self.queue, 0.99),
            queue_ms_mean: self.queue.mean() * 1e3,
            mean_in_system: a.in_system_integral / elapsed,
            iterations: a.iterations,
            mean_batch_size: a.batch_sum / iters,
            batch_size_p50: batch_p[0],
            batch_size_p99: batch_p[1],
            batch_size_histogram: {
                let last = self.batch.iter().rposition(|&c| c > 0).unwrap_or(0);
                self.batch[..=last].to_vec()
            },
            preemptions: a.preemptions,
            kv_capacity_tokens: self.replicas[0].q.total_blocks * u64::from(self.cfg.block_size),
            kv_occupancy_mean: a.kv_block_s
                / (self.replicas[0].q.total_blocks as f64 * elapsed * nrep),
            kv_occupancy_peak: a.kv_peak_blocks as f64 / self.replicas[0].q.total_blocks as f64,
            busy_fraction: a.busy_s / (elapsed * nrep),
            idle_fraction: 1.0 - a.busy_s / (elapsed * nrep),
            compute_utilization: a.flop / (self.peak_flops * elapsed * nrep),
            memory_utilization: a.bytes / (self.peak_bw * elapsed * nrep),
            compute_utilization_busy: a.flop / (self.peak_flops * a.busy_s.max(1e-12)),
            memory_utilization_busy: a.bytes / (self.peak_bw * a.busy_s.max(1e-12)),
            gpu_avg_power_w: total_gpu_j / elapsed,
            gpu_power_pct_of_tdp: 100.0 * total_gpu_j / elapsed / (self.tdp_w * nrep),
            gpu_busy_energy_wh: a.busy_j / 3600.0,
            gpu_idle_energy_wh: a.idle_j / 3600.0,
            gpu_prefill_energy_wh: a.prefill_j / 3600.0,
            scope: sel.scope,
            avg_power_w: sel.avg_power_w,
            peak_power_w: sel.peak_power_w,
            energy_wh_per_request: sel.energy_wh_per_request,
            energy_wh_per_request_busy: sel.energy_wh_per_request_busy,
            energy_j_per_output_token: sel.energy_j_per_output_token,
            idle_energy_wh: sel.idle_energy_wh,
            total_energy_wh: sel.total_energy_wh,
            by_scope,
        }
        .sanitized();
        let mut records = self.cfg.record_requests.then_some(self.records);
        if let Some(recs) = records.as_mut()
            && self.cfg.spread_idle
            && !recs.is_empty()
        {
            let share = a.idle_j / recs.len() as f64;
            for r in recs.iter_mut() {
                r.idle_share_gpu_j = share;
            }
        }
        let power = PowerSeries {
            resolution_s: self.cfg.power_resolution_s,
            duration_s: elapsed,
            gpu_w: bins
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    let w = self.power.res.min(elapsed - i as f64 * self.power.res);
                    if w > 0.0 { j / w } else { 0.0 }
                })
                .collect(),
            host_w: self.scope.host.w() * nrep,
            pue: self.scope.pue,
        };
        SimOutput {
            summary,
            power,
            records,
        }
    }
}
