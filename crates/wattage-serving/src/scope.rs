//! Energy scopes: from what the accelerators draw to what the building draws.
//!
//! A small, documented conversion kept in one place so it can later be unified with the
//! estimator's scope model:
//! - `gpu`: the accelerators only (what NVML and the ML.ENERGY benchmark read);
//! - `server`: plus the host (CPUs, DRAM, NICs, fans, NVSwitch, power-supply losses), taken as
//!   `host_w_per_accel` from the catalog (a nameplate share) x accelerators x a load factor,
//!   drawn all the time whether or not an iteration runs;
//! - `facility`: server x PUE (cooling and power distribution).

use serde::{Deserialize, Serialize};
use wattage_units::{Energy, Power, Time};

/// Which boundary energy is counted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Accelerators only.
    Gpu,
    /// Accelerators and their host servers.
    Server,
    /// Servers x PUE.
    #[default]
    Facility,
}

impl Scope {
    /// All scopes, narrowest first.
    pub const ALL: [Scope; 3] = [Scope::Gpu, Scope::Server, Scope::Facility];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Gpu => "gpu",
            Scope::Server => "server",
            Scope::Facility => "facility",
        }
    }
}

/// Constants of the scope conversion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeParams {
    /// Fraction of the catalog's host power share actually drawn; the default is the
    /// estimator's own assumption ([`wattage_request::assumptions::HOST_LOAD`]) so that
    /// `wattage estimate` and the simulator agree on the server boundary.
    pub host_load_factor: f64,
    /// Power usage effectiveness of the facility (1.2: the seed's sheet; hyperscale sites
    /// report 1.1-1.2).
    pub pue: f64,
}

impl Default for ScopeParams {
    fn default() -> Self {
        Self {
            host_load_factor: wattage_request::assumptions::HOST_LOAD,
            pue: 1.2,
        }
    }
}

/// The conversion for one replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScopeModel {
    /// Host power of one replica, drawn all the time.
    pub host: Power,
    /// Power usage effectiveness.
    pub pue: f64,
}

impl ScopeModel {
    /// The conversion for a replica of `gpus` accelerators whose host share is
    /// `host_w_per_accel` watts each.
    pub fn new(host_w_per_accel: f64, gpus: u32, p: &ScopeParams) -> Self {
        Self {
            host: Power::from_w(host_w_per_accel * f64::from(gpus) * p.host_load_factor),
            pue: p.pue,
        }
    }

    /// Energy at `scope` of accelerator energy `gpu` spent over `time` of one replica's
    /// wall time.
    pub fn energy(&self, scope: Scope, gpu: Energy, time: Time) -> Energy {
        match scope {
            Scope::Gpu => gpu,
            Scope::Server => gpu + self.host * time,
            Scope::Facility => (gpu + self.host * time) * self.pue,
        }
    }

    /// Power at `scope` of one replica whose accelerators draw `gpu`.
    pub fn power(&self, scope: Scope, gpu: Power) -> Power {
        match scope {
            Scope::Gpu => gpu,
            Scope::Server => gpu + self.host,
            Scope::Facility => (gpu + self.host) * self.pue,
        }
    }

    pub(crate) fn validate(p: &ScopeParams) -> Result<(), crate::SimError> {
        if !(p.host_load_factor.is_finite() && (0.0..=2.0).contains(&p.host_load_factor)) {
            return Err(crate::SimError::invalid(
                "scope.host_load_factor",
                "must be in 0..=2",
            ));
        }
        if !(p.pue.is_finite() && (1.0..=3.0).contains(&p.pue)) {
            return Err(crate::SimError::invalid("scope.pue", "must be in 1..=3"));
        }
        Ok(())
    }
}
