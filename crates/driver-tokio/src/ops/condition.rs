//! Wait-for-condition: a check run as a step on a state value, polled with durable delays
//! between checks until the wait strategy says the condition holds.

use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use durable_proto::{
    Backoff, ConditionOutcome, ConditionStart, ErrorObject, FlushTicket, Jitter, OperationHandle,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{DurableContext, Shared, StepContext};
use crate::error::{DurableError, StepError};
use crate::failure::ErrorSource;
use crate::ops::step::decode;
use crate::ops::{or_park, refusal, InBody, Interrupt, ReleaseGuard};
use crate::panic::{catch_panic, CatchPanic};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// The `ErrorType` recorded when a wait strategy runs out of attempts.
pub const CONDITION_EXHAUSTED_ERROR_TYPE: &str = "WaitForConditionAttemptsExhausted";

/// What a wait strategy decided after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitDecision {
    /// Check again after this delay (whole seconds on the wire, at least one).
    Continue(Duration),
    /// The condition holds: finish with the state.
    Stop,
}

/// How a wait-for-condition decides, from the state a check returned and that check's
/// attempt number (1 for the first), whether to check again and when.
///
/// The presets stop once `done(state)` holds and otherwise wait with a backoff; when the
/// attempts run out the wait fails with
/// [`DurableError::ConditionAttemptsExhausted`] (a condition met on the last attempt
/// still succeeds). Defaults: 60 attempts, 5 s initial delay, ×1.5, at most 300 s, full
/// jitter.
///
/// ```
/// use std::time::Duration;
/// use durable_tokio::{Jitter, WaitStrategy};
/// let poll = WaitStrategy::until(|n: &u32| *n >= 3)
///     .max_attempts(10)
///     .initial_delay(Duration::from_secs(2))
///     .jitter(Jitter::None);
/// # let _ = poll;
/// ```
pub struct WaitStrategy<S> {
    kind: StrategyKind<S>,
}

type Decide<S> = Arc<dyn Fn(&S, u32) -> WaitDecision + Send + Sync>;

enum StrategyKind<S> {
    Preset(Arc<dyn Fn(&S) -> bool + Send + Sync>, Params),
    Custom(Decide<S>),
}

/// The preset's numbers.
#[derive(Debug, Clone, Copy)]
struct Params {
    max_attempts: u32,
    initial: Duration,
    max: Duration,
    backoff: Backoff,
    jitter: Jitter,
}

impl<S> Clone for WaitStrategy<S> {
    fn clone(&self) -> Self {
        Self {
            kind: match &self.kind {
                StrategyKind::Preset(done, params) => StrategyKind::Preset(done.clone(), *params),
                StrategyKind::Custom(f) => StrategyKind::Custom(f.clone()),
            },
        }
    }
}

impl<S> Debug for WaitStrategy<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            StrategyKind::Preset(_, params) => f.debug_tuple("WaitStrategy").field(params).finish(),
            StrategyKind::Custom(_) => f.write_str("WaitStrategy(custom)"),
        }
    }
}

impl<S> WaitStrategy<S> {
    /// Checks until `done(state)` holds, with the default exponential backoff.
    pub fn until(done: impl Fn(&S) -> bool + Send + Sync + 'static) -> Self {
        Self {
            kind: StrategyKind::Preset(
                Arc::new(done),
                Params {
                    max_attempts: 60,
                    initial: Duration::from_secs(5),
                    max: Duration::from_secs(300),
                    backoff: Backoff::Exponential { rate: 1.5 },
                    jitter: Jitter::Full,
                },
            ),
        }
    }

    /// A strategy of your own: the decision from the state and the attempt number. It has
    /// no attempt limit but the ones it applies itself.
    pub fn from_fn(decide: impl Fn(&S, u32) -> WaitDecision + Send + Sync + 'static) -> Self {
        Self {
            kind: StrategyKind::Custom(Arc::new(decide)),
        }
    }

    fn preset(mut self, edit: impl FnOnce(&mut Params)) -> Self {
        if let StrategyKind::Preset(_, params) = &mut self.kind {
            edit(params);
        }
        self
    }

    /// At most `n` checks (counting the first); ignored by [`from_fn`](Self::from_fn).
    pub fn max_attempts(self, n: u32) -> Self {
        self.preset(|p| p.max_attempts = n.max(1))
    }

    /// The delay after the first check.
    pub fn initial_delay(self, delay: Duration) -> Self {
        self.preset(|p| p.initial = delay)
    }

    /// The longest delay.
    pub fn max_delay(self, delay: Duration) -> Self {
        self.preset(|p| p.max = delay)
    }

    /// Multiplies the delay by `rate` after each check.
    pub fn backoff_rate(self, rate: f64) -> Self {
        self.preset(|p| p.backoff = Backoff::Exponential { rate })
    }

    /// The same delay every time, without jitter.
    pub fn fixed(self, delay: Duration) -> Self {
        self.preset(|p| {
            p.initial = delay;
            p.max = delay;
            p.backoff = Backoff::Linear {
                increment: Duration::ZERO,
            };
            p.jitter = Jitter::None;
        })
    }

    /// The delay grows by `increment` after each check.
    pub fn linear(self, increment: Duration) -> Self {
        self.preset(|p| p.backoff = Backoff::Linear { increment })
    }

    /// The jitter applied to each delay (drawn from the execution's seeded RNG).
    pub fn jitter(self, jitter: Jitter) -> Self {
        self.preset(|p| p.jitter = jitter)
    }

    /// What follows a check that left `state`, on attempt `attempt`.
    fn decide(&self, state: &S, attempt: u32, label: &str) -> Decision {
        match &self.kind {
            StrategyKind::Custom(f) => match f(state, attempt) {
                WaitDecision::Stop => Decision::Stop,
                WaitDecision::Continue(delay) => Decision::Continue(delay, Jitter::None),
            },
            StrategyKind::Preset(done, p) => {
                let (max_attempts, initial, max) = (&p.max_attempts, &p.initial, &p.max);
                if done(state) {
                    return Decision::Stop;
                }
                if attempt >= *max_attempts {
                    return Decision::Exhausted(ErrorObject::new(
                        CONDITION_EXHAUSTED_ERROR_TYPE,
                        format!(
                            "the condition of {label} still did not hold after {attempt} \
                             checks (max_attempts {max_attempts})"
                        ),
                    ));
                }
                // The retry policy's arithmetic, so delays round alike in both features.
                let policy = match p.backoff {
                    Backoff::Exponential { rate } => {
                        durable_proto::RetryPolicy::try_exponential(u32::MAX, *initial, *max, rate)
                    }
                    Backoff::Linear { increment } => {
                        durable_proto::RetryPolicy::try_linear(u32::MAX, *initial, increment, *max)
                    }
                };
                let delay = policy.map_or(*initial, |p| p.base_delay(attempt));
                Decision::Continue(delay, p.jitter)
            }
        }
    }
}

enum Decision {
    Stop,
    Continue(Duration, Jitter),
    Exhausted(ErrorObject),
}

/// How a wait-for-condition runs: its strategy and state serializer.
#[doc(hidden)]
pub struct ConditionConfig<S> {
    pub name: Option<String>,
    pub initial: Option<S>,
    pub strategy: WaitStrategy<S>,
    pub serdes: Arc<dyn Serdes<S>>,
}

/// The builder methods both front ends' wait-for-condition share (each has a
/// `config: ConditionConfig<S>` field), written once.
#[doc(hidden)]
#[macro_export]
macro_rules! condition_builder_methods {
    () => {
        /// Sets the wait strategy (default: check again with the preset backoff until the
        /// attempts run out — set one that knows when the condition holds).
        pub fn strategy(mut self, strategy: $crate::WaitStrategy<S>) -> Self {
            self.config.strategy = strategy;
            self
        }

        /// Replaces the JSON serializer of the state (it is checkpointed after each check).
        pub fn serdes(mut self, serdes: impl $crate::Serdes<S> + 'static) -> Self {
            self.config.serdes = ::std::sync::Arc::new(serdes);
            self
        }
    };
}

impl<S: Serialize + DeserializeOwned + 'static> ConditionConfig<S> {
    /// A wait named `name` starting from `initial`, with the default strategy and JSON.
    pub fn new(name: Option<&str>, initial: S) -> Self {
        Self {
            name: name.map(str::to_owned),
            initial: Some(initial),
            strategy: WaitStrategy::until(|_| false),
            serdes: Arc::new(Json),
        }
    }
}

/// A wait-for-condition being configured; await it for the final state.
#[must_use = "a wait for a condition does nothing until awaited"]
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
    crate::condition_builder_methods!();
}

impl<'c, S, F, Fut> IntoFuture for WaitForCondition<'c, S, F>
where
    S: Send + 'static,
    F: FnOnce(S, StepContext) -> Fut + Send + 'c,
    Fut: Future<Output = Result<S, StepError>> + Send + 'c,
{
    type Output = Result<S, DurableError>;
    type IntoFuture = OperationFuture<'c, S>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = ConditionCall::begin(self.ctx, self.config);
        if let Some(result) = call.finished_on_record() {
            return OperationFuture::decided(result);
        }
        let check = self.check;
        OperationFuture::pending(async move {
            let result = match call.enter() {
                Err(e) => Err(e),
                Ok(Entered::Done(state)) => Ok(state),
                Ok(Entered::Check(op, wait_for)) => {
                    if let Some(ticket) = wait_for {
                        call.shared.wait_acknowledged(ticket).await;
                    }
                    match call.start(op) {
                        Err(e) => Err(e),
                        Ok((state, step_ctx)) => {
                            let shared = call.shared.clone();
                            shared.lock().exec.enter_body(op);
                            let made = catch_panic(|| check(state, step_ctx));
                            shared.lock().exec.leave_body(op);
                            let returned = match made {
                                Err(panic) => Err(panic),
                                Ok(fut) => {
                                    let polled = InBody {
                                        fut: Box::pin(fut),
                                        shared,
                                        op,
                                    };
                                    CatchPanic(Box::pin(polled)).await
                                }
                            };
                            call.checked(op, returned)
                        }
                    }
                }
            };
            or_park(result).await
        })
    }
}

/// Where a wait-for-condition stands once user code awaits it.
#[doc(hidden)]
pub enum Entered<S> {
    /// Finished on record.
    Done(S),
    /// A check is to run (after the ticket, if any, is acknowledged).
    Check(OperationHandle, Option<FlushTicket>),
}

/// A begun wait-for-condition.
#[doc(hidden)]
pub struct ConditionCall<S> {
    shared: Arc<Shared>,
    start: Result<ConditionStart, Interrupt>,
    config: ConditionConfig<S>,
    state: Option<Option<String>>,
    _guard: Option<ReleaseGuard>,
}

impl<S> ConditionCall<S> {
    /// Begins the wait in `ctx`'s context.
    pub fn begin(ctx: &DurableContext, config: ConditionConfig<S>) -> Self {
        let shared = ctx.shared().clone();
        let start = shared
            .lock()
            .exec
            .begin_wait_for_condition(ctx.context_ref(), config.name.as_deref())
            .map_err(refusal);
        shared.changed.notify_one();
        let op = match &start {
            Ok(
                ConditionStart::Done { op, .. }
                | ConditionStart::Check { op, .. }
                | ConditionStart::Blocked { op },
            ) => Some(*op),
            _ => None,
        };
        Self {
            _guard: ReleaseGuard::watching(&shared, op),
            shared,
            start,
            config,
            state: None,
        }
    }

    /// The recorded final state, when the wait finished on record.
    pub fn finished_on_record(&mut self) -> Option<Result<S, Interrupt>> {
        if !matches!(self.start, Ok(ConditionStart::Done { .. })) {
            return None;
        }
        match self.enter() {
            Ok(Entered::Done(state)) => Some(Ok(state)),
            Err(e) => Some(Err(e)),
            Ok(Entered::Check(..)) => None,
        }
    }

    /// User code awaits the wait: its recorded result, or a check to run.
    pub fn enter(&mut self) -> Result<Entered<S>, Interrupt> {
        let shared = &self.shared;
        match std::mem::replace(&mut self.start, Err(Interrupt::Blocked)) {
            Err(e) => Err(e),
            Ok(ConditionStart::Done { op, result }) => {
                self.decode(op, result, None).map(Entered::Done)
            }
            Ok(ConditionStart::Blocked { op }) => {
                shared.lock().exec.activate(op);
                shared.changed.notify_one();
                Err(Interrupt::Blocked)
            }
            Ok(ConditionStart::Check {
                op,
                state,
                wait_for,
                ..
            }) => {
                shared.lock().exec.activate(op);
                shared.changed.notify_one();
                self.state = Some(state);
                Ok(Entered::Check(op, wait_for))
            }
            Ok(_) => Err(Interrupt::Blocked),
        }
    }

    /// The check is about to run: the state it runs on and the attempt's context.
    pub fn start(&mut self, op: OperationHandle) -> Result<(S, StepContext), Interrupt> {
        let (attempt, id) = {
            let mut g = self.shared.lock();
            let attempt = g.exec.start_attempt(op).map_err(refusal)?;
            let id = g
                .exec
                .identity(op)
                .map(|i| i.id.clone())
                .unwrap_or_default();
            (attempt, id)
        };
        let state = match self.state.take().flatten() {
            Some(text) => self.decode(op, Ok(Some(text)), None)?,
            None => match self.config.initial.take() {
                Some(initial) => initial,
                None => {
                    return Err(Interrupt::Closing(
                        "a wait-for-condition check ran twice (a front-end bug)".into(),
                    ))
                }
            },
        };
        Ok((state, StepContext::new(attempt, id)))
    }

    /// The check returned (`Err` for a panic): the final state, or
    /// [`Interrupt::Blocked`] while the next check is scheduled.
    pub fn checked(
        &mut self,
        op: OperationHandle,
        returned: Result<Result<S, StepError>, ErrorObject>,
    ) -> Result<S, Interrupt> {
        let mut source = None;
        let (label, attempt) = {
            let g = self.shared.lock();
            let label = g
                .exec
                .identity(op)
                .map(|i| format!("{:?} (id {})", i.label(), i.id))
                .unwrap_or_default();
            (label, g.exec.attempt(op).unwrap_or(1))
        };
        let outcome = match returned {
            Err(panic) => ConditionOutcome::Error(panic),
            Ok(Err(e)) => {
                let (object, original) = e.into_parts();
                source = original.map(ErrorSource::from);
                ConditionOutcome::Error(object)
            }
            Ok(Ok(state)) => match self.config.serdes.serialize(&state) {
                Err(message) => ConditionOutcome::Unserializable(message),
                Ok(text) => match self.config.strategy.decide(&state, attempt, &label) {
                    Decision::Stop => ConditionOutcome::Stop(text),
                    Decision::Continue(delay, jitter) => ConditionOutcome::Continue {
                        state: text,
                        delay,
                        jitter,
                    },
                    Decision::Exhausted(error) => ConditionOutcome::Error(error),
                },
            },
        };
        let ended = self
            .shared
            .lock()
            .exec
            .handle_condition_outcome(op, outcome);
        self.shared.changed.notify_one();
        match ended.map_err(refusal)? {
            Some(result) => self.decode(op, result, source),
            None => Err(Interrupt::Blocked),
        }
    }

    /// The final state as user code sees it; a failure is
    /// [`DurableError::ConditionFailed`], or [`DurableError::ConditionAttemptsExhausted`]
    /// when the strategy ran out (decided from the recorded error, so alike on replay).
    fn decode(
        &self,
        op: OperationHandle,
        result: durable_proto::OperationResult,
        source: Option<ErrorSource>,
    ) -> Result<S, Interrupt> {
        match decode(&self.shared, op, &*self.config.serdes, result, source) {
            Err(Interrupt::User(DurableError::StepFailed(f))) => Err(Interrupt::User(
                if f.error_type() == CONDITION_EXHAUSTED_ERROR_TYPE {
                    DurableError::ConditionAttemptsExhausted(f)
                } else {
                    DurableError::ConditionFailed(f)
                },
            )),
            other => other,
        }
    }
}
