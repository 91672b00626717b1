//! Time-series simulation of an AI campus energy system: grid, turbines, batteries, solar,
//! cooling, flexible loads.

pub mod dispatch;
pub mod eval;
mod fx;
pub mod limits;
mod profile;
pub mod scenario;
pub mod sim;

pub use dispatch::{DispatchPolicy, RuleBased, StepBounds, StepDecision};
pub use eval::{Design, Reliability, evaluate_design, monte_carlo};
pub use scenario::{Scenario, ScenarioError, parse_scenario};
pub use sim::{
    Kpis, RunOptions, SeriesRow, SimResult, Simulator, simulate, simulate_with_progress,
};
