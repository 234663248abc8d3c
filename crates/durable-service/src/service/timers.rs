//! Service-side timers of one execution: retry delays, waits, callback timeouts and the
//! execution timeout.

use durable_proto::{ErrorObject, OperationStatus, OperationType, Timestamp};

use crate::clock::{Timer, TimerKind};
use crate::history::{event_error, ErrorDetails, EventDetails, WaitSucceededDetails};
use crate::service::record::{ExecutionRecord, ExecutionStatus};

/// The `ErrorType` of a callback that timed out.
pub const CALLBACK_TIMEOUT_ERROR: &str = "Callback.Timeout";
/// The `ErrorType` of a callback that missed its heartbeat.
pub const CALLBACK_HEARTBEAT_ERROR: &str = "Callback.Heartbeat";
/// The `ErrorType` of an execution that ran past its timeout.
pub const EXECUTION_TIMEOUT_ERROR: &str = "Execution.Timeout";

impl ExecutionRecord {
    /// Every timer still to fire, in operation order (the execution timeout last).
    pub fn timers(&self) -> Vec<Timer> {
        let mut timers = Vec::new();
        if self.status.is_terminal() {
            return timers;
        }
        for op in &self.operations {
            let timer = |due: Option<Timestamp>, kind| {
                due.map(|due| Timer {
                    due,
                    kind,
                    operation_id: op.id.clone(),
                })
            };
            match (&op.operation_type, &op.status) {
                (OperationType::Step, OperationStatus::Pending) => {
                    let due = op
                        .step_details
                        .as_ref()
                        .and_then(|d| d.next_attempt_timestamp);
                    timers.extend(timer(due, TimerKind::StepRetry));
                }
                (OperationType::Wait, OperationStatus::Started) => {
                    let due = op
                        .wait_details
                        .as_ref()
                        .and_then(|d| d.scheduled_end_timestamp);
                    timers.extend(timer(due, TimerKind::WaitEnd));
                }
                (OperationType::Callback, OperationStatus::Started) => {
                    if let Some(t) = self.callback_timers.get(&op.id) {
                        timers.extend(timer(t.timeout_at, TimerKind::CallbackTimeout));
                        timers.extend(timer(t.heartbeat_at, TimerKind::CallbackHeartbeat));
                    }
                }
                _ => {}
            }
        }
        if let Some(due) = self.timeout_at {
            timers.push(Timer {
                due,
                kind: TimerKind::ExecutionTimeout,
                operation_id: self.execution_id.clone(),
            });
        }
        timers
    }

    /// The earliest timer still to fire.
    pub fn next_timer(&self) -> Option<Timer> {
        self.timers().into_iter().min_by_key(|t| t.due)
    }

    /// Fires every timer due at `now`, in due order. Returns how many fired.
    pub(crate) fn fire_due_timers(&mut self, now: Timestamp) -> usize {
        let mut due: Vec<Timer> = self.timers().into_iter().filter(|t| t.due <= now).collect();
        due.sort_by_key(|t| t.due);
        let mut fired = 0;
        for timer in due {
            if self.status.is_terminal() {
                break;
            }
            if self.fire(&timer, now) {
                fired += 1;
            }
        }
        fired
    }

    fn fire(&mut self, timer: &Timer, now: Timestamp) -> bool {
        let id = timer.operation_id.as_str();
        match timer.kind {
            TimerKind::StepRetry => {
                let Some(op) = self.operation_mut(id) else {
                    return false;
                };
                if op.status != OperationStatus::Pending {
                    return false;
                }
                op.status = OperationStatus::Ready;
                if let Some(d) = op.step_details.as_mut() {
                    d.next_attempt_timestamp = None;
                }
            }
            TimerKind::WaitEnd => {
                let Some(op) = self.operation_mut(id) else {
                    return false;
                };
                if op.status != OperationStatus::Started {
                    return false;
                }
                op.status = OperationStatus::Succeeded;
                op.end_timestamp = Some(now);
                let duration = match (op.start_timestamp, timer.due) {
                    (Some(start), end) => {
                        u32::try_from((end.as_millis() - start.as_millis()) / 1000).ok()
                    }
                    (None, _) => None,
                };
                self.push_event(
                    Some(id),
                    now,
                    EventDetails::WaitSucceeded(WaitSucceededDetails { duration }),
                );
            }
            TimerKind::CallbackTimeout | TimerKind::CallbackHeartbeat => {
                let (error_type, message) = if timer.kind == TimerKind::CallbackTimeout {
                    (CALLBACK_TIMEOUT_ERROR, "Callback timed out.")
                } else {
                    (
                        CALLBACK_HEARTBEAT_ERROR,
                        "Callback timed out waiting for a heartbeat.",
                    )
                };
                let error = ErrorObject::new(error_type, message);
                let Some(op) = self.operation_mut(id) else {
                    return false;
                };
                if op.status != OperationStatus::Started {
                    return false;
                }
                op.status = OperationStatus::TimedOut;
                op.end_timestamp = Some(now);
                op.callback_details
                    .get_or_insert_with(Default::default)
                    .error = Some(error.clone());
                self.callback_timers.remove(id);
                self.push_event(
                    Some(id),
                    now,
                    EventDetails::CallbackTimedOut(ErrorDetails {
                        error: event_error(Some(&error)),
                    }),
                );
            }
            TimerKind::ExecutionTimeout => {
                let error = ErrorObject::new(
                    EXECUTION_TIMEOUT_ERROR,
                    "The execution ran longer than its execution timeout.",
                );
                self.finish(ExecutionStatus::TimedOut, None, Some(error), now);
                return true;
            }
        }
        self.note_external_change(id);
        true
    }
}
