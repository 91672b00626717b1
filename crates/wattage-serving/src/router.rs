//! Routing requests across replicas.

use serde::{Deserialize, Serialize};

/// How an arriving request picks a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Router {
    /// Each replica in turn.
    RoundRobin,
    /// The replica with the fewest requests assigned and not finished.
    #[default]
    LeastOutstanding,
    /// The replica with the fewest requests waiting to be admitted (ties: fewest
    /// outstanding).
    JoinShortestQueue,
}

/// What the router sees of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicaLoad {
    /// Requests assigned and not finished.
    pub outstanding: u32,
    /// Requests waiting for admission.
    pub waiting: u32,
}

impl Router {
    /// Picks a replica; `next` is the round-robin cursor. Ties go to the lowest index, so
    /// the choice is deterministic.
    pub fn pick(
        &self,
        loads: impl Iterator<Item = ReplicaLoad>,
        n: usize,
        next: &mut usize,
    ) -> usize {
        match self {
            Router::RoundRobin => {
                let i = *next % n.max(1);
                *next = (i + 1) % n.max(1);
                i
            }
            Router::LeastOutstanding => argmin(loads.map(|l| (l.outstanding, 0))),
            Router::JoinShortestQueue => argmin(loads.map(|l| (l.waiting, l.outstanding))),
        }
    }
}

fn argmin(it: impl Iterator<Item = (u32, u32)>) -> usize {
    let mut best = (u32::MAX, u32::MAX);
    let mut bi = 0;
    for (i, k) in it.enumerate() {
        if k < best {
            best = k;
            bi = i;
        }
    }
    bi
}
