//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use durable_local::{LocalService, ServiceConfig, ServiceError};
use durable_proto::{
    ContextOptions, ErrorObject, OperationAction, OperationType, OperationUpdate, StepOptions,
    WaitOptions,
};

/// A service with one execution whose first invocation is in flight.
pub struct Fixture {
    pub svc: LocalService,
    pub arn: String,
    pub token: String,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_config(ServiceConfig::default())
    }

    pub fn with_config(config: ServiceConfig) -> Self {
        let mut svc = LocalService::new(config);
        let arn = svc.start_execution("orders", r#"{"id":7}"#).unwrap();
        let token = svc.begin_invocation(&arn).unwrap().checkpoint_token;
        Self { svc, arn, token }
    }

    /// Checkpoints `updates` with the current token; on success the token rotates.
    pub fn checkpoint(&mut self, updates: Vec<OperationUpdate>) -> Result<(), ServiceError> {
        let response = self.svc.checkpoint(&self.arn, &self.token, updates)?;
        if let Some(token) = response.checkpoint_token {
            self.token = token;
        }
        Ok(())
    }

    /// Asserts that `updates` is rejected with `InvalidParameterValueException: message`
    /// and changes nothing.
    pub fn rejects(&mut self, updates: Vec<OperationUpdate>, message: &str) {
        let before = self.svc.execution(&self.arn).unwrap().clone();
        let err = self.checkpoint(updates).unwrap_err();
        assert_eq!(err.error_name(), "InvalidParameterValueException", "{err}");
        assert_eq!(err.message(), message);
        let after = self.svc.execution(&self.arn).unwrap();
        assert_eq!(
            after.operations(),
            before.operations(),
            "a rejected batch changed state"
        );
        assert_eq!(
            after.events(),
            before.events(),
            "a rejected batch recorded events"
        );
        assert_eq!(after.checkpoint_token(), before.checkpoint_token());
    }

    pub fn status(&self, id: &str) -> String {
        let record = self.svc.execution(&self.arn).unwrap();
        record.operation(id).unwrap().status.to_string()
    }

    pub fn attempt(&self, id: &str) -> u32 {
        let record = self.svc.execution(&self.arn).unwrap();
        let op = record.operation(id).unwrap();
        op.step_details.as_ref().map_or(0, |d| d.attempt)
    }
}

pub fn update(id: &str, t: OperationType, a: OperationAction) -> OperationUpdate {
    let mut u = OperationUpdate::new(id, t, a);
    u.name = Some(format!("op-{id}"));
    u
}

pub fn step(id: &str, action: OperationAction) -> OperationUpdate {
    let mut u = update(id, OperationType::Step, action);
    u.sub_type = Some("Step".into());
    u
}

pub fn step_succeed(id: &str, payload: &str) -> OperationUpdate {
    let mut u = step(id, OperationAction::Succeed);
    u.payload = Some(payload.into());
    u
}

pub fn step_retry(id: &str, delay: u32) -> OperationUpdate {
    let mut u = step(id, OperationAction::Retry);
    u.error = Some(ErrorObject::new("Boom", "transient"));
    u.step_options = Some(StepOptions {
        next_attempt_delay_seconds: Some(delay),
    });
    u
}

pub fn wait_start(id: &str, seconds: u32) -> OperationUpdate {
    let mut u = update(id, OperationType::Wait, OperationAction::Start);
    u.sub_type = Some("Wait".into());
    u.wait_options = Some(WaitOptions {
        wait_seconds: Some(seconds),
    });
    u
}

pub fn context(id: &str, action: OperationAction) -> OperationUpdate {
    let mut u = update(id, OperationType::Context, action);
    u.sub_type = Some("RunInChildContext".into());
    u
}

pub fn context_succeed(id: &str, replay_children: bool) -> OperationUpdate {
    let mut u = context(id, OperationAction::Succeed);
    u.payload = Some("\"done\"".into());
    u.context_options = Some(ContextOptions {
        replay_children: Some(replay_children),
    });
    u
}

pub fn child(mut u: OperationUpdate, parent: &str) -> OperationUpdate {
    u.parent_id = Some(parent.into());
    u
}

pub fn execution_update(id: &str, action: OperationAction) -> OperationUpdate {
    OperationUpdate::new(id, OperationType::Execution, action)
}
