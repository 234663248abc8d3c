//! Replay-safe randomness: random sources and UUIDs that are the same on every replay of
//! the same point of the code, so orchestration code never needs an ambient RNG.
//!
//! A draw is keyed by the execution ARN, the context's id, the position of the next
//! operation in that context and how many draws were made since the previous operation was
//! begun there. Code that begins the same operations in the same order (what replay already
//! requires) therefore draws the same values; branches that draw concurrently in one context
//! should each have a child context, as for operation ids.

use sha2::{Digest, Sha256};

use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::rng::SeededRng;

impl Execution {
    /// The next deterministic random source of context `ctx` (see the module docs): the
    /// same stream on every replay of the same point. Drawing needs no checkpoint.
    pub fn deterministic_rng(&mut self, ctx: ContextRef) -> Result<SeededRng, ExecutionError> {
        let key = self.draw_key(ctx)?;
        Ok(SeededRng::from_key(&key))
    }

    /// A version-4-shaped UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`) derived like
    /// [`deterministic_rng`](Self::deterministic_rng), from SHA-256 of the draw's key: the
    /// same on every replay of the same point, distinct across executions and points.
    pub fn deterministic_uuid(&mut self, ctx: ContextRef) -> Result<String, ExecutionError> {
        let key = self.draw_key(ctx)?;
        let digest = Sha256::digest(&key);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    fn draw_key(&mut self, ctx: ContextRef) -> Result<Vec<u8>, ExecutionError> {
        self.ensure_running()?;
        if let Some(step) = self.in_body {
            // A step body runs only until its result is recorded and is skipped on replay:
            // its draws are keyed by the step and attempt, and leave the context's counter
            // alone so that the draws after the step are the same on replay.
            let (id, attempt) = self
                .table
                .get(step)
                .map(|s| (s.identity.id.clone(), s.attempt))
                .unwrap_or_default();
            if self.body_draws.0 != Some(step) {
                self.body_draws = (Some(step), 0);
            }
            self.body_draws.1 = self.body_draws.1.saturating_add(1);
            let mut key = self.arn.as_bytes().to_vec();
            for part in [id, attempt.to_string(), self.body_draws.1.to_string()] {
                key.push(0);
                key.extend_from_slice(part.as_bytes());
            }
            key.extend_from_slice(b"\0body");
            return Ok(key);
        }
        let context = self
            .journal
            .context_mut(ctx)
            .ok_or(ExecutionError::Misuse {
                what: "unknown context handle",
            })?;
        if context.draw_position != context.started {
            context.draw_position = context.started;
            context.draws = 0;
        }
        context.draws = context.draws.saturating_add(1);
        // NUL separates the parts: it occurs in none of them.
        let mut key = Vec::with_capacity(self.arn.len() + 40);
        key.extend_from_slice(self.arn.as_bytes());
        key.push(0);
        key.extend_from_slice(context.id.as_deref().unwrap_or("").as_bytes());
        key.push(0);
        key.extend_from_slice(context.started.to_string().as_bytes());
        key.push(0);
        key.extend_from_slice(context.draws.to_string().as_bytes());
        Ok(key)
    }
}
