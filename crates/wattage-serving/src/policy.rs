//! Batch scheduling policies: which sequences run in the next iteration of a replica.
//!
//! A policy is a [`Policy`] implementation plus a variant of the serde-tagged
//! [`SchedulerConfig`]; adding one touches this file only.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use wattage_request::KvFootprint;

use crate::SimError;

/// A sequence (one request) inside a replica, as the scheduler sees it. Fields touched at
/// every iteration come first, so they share a cache line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[repr(C)]
pub struct Seq {
    /// Tokens to prefill before the next output token: the prompt, or after a preemption by
    /// recompute, the prompt plus the tokens generated so far.
    pub prompt: u32,
    /// Tokens whose keys and values are in the KV cache.
    pub computed: u32,
    /// Output tokens generated so far.
    pub generated: u32,
    /// Output tokens to generate.
    pub output: u32,
    /// KV-cache blocks held.
    pub blocks: u32,
    /// Times it was preempted.
    pub preemptions: u32,
    /// When its latest token came out, s.
    pub last_token_s: f64,
    /// Accelerator energy attributed so far, J.
    pub energy_j: f64,
    /// Share of replica wall time attributed (iteration time x token share), s.
    pub busy_share_s: f64,
    /// Of the energy, the part spent on prefill, J.
    pub prefill_energy_j: f64,
    /// Finished (all output generated).
    pub done: bool,
    /// Prompt tokens.
    pub input: u32,
    /// Request id, in arrival order.
    pub id: u64,
    /// Arrival time, s.
    pub arrival_s: f64,
    /// When it was first scheduled, s (negative until then).
    pub first_scheduled_s: f64,
    /// When its first token came out, s (negative until then).
    pub first_token_s: f64,
    /// Closed-loop client that sent it (`u32::MAX` for open workloads).
    pub client: u32,
    /// Replica it was routed to.
    pub replica: u32,
}

impl Seq {
    /// True while prompt tokens remain to be computed.
    #[inline]
    pub fn prefilling(&self) -> bool {
        self.computed < self.prompt
    }
}

/// One sequence's work in the next iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Index of the sequence in the simulator's table.
    pub slot: u32,
    /// Tokens processed: a prefill chunk, or 1 when decoding.
    pub tokens: u32,
    /// True for a prefill chunk.
    pub prefill: bool,
}

/// A replica's queues and KV cache, which policies read and change.
#[derive(Debug, Clone, Default)]
pub struct Queues {
    /// Requests waiting for admission, first to be admitted at the front.
    pub waiting: VecDeque<u32>,
    /// Admitted sequences, oldest first.
    pub running: Vec<u32>,
    /// Free KV-cache blocks.
    pub free_blocks: u64,
    /// All KV-cache blocks.
    pub total_blocks: u64,
    /// Tokens per block.
    pub block_size: u32,
    /// How a sequence's cache grows with its context: layers with a sliding window keep only
    /// their window, so such a model's sequences need fewer blocks once past it. Set with
    /// [`Queues::new`].
    kv: KvFootprint,
    /// Up to this many tokens a sequence's footprint is exactly its length (`u64::MAX`
    /// without a window), which the float formula would only approximate.
    kv_exact_up_to: u64,
    /// Preemptions so far.
    pub preemptions: u64,
    /// Current time, s.
    pub now: f64,
}

impl Queues {
    /// Empty queues over a cache of `total_blocks` blocks of `block_size` tokens.
    pub fn new(total_blocks: u64, block_size: u32, kv: KvFootprint) -> Self {
        Self {
            free_blocks: total_blocks,
            total_blocks,
            block_size,
            kv,
            kv_exact_up_to: if kv.is_full() {
                u64::MAX
            } else {
                // Below the window every layer keeps every token.
                kv.window.clamp(0.0, f64::from(u32::MAX)) as u64
            },
            ..Self::default()
        }
    }

    /// Cache a sequence of `tokens` tokens occupies, in tokens cached in every layer
    /// (rounded up).
    #[inline]
    pub fn footprint(&self, tokens: u64) -> u64 {
        if tokens <= self.kv_exact_up_to {
            tokens
        } else {
            // At most `tokens` (the share is at most 1), and exact in f64 below 2^53.
            self.kv.tokens(tokens as f64).ceil() as u64
        }
    }

    /// Blocks needed to hold a sequence of `tokens` tokens.
    #[inline]
    pub fn blocks_for(&self, tokens: u32) -> u32 {
        // At most `tokens`, so it fits in a u32.
        self.footprint(u64::from(tokens))
            .div_ceil(u64::from(self.block_size)) as u32
    }

    /// Whether `blocks` blocks hold a sequence of `tokens` tokens.
    #[inline]
    pub fn holds(&self, blocks: u32, tokens: u64) -> bool {
        // A multiply is far cheaper than a division; and as the footprint is at most the
        // length, most calls are settled without computing it.
        let room = u64::from(blocks) * u64::from(self.block_size);
        tokens <= room || self.footprint(tokens) <= room
    }

    /// Grows a sequence's allocation to hold `tokens` tokens; false if the cache lacks room.
    #[inline]
    pub fn grow(&mut self, s: &mut Seq, tokens: u32) -> bool {
        // Most calls need no new block.
        if self.holds(s.blocks, u64::from(tokens)) {
            return true;
        }
        let need = self.blocks_for(tokens).saturating_sub(s.blocks);
        if u64::from(need) > self.free_blocks {
            return false;
        }
        self.free_blocks -= u64::from(need);
        s.blocks += need;
        true
    }

    /// Preempts the most recently admitted running sequence by recompute: its blocks are
    /// freed, it goes to the front of the waiting queue and will prefill its prompt and
    /// generated tokens again. Returns its slot.
    pub fn preempt_last(&mut self, seqs: &mut [Seq]) -> Option<u32> {
        let slot = self.running.pop()?;
        let s = &mut seqs[slot as usize];
        self.free_blocks += u64::from(s.blocks);
        s.blocks = 0;
        s.computed = 0;
        s.prompt = s.input + s.generated;
        s.preemptions += 1;
        self.preemptions += 1;
        self.waiting.push_front(slot);
        Some(slot)
    }
}

/// A batch scheduling policy.
pub trait Policy: std::fmt::Debug {
    /// Chooses the work of the next iteration: fills `plan` (cleared by the caller), and
    /// moves sequences between `q.waiting` and `q.running`, allocating KV blocks. An empty
    /// plan leaves the replica idle until the next arrival.
    fn schedule(&mut self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>);

    /// Largest number of sequences in one iteration.
    fn max_batch(&self) -> u32;

    /// Called instead of [`Policy::schedule`] when every running sequence is decoding, already
    /// holds the KV block for its next token, and has been put in `plan` as a one-token
    /// decode, in running order. The policy may only add waiting sequences (prefill chunks)
    /// after them. Returns false when it cannot work this way; the simulator then clears the
    /// plan and calls `schedule`. The default always returns false: correct, only slower.
    fn extend(&mut self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>) -> bool {
        let _ = (q, seqs, plan);
        false
    }
}

/// Which policy, with its settings (the `scheduler` table of a config file).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchedulerConfig {
    /// vLLM-style continuous batching: sequences join and leave the batch at every
    /// iteration.
    Continuous {
        /// Most sequences running at once (vLLM `max_num_seqs`).
        #[serde(default = "default_max_seqs")]
        max_num_seqs: u32,
        /// Most tokens processed in one iteration (vLLM `max_num_batched_tokens`).
        #[serde(default = "default_max_tokens")]
        max_batched_tokens: u32,
        /// Split long prompts into chunks that share iterations with decoding sequences
        /// (vLLM V1 default).
        #[serde(default = "yes")]
        chunked_prefill: bool,
    },
    /// Static batching: a batch is formed from the waiting requests when the replica is
    /// empty, and runs until its last sequence finishes; its KV cache is reserved for full
    /// length up front.
    Static {
        /// Most sequences per batch.
        #[serde(default = "default_max_seqs")]
        batch_size: u32,
    },
}

fn default_max_seqs() -> u32 {
    256
}
fn default_max_tokens() -> u32 {
    8192
}
fn yes() -> bool {
    true
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig::Continuous {
            max_num_seqs: default_max_seqs(),
            max_batched_tokens: default_max_tokens(),
            chunked_prefill: true,
        }
    }
}

impl SchedulerConfig {
    /// Continuous batching with a given `max_num_seqs` and vLLM's other defaults.
    pub fn continuous(max_num_seqs: u32) -> Self {
        SchedulerConfig::Continuous {
            max_num_seqs,
            max_batched_tokens: default_max_tokens(),
            chunked_prefill: true,
        }
    }

    /// Builds the policy.
    pub fn build(&self) -> Result<Box<dyn Policy>, SimError> {
        match *self {
            SchedulerConfig::Continuous {
                max_num_seqs,
                max_batched_tokens,
                chunked_prefill,
            } => {
                if max_num_seqs == 0 {
                    return Err(SimError::invalid(
                        "scheduler.max_num_seqs",
                        "must be at least 1",
                    ));
                }
                if max_batched_tokens == 0 {
                    return Err(SimError::invalid(
                        "scheduler.max_batched_tokens",
                        "must be at least 1",
                    ));
                }
                Ok(Box::new(Continuous {
                    max_seqs: max_num_seqs,
                    max_tokens: max_batched_tokens,
                    chunked: chunked_prefill,
                }))
            }
            SchedulerConfig::Static { batch_size } => {
                if batch_size == 0 {
                    return Err(SimError::invalid(
                        "scheduler.batch_size",
                        "must be at least 1",
                    ));
                }
                Ok(Box::new(Static { batch_size }))
            }
        }
    }
}

/// Continuous batching as in vLLM V1: running sequences first (one token each when
/// decoding, a chunk when prefilling), then waiting ones in order while the token budget,
/// the sequence limit and the KV cache allow. When a running sequence needs a block and the
/// cache is full, the most recently admitted one is preempted (recompute).
#[derive(Debug, Clone)]
pub struct Continuous {
    max_seqs: u32,
    max_tokens: u32,
    chunked: bool,
}

impl Policy for Continuous {
    fn schedule(&mut self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>) {
        let mut budget = self.max_tokens;
        let mut preempted = false;
        let mut i = 0;
        while i < q.running.len() {
            let slot = q.running[i];
            let s = &seqs[slot as usize];
            let computed = s.computed;
            let (tokens, prefill) = if s.prefilling() {
                let left = s.prompt - computed;
                (if self.chunked { left.min(budget) } else { left }, true)
            } else {
                (1, false)
            };
            if tokens == 0 || tokens > budget {
                i += 1;
                continue;
            }
            // Make room, preempting from the back of the running list.
            let mut fits = false;
            loop {
                if q.grow(&mut seqs[slot as usize], computed + tokens) {
                    fits = true;
                    break;
                }
                preempted = true;
                match q.preempt_last(seqs) {
                    Some(p) if p == slot => break,
                    Some(_) => {}
                    None => break,
                }
            }
            if !fits {
                break;
            }
            plan.push(Planned {
                slot,
                tokens,
                prefill,
            });
            budget = budget.saturating_sub(tokens);
            i += 1;
        }
        if preempted {
            return;
        }
        self.admit(q, seqs, plan, budget);
    }

    fn max_batch(&self) -> u32 {
        self.max_seqs
    }

    fn extend(&mut self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>) -> bool {
        let n = plan.len();
        if n > self.max_tokens as usize {
            return false;
        }
        self.admit(q, seqs, plan, self.max_tokens - n as u32);
        true
    }
}

impl Continuous {
    /// Admits waiting sequences in order while the token budget, the sequence limit and the
    /// KV cache allow.
    fn admit(&self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>, mut budget: u32) {
        while budget > 0 && (q.running.len() as u32) < self.max_seqs {
            let Some(&slot) = q.waiting.front() else {
                break;
            };
            let s = &seqs[slot as usize];
            let computed = s.computed;
            let left = s.prompt - computed;
            let tokens = if self.chunked {
                left.min(budget)
            } else if left <= budget || plan.is_empty() {
                // An unchunked prompt longer than the budget runs alone rather than never.
                left
            } else {
                break;
            };
            if !q.grow(&mut seqs[slot as usize], computed + tokens) {
                break;
            }
            q.waiting.pop_front();
            let s = &mut seqs[slot as usize];
            if s.first_scheduled_s < 0.0 {
                s.first_scheduled_s = q.now;
            }
            q.running.push(slot);
            plan.push(Planned {
                slot,
                tokens,
                prefill: true,
            });
            budget = budget.saturating_sub(tokens);
        }
    }
}

/// Static batching: admit up to `batch_size` whole prompts when nothing runs, reserving KV
/// for their full length; then decode until all have finished.
#[derive(Debug, Clone)]
pub struct Static {
    batch_size: u32,
}

impl Policy for Static {
    fn schedule(&mut self, q: &mut Queues, seqs: &mut [Seq], plan: &mut Vec<Planned>) {
        if q.running.is_empty() {
            while (q.running.len() as u32) < self.batch_size {
                let Some(&slot) = q.waiting.front() else {
                    break;
                };
                let s = &seqs[slot as usize];
                let full = s.input + s.output;
                if !q.grow(&mut seqs[slot as usize], full) {
                    break;
                }
                q.waiting.pop_front();
                let s = &mut seqs[slot as usize];
                if s.first_scheduled_s < 0.0 {
                    s.first_scheduled_s = q.now;
                }
                q.running.push(slot);
            }
        }
        for &slot in &q.running {
            let s = &seqs[slot as usize];
            if s.prefilling() {
                plan.push(Planned {
                    slot,
                    tokens: s.prompt - s.computed,
                    prefill: true,
                });
            } else {
                plan.push(Planned {
                    slot,
                    tokens: 1,
                    prefill: false,
                });
            }
        }
    }

    fn max_batch(&self) -> u32 {
        self.batch_size
    }

    fn extend(&mut self, q: &mut Queues, _seqs: &mut [Seq], plan: &mut Vec<Planned>) -> bool {
        // A batch runs to its end undisturbed; an empty replica forms a new one in
        // `schedule`.
        !plan.is_empty() && plan.len() == q.running.len()
    }
}
