//! Cheapest design and dispatch of a site energy system as a linear program
