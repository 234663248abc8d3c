//! Limits and knobs of one execution engine.

/// Limits the engine enforces so that it never sends what the service would reject, and
/// the bound on pipelined (unacknowledged) work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecutionConfig {
    /// Most updates in one checkpoint call. Default 250.
    pub max_batch_updates: usize,
    /// Most estimated bytes in one checkpoint call. Default 750 KiB.
    pub max_batch_bytes: usize,
    /// Largest serialized result (or error) of one operation. Default 256 KiB.
    ///
    /// A step whose result is larger fails with a `PayloadTooLarge` error (not retried)
    /// instead of having the service reject the checkpoint.
    pub max_operation_payload_bytes: usize,
    /// Largest result returned inline in the Lambda response. Default 6 MiB − 50 bytes; a
    /// larger result is checkpointed on the EXECUTION operation and the response carries
    /// an empty result.
    pub max_inline_result_bytes: usize,
    /// Largest execution result that may be checkpointed at all. Default 6 MiB.
    pub max_execution_result_bytes: usize,
    /// How many updates may be queued or in flight, unacknowledged, before user code must
    /// wait for a checkpoint round trip. Default 250 (one full batch).
    ///
    /// A crash loses at most this much acknowledged-by-nobody work: at-least-once steps whose
    /// SUCCEED was not yet acknowledged run again on the next invocation.
    pub max_unacknowledged_updates: usize,
    /// Seed of the RNG retry jitter draws from. `None` (the default) derives it from the
    /// execution ARN and the invocation's checkpoint token, so the same inputs give the same
    /// updates.
    pub seed: Option<u64>,
    /// Refuse (and fail the execution) when an operation is begun in a context while
    /// another operation of that context is in progress (awaited and not finished).
    /// Default `true`.
    ///
    /// Such an id depends on when the other operation finishes, which a replay does not
    /// reproduce: two joined branches that each run several operations would get each
    /// other's results on replay. Operations created together (a `join!` of operation
    /// futures) are not in progress for each other. The engine cannot tell a race from a
    /// sliding window that begins every operation from one loop in a fixed order
    /// (`FuturesUnordered`, `buffer_unordered`), which is safe; code built that way may turn
    /// the check off. Give branches their own child contexts instead where you can.
    pub check_concurrent_begins: bool,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            max_batch_updates: 250,
            max_batch_bytes: 750 * 1024,
            max_operation_payload_bytes: 256 * 1024,
            max_inline_result_bytes: 6 * 1024 * 1024 - 50,
            max_execution_result_bytes: 6 * 1024 * 1024,
            max_unacknowledged_updates: 250,
            seed: None,
            check_concurrent_begins: true,
        }
    }
}
