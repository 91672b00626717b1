//! Representative periods: a long horizon reduced to `k` typical days, chosen by k-medoids
//! clustering of the days' profiles and weighted by the number of days each stands for.
//!
//! Each day of the horizon is a vector of its steps' load, grid price, grid carbon intensity and
//! solar capacity factors, each quantity divided by its range over the horizon (a flat quantity
//! drops out), so that every quantity weighs the same whatever its unit. The days are
//! clustered by k-medoids (PAM's greedy BUILD, then alternating assignment and medoid update
//! until nothing changes; ties go to the earlier day, so the result is deterministic), and each
//! medoid, a real day of the horizon, stands for the days of its cluster. Medoids rather than
//! centroids keep every typical day physically consistent (an actual day's load with that
//! day's prices and sunshine) and its peaks intact.
//!
//! If no medoid reaches the horizon's highest load, the capacity the design must firm would
//! never be seen: the day of that load is then made a typical day of its own (weight one) and
//! the other days are clustered into `k - 1`.

use crate::OptimizeError;
use crate::formulate::month_of;
use crate::problem::{SiteProblem, at};

/// The typical days of a horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct TypicalDays {
    /// Steps in one day.
    pub steps_per_day: usize,
    /// The horizon's day that each typical day is, in chronological order.
    pub days: Vec<usize>,
    /// Days each typical day stands for (sums to the days of the horizon).
    pub weight: Vec<f64>,
    /// For each day of the horizon, the index (into `days`) of its typical day.
    pub assignment: Vec<usize>,
}

impl TypicalDays {
    /// Chooses `k` typical days of `p`'s horizon. The problem must have been validated; its
    /// horizon must be a whole number of days (at least one) of whole steps, and `k` between 1
    /// and the number of days.
    pub fn choose(p: &SiteProblem, k: usize) -> Result<Self, OptimizeError> {
        let field = "typical_days";
        let steps_per_day = steps_per_day(p)?;
        let n_days = p.steps() / steps_per_day;
        if n_days == 0 || !p.steps().is_multiple_of(steps_per_day) {
            return Err(OptimizeError::invalid(
                field,
                format!(
                    "needs a horizon of whole days; this one is {:.4} days",
                    p.horizon().h() / 24.0
                ),
            ));
        }
        if k == 0 || k > n_days {
            return Err(OptimizeError::invalid(
                field,
                format!("is {k}; expected 1 to {n_days}, the days of the horizon"),
            ));
        }
        let features = day_features(p, steps_per_day, n_days);
        let dist = distances(&features);
        let all: Vec<usize> = (0..n_days).collect();
        let mut medoids = k_medoids(&dist, &all, k);
        let peak_step = (0..p.steps())
            .max_by(|&a, &b| p.load[a].mw().total_cmp(&p.load[b].mw()).then(b.cmp(&a)))
            .unwrap_or(0);
        let peak_day = peak_step / steps_per_day;
        let day_peak = |d: usize| {
            (d * steps_per_day..(d + 1) * steps_per_day)
                .map(|t| p.load[t].mw())
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let year_peak = day_peak(peak_day);
        if k >= 2 && medoids.iter().all(|&m| day_peak(m) < year_peak) {
            let rest: Vec<usize> = all.iter().copied().filter(|&d| d != peak_day).collect();
            medoids = k_medoids(&dist, &rest, k - 1);
            medoids.push(peak_day);
        }
        medoids.sort_unstable();
        // Every day to its nearest medoid (a medoid to itself).
        let assignment: Vec<usize> = (0..n_days)
            .map(|d| nearest(&dist, n_days, d, &medoids).0)
            .collect();
        let mut weight = vec![0.0; medoids.len()];
        for &a in &assignment {
            weight[a] += 1.0;
        }
        Ok(Self {
            steps_per_day,
            days: medoids,
            weight,
            assignment,
        })
    }

    /// Number of typical days.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// True when there are none (never, for a successful [`TypicalDays::choose`]).
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The step of the reduced problem that stands for step `t` of the horizon.
    pub fn reduced_step(&self, t: usize) -> usize {
        let l = self.steps_per_day;
        self.assignment[t / l] * l + t % l
    }

    /// The problem over the typical days only, one after the other: every series cut to them.
    pub fn reduce(&self, p: &SiteProblem) -> SiteProblem {
        let l = self.steps_per_day;
        let pick = |t_reduced: usize| self.days[t_reduced / l] * l + t_reduced % l;
        let n = self.len() * l;
        let cut = |len: usize| -> Vec<usize> {
            if len == 1 {
                vec![0]
            } else {
                (0..n).map(pick).collect()
            }
        };
        let mut r = p.clone();
        r.load = cut(p.load.len()).into_iter().map(|t| p.load[t]).collect();
        if let (Some(g), Some(rg)) = (&p.grid, &mut r.grid) {
            rg.price = cut(g.price.len()).into_iter().map(|t| g.price[t]).collect();
            rg.carbon_intensity = cut(g.carbon_intensity.len())
                .into_iter()
                .map(|t| g.carbon_intensity[t])
                .collect();
        }
        for (s, rs) in p.solar.iter().zip(&mut r.solar) {
            rs.capacity_factor = cut(s.capacity_factor.len())
                .into_iter()
                .map(|t| s.capacity_factor[t])
                .collect();
        }
        r
    }

    /// How the LP over the reduced problem stands for the horizon of `full_steps` steps of
    /// `dt_h` hours: each typical day's weight, and for each reduced step the billing months
    /// of the horizon's steps it stands for (so that a month's peak import is the highest of
    /// the typical days standing for its days).
    pub(crate) fn periods(&self, full_steps: usize, dt_h: f64) -> crate::formulate::Periods {
        let l = self.steps_per_day;
        let mut months: Vec<Vec<usize>> = vec![Vec::new(); self.len() * l];
        for t in 0..full_steps {
            let m = month_of(t, dt_h);
            let ms = &mut months[self.reduced_step(t)];
            if !ms.contains(&m) {
                ms.push(m);
            }
        }
        for ms in &mut months {
            ms.sort_unstable();
        }
        crate::formulate::Periods {
            len: l,
            weight: self.weight.clone(),
            months,
            full_steps,
        }
    }
}

/// Steps in a day: the step must divide a day into whole steps.
fn steps_per_day(p: &SiteProblem) -> Result<usize, OptimizeError> {
    let per_day = 86_400.0 / p.step.s();
    let whole = per_day.round();
    if whole < 1.0 || (per_day - whole).abs() > 1e-9 * per_day {
        return Err(OptimizeError::invalid(
            "typical_days",
            format!("needs a step that divides a day; {} s does not", p.step.s()),
        ));
    }
    Ok(whole as usize)
}

/// Each day's profile: its steps' values of every quantity that varies, each divided by the
/// quantity's range over the horizon.
fn day_features(p: &SiteProblem, l: usize, n_days: usize) -> Vec<Vec<f64>> {
    let n = n_days * l;
    let mut series: Vec<Vec<f64>> = vec![p.load.iter().map(|x| x.mw()).collect()];
    if let Some(g) = &p.grid {
        if g.price.len() > 1 {
            series.push((0..n).map(|t| at(&g.price, t).base()).collect());
        }
        if g.carbon_intensity.len() > 1 {
            series.push((0..n).map(|t| at(&g.carbon_intensity, t).base()).collect());
        }
    }
    for s in &p.solar {
        if s.capacity_factor.len() > 1 {
            series.push(s.capacity_factor.clone());
        }
    }
    let mut days = vec![Vec::with_capacity(series.len() * l); n_days];
    for s in &series {
        let (lo, hi) = s
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let range = hi - lo;
        if range.is_nan() || range <= 0.0 {
            continue;
        }
        for (d, f) in days.iter_mut().enumerate() {
            f.extend(s[d * l..(d + 1) * l].iter().map(|v| (v - lo) / range));
        }
    }
    days
}

/// Squared Euclidean distances between days, row-major.
fn distances(f: &[Vec<f64>]) -> Vec<f64> {
    let n = f.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v: f64 = f[i].iter().zip(&f[j]).map(|(a, b)| (a - b) * (a - b)).sum();
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    d
}

/// The medoid nearest to day `d` (index into `medoids`; a medoid is its own, and otherwise the
/// earliest wins a tie) and its distance.
fn nearest(dist: &[f64], n: usize, d: usize, medoids: &[usize]) -> (usize, f64) {
    if let Some(i) = medoids.iter().position(|&m| m == d) {
        return (i, 0.0);
    }
    let mut best = (0, f64::INFINITY);
    for (i, &m) in medoids.iter().enumerate() {
        let v = dist[d * n + m];
        if v < best.1 {
            best = (i, v);
        }
    }
    best
}

/// `k` medoids of the days `pts` (k <= pts.len()): PAM's greedy BUILD, then alternating
/// assignment and medoid update (each cluster's medoid the member with the least total
/// distance to the others) until the medoids stop changing. Deterministic: ties go to the
/// earlier day.
fn k_medoids(dist: &[f64], pts: &[usize], k: usize) -> Vec<usize> {
    let n = (dist.len() as f64).sqrt().round() as usize;
    let total = |medoids: &[usize]| -> f64 {
        pts.iter()
            .map(|&d| nearest(dist, n, d, medoids).1)
            .sum::<f64>()
    };
    let mut medoids: Vec<usize> = Vec::with_capacity(k);
    // BUILD: add the day that lowers the total distance most.
    let mut near: Vec<f64> = vec![f64::INFINITY; pts.len()];
    while medoids.len() < k {
        let mut best: Option<(usize, f64)> = None;
        for &c in pts {
            if medoids.contains(&c) {
                continue;
            }
            let cost: f64 = pts
                .iter()
                .zip(&near)
                .map(|(&d, &nd)| nd.min(dist[d * n + c]))
                .sum();
            if best.is_none_or(|(_, b)| cost < b) {
                best = Some((c, cost));
            }
        }
        let Some((c, _)) = best else { break };
        medoids.push(c);
        for (i, &d) in pts.iter().enumerate() {
            near[i] = near[i].min(dist[d * n + c]);
        }
    }
    // Alternate: assign, then move each medoid to its cluster's best member. The total
    // distance never rises, and a change is kept only when it falls, so this ends.
    let mut cost = total(&medoids);
    for _ in 0..100 {
        let mut clusters: Vec<Vec<usize>> = vec![Vec::new(); medoids.len()];
        for &d in pts {
            clusters[nearest(dist, n, d, &medoids).0].push(d);
        }
        let next: Vec<usize> = clusters
            .iter()
            .zip(&medoids)
            .map(|(members, &m)| {
                let within = |c: usize| members.iter().map(|&d| dist[d * n + c]).sum::<f64>();
                let mut best = (m, within(m));
                for &c in members {
                    let v = within(c);
                    if v < best.1 || (v == best.1 && c < best.0) {
                        best = (c, v);
                    }
                }
                best.0
            })
            .collect();
        let next_cost = total(&next);
        if next == medoids || next_cost >= cost {
            break;
        }
        medoids = next;
        cost = next_cost;
    }
    medoids
}
