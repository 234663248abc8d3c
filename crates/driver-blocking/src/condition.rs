//! Wait-for-condition for synchronous user code: the async driver's core, with the check
//! run on the handler's thread.

use durable_tokio::front::{catch_panic, ConditionCall, ConditionConfig, ConditionEntered};
use durable_tokio::{DurableError, StepContext, StepError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::DurableContext;

/// A wait for a condition, configured; [`run`](WaitForCondition::run) it.
#[must_use = "a wait for a condition does nothing until run"]
pub struct WaitForCondition<'c, S, F> {
    ctx: &'c DurableContext,
    check: F,
    config: ConditionConfig<S>,
}

impl<'c, S: Serialize + DeserializeOwned + 'static, F> WaitForCondition<'c, S, F> {
    pub(crate) fn new(ctx: &'c DurableContext, name: Option<&str>, initial: S, check: F) -> Self {
        Self {
            ctx,
            check,
            config: ConditionConfig::new(name, initial),
        }
    }
}

impl<S, F> WaitForCondition<'_, S, F> {
    durable_tokio::condition_builder_methods!();
}

impl<S, F> WaitForCondition<'_, S, F>
where
    F: FnOnce(S, &StepContext) -> Result<S, StepError>,
{
    /// Runs it: the recorded final state on replay, or one check (then
    /// [`DurableError::Suspended`] until the next one is due, unless the condition holds).
    pub fn run(self) -> Result<S, DurableError> {
        let ctx = self.ctx;
        let mut call = ConditionCall::begin(ctx.inner(), self.config);
        let result = match call.enter() {
            Err(e) => Err(e),
            Ok(ConditionEntered::Done(state)) => Ok(state),
            Ok(ConditionEntered::Check(op, wait_for)) => {
                if let Some(ticket) = wait_for {
                    ctx.runtime
                        .block_on(durable_tokio::front::wait_acknowledged(ctx.inner(), ticket));
                }
                match call.start(op) {
                    Err(e) => Err(e),
                    Ok((state, step_ctx)) => {
                        let returned = durable_tokio::front::run_blocking_body(op, || {
                            catch_panic(|| (self.check)(state, &step_ctx))
                        });
                        call.checked(op, returned)
                    }
                }
            }
        };
        ctx.finish(result)
    }
}
