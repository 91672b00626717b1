//! Time-series simulation of an AI campus energy system: grid, turbines, batteries, solar, cooling, flexible loads
