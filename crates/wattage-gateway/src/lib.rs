//! `wattage serve`: an OpenAI-compatible reverse proxy that prices every request with the
//! engine's meter and writes it to the signed ledger. See `docs/gateway.md`.

pub mod dashboard;
