//! The compare job: several run scenarios, each checked before the first runs, set side by
//! side.

use wattage_catalog::Catalog;
use wattage_report::NamedFigures;

use crate::error::{Error, Result};
use crate::io::{Input, Progress, Sources};
use crate::run::{self, RunResult, RunSummary};
use crate::table::Artifact;

/// Several runs side by side.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Each run with its summary, in the order given.
    pub runs: Vec<(RunResult, RunSummary)>,
    /// Each run's key figures (the rows of the comparison).
    pub figures: Vec<NamedFigures>,
}

/// Loads every scenario (so a bad file fails before any run), then runs them in order.
pub fn run(
    cat: &Catalog,
    src: &dyn Sources,
    inputs: &[Input],
    progress: &dyn Progress,
) -> Result<Comparison> {
    if inputs.len() < 2 {
        return Err(Error::input("compare needs two or more scenarios"));
    }
    let loaded = inputs
        .iter()
        .map(|i| run::load(src, Some(i)))
        .collect::<Result<Vec<_>>>()?;
    for l in &loaded {
        run::deployments(cat, l)?;
    }
    let mut runs = Vec::new();
    for l in loaded {
        let r = run::execute(cat, l, progress)?;
        let s = r.summary();
        runs.push((r, s));
    }
    let figures = runs.iter().map(|(r, _)| run::report::figures(r)).collect();
    Ok(Comparison { runs, figures })
}

impl Comparison {
    /// The summaries, in order.
    pub fn summaries(&self) -> Vec<&RunSummary> {
        self.runs.iter().map(|(_, s)| s).collect()
    }

    /// `compare.html` and `compare.json`.
    pub fn artifacts(&self) -> Result<Vec<Artifact>> {
        let rep = wattage_report::comparison_report("wattage compare", &self.figures)
            .map_err(|e| Error::internal(format!("building the comparison: {e}")))?;
        let html = wattage_report::render_html(&rep)
            .map_err(|e| Error::internal(format!("rendering the comparison: {e}")))?;
        let json = serde_json::to_string_pretty(&self.summaries())
            .map_err(|e| Error::internal(format!("cannot serialise: {e}")))?
            + "\n";
        Ok(vec![
            Artifact::new("compare.html", html),
            Artifact::new("compare.json", json),
        ])
    }
}
