//! A minimal in-memory durable-execution service for live benchmarks: every checkpoint call
//! takes a fixed latency, returns a fresh token and echoes the changed operations.
//!
//! It validates nothing (durable-local's `LocalService` does); it exists so the benchmark
//! measures the SDK and the latency, not a service implementation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_proto::{
    ApiFailure, CheckpointResponse, ExecutionState, Operation, OperationAction, OperationStatus,
    OperationUpdate, StepDetails,
};
use durable_tokio::{BoxFuture, CheckpointClient};

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    updates: AtomicU64,
    attempts: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

/// The fake service and its client in one: implements [`CheckpointClient`].
#[derive(Debug, Clone)]
pub struct FakeService {
    latency: Duration,
    counters: Arc<Counters>,
}

impl FakeService {
    /// A service whose every call takes `latency` (a `tokio::time::sleep`; none if zero).
    pub fn new(latency: Duration) -> Self {
        Self {
            latency,
            counters: Arc::default(),
        }
    }

    /// Checkpoint and state calls received.
    pub fn calls(&self) -> u64 {
        self.counters.calls.load(Ordering::SeqCst)
    }

    /// Updates received in checkpoint calls.
    pub fn updates(&self) -> u64 {
        self.counters.updates.load(Ordering::SeqCst)
    }
}

fn echo(
    update: &OperationUpdate,
    attempts: &mut std::collections::HashMap<String, u32>,
) -> Operation {
    let status = match update.action {
        OperationAction::Start => OperationStatus::Started,
        OperationAction::Succeed => OperationStatus::Succeeded,
        OperationAction::Fail => OperationStatus::Failed,
        OperationAction::Retry => OperationStatus::Pending,
        _ => OperationStatus::Cancelled,
    };
    let attempt = attempts.entry(update.id.clone()).or_default();
    if update.action != OperationAction::Start {
        *attempt += 1;
    }
    Operation {
        id: update.id.clone(),
        parent_id: update.parent_id.clone(),
        name: update.name.clone(),
        operation_type: update.operation_type.clone(),
        sub_type: update.sub_type.clone(),
        start_timestamp: None,
        end_timestamp: None,
        status,
        execution_details: None,
        context_details: None,
        step_details: Some(Box::new(StepDetails {
            attempt: *attempt,
            next_attempt_timestamp: None,
            result: update.payload.clone(),
            error: update.error.clone(),
        })),
        wait_details: None,
        callback_details: None,
        chained_invoke_details: None,
    }
}

impl CheckpointClient for FakeService {
    fn checkpoint(
        &self,
        _arn: String,
        _token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        let n = self.counters.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.counters
            .updates
            .fetch_add(updates.len() as u64, Ordering::SeqCst);
        let (latency, counters) = (self.latency, self.counters.clone());
        Box::pin(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let operations = {
                let mut attempts = counters.attempts.lock().unwrap_or_else(|p| p.into_inner());
                updates.iter().map(|u| echo(u, &mut attempts)).collect()
            };
            Ok(CheckpointResponse {
                checkpoint_token: Some(format!("t{n}")),
                new_execution_state: ExecutionState {
                    operations,
                    next_marker: None,
                },
            })
        })
    }

    fn get_state(
        &self,
        _arn: String,
        _token: String,
        _marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        self.counters.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(ExecutionState::default()) })
    }
}
