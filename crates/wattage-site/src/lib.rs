//! Time-series simulation of an AI campus energy system: grid, turbines, batteries, solar,
//! cooling, flexible loads.

pub mod scenario;

pub use scenario::{Scenario, ScenarioError, parse_scenario};
