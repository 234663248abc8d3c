//! Durable combinators over operation futures (`all`, `all_settled`, `any`, `race`), and
//! block retry (`with_retry`).
//!
//! Which operation finished first depends on timing, and timing differs on replay (finished
//! operations return at once). So a combinator whose answer depends on the order records
//! that answer: a step named by the caller holding the index of the deciding operation. A
//! replay reads it and awaits only that operation (and, where the answer needs them, the
//! others), so it reaches the same answer whatever finishes first now. The operations that
//! did not decide (the losers) are dropped: they stop counting for suspension and are not
//! awaited again; what they recorded before stays recorded, and a later replay still
//! re-creates them (their ids are taken when their futures are made) without awaiting them.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::DurableContext;
use crate::error::{DurableError, StepError};
use crate::ops::or_park;
use crate::ops::step::{StepCall, StepConfig};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// What a recorded decision says: the index of the deciding operation, or `None` when no
/// single operation decided (every one succeeded for `all`, every one failed for `any`).
type Decision = Option<u32>;

type Boxed<'c, T> = Pin<Box<dyn Future<Output = Result<T, DurableError>> + Send + 'c>>;

impl DurableContext {
    /// Every operation's value, in order; the first failure to happen ends it with that
    /// failure (the failing operation's index is recorded in a step named `name`, so a
    /// replay returns the same failure). The operations are created (their ids taken) in
    /// the order given, then awaited together.
    ///
    /// Pass the operations as [`OperationFuture`]s (`.into_future()`), the one future type
    /// of every operation, so different operations fit in one list:
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use std::future::IntoFuture;
    /// let prices: Vec<u64> = ctx
    ///     .all("prices", [
    ///         ctx.step("a", |_| async { Ok(1u64) }).into_future(),
    ///         ctx.invoke("b", "pricing:live", &"b").into_future(),
    ///     ])
    ///     .await?;
    /// # let _ = prices; Ok(()) }
    /// ```
    pub async fn all<'c, T, F>(
        &'c self,
        name: &str,
        operations: impl IntoIterator<Item = F>,
    ) -> Result<Vec<T>, DurableError>
    where
        T: Send + 'c,
        F: IntoFuture<Output = Result<T, DurableError>>,
        F::IntoFuture: Send + 'c,
    {
        let futures = boxed(operations);
        let n = futures.len();
        let decision = self
            .decide(
                name,
                futures,
                move |i, r: &Result<T, DurableError>| r.is_err().then_some(Some(i)),
                None,
            )
            .await?;
        match decision.0 {
            Some(i) => Err(take_err(decision.1, i)),
            None => decision
                .1
                .into_iter()
                .take(n)
                .map(|r| r.unwrap_or_else(|| Err(not_awaited())))
                .collect(),
        }
    }

    /// Every operation's outcome, in order, once all have finished. The answer does not
    /// depend on timing, so nothing is recorded.
    pub async fn all_settled<'c, T, F>(
        &'c self,
        operations: impl IntoIterator<Item = F>,
    ) -> Vec<Result<T, DurableError>>
    where
        T: Send + 'c,
        F: IntoFuture<Output = Result<T, DurableError>>,
        F::IntoFuture: Send + 'c,
    {
        futures_util::future::join_all(boxed(operations)).await
    }

    /// The first operation to succeed, by the time it succeeded (its index is recorded in
    /// a step named `name`); if every one fails, the failure of the first operation given.
    pub async fn any<'c, T, F>(
        &'c self,
        name: &str,
        operations: impl IntoIterator<Item = F>,
    ) -> Result<T, DurableError>
    where
        T: Send + 'c,
        F: IntoFuture<Output = Result<T, DurableError>>,
        F::IntoFuture: Send + 'c,
    {
        self.first("any", name, operations, Result::is_ok).await
    }

    /// The first operation to finish, successfully or not (its index is recorded in a step
    /// named `name`).
    pub async fn race<'c, T, F>(
        &'c self,
        name: &str,
        operations: impl IntoIterator<Item = F>,
    ) -> Result<T, DurableError>
    where
        T: Send + 'c,
        F: IntoFuture<Output = Result<T, DurableError>>,
        F::IntoFuture: Send + 'c,
    {
        self.first("race", name, operations, |_| true).await
    }

    /// The first of `operations` whose result `wins`, by the time it finished (its index is
    /// recorded in a step named `name`); if none wins, the result of the first one given.
    async fn first<'c, T, F>(
        &'c self,
        what: &'static str,
        name: &str,
        operations: impl IntoIterator<Item = F>,
        wins: impl Fn(&Result<T, DurableError>) -> bool,
    ) -> Result<T, DurableError>
    where
        T: Send + 'c,
        F: IntoFuture<Output = Result<T, DurableError>>,
        F::IntoFuture: Send + 'c,
    {
        let futures = boxed(operations);
        if futures.is_empty() {
            return Err(nothing_to_wait_for(what));
        }
        let (decision, mut results) = self
            .decide(name, futures, |i, r| wins(r).then_some(Some(i)), None)
            .await?;
        take(&mut results, decision.unwrap_or(0) as usize)
    }

    /// Awaits `futures` together until `decides(index, result)` returns a
    /// decision, or, once all have finished, takes `when_all`. Records the decision in a
    /// step named `name`; a replay reads it and awaits only what the decision needs.
    async fn decide<'c, T: Send + 'c>(
        &'c self,
        name: &str,
        futures: Vec<Boxed<'c, T>>,
        decides: impl Fn(u32, &Result<T, DurableError>) -> Option<Decision>,
        when_all: Decision,
    ) -> Result<(Decision, Vec<Option<Result<T, DurableError>>>), DurableError> {
        let n = futures.len();
        let mut call = StepCall::<Decision>::begin(self, name.to_owned(), decision_config());
        let mut results: Vec<Option<Result<T, DurableError>>> = (0..n).map(|_| None).collect();
        if let Some(recorded) = call.finished_on_record() {
            let decision = or_park(recorded).await?;
            let mut futures: Vec<Option<Boxed<'c, T>>> = futures.into_iter().map(Some).collect();
            // Only what the recorded answer needs: the deciding operation, or all of them.
            let needed: Vec<usize> = match decision {
                Some(i) if (i as usize) < n => vec![i as usize],
                _ => (0..n).collect(),
            };
            for i in needed {
                if let Some(f) = futures[i].take() {
                    results[i] = Some(f.await);
                }
            }
            return Ok((decision, results));
        }
        let mut running: FuturesUnordered<_> = futures
            .into_iter()
            .enumerate()
            .map(|(i, f)| async move { (i, f.await) })
            .collect();
        let mut decision = when_all;
        while let Some((i, result)) = running.next().await {
            let d = decides(i as u32, &result);
            results[i] = Some(result);
            if let Some(d) = d {
                decision = d;
                break;
            }
        }
        // The losers are dropped here (released; nothing more recorded for them).
        drop(running);
        let recorded = or_park(call.run(move |_| async move { Ok(decision) }).await).await?;
        Ok((recorded, results))
    }

    /// Retries a block of durable code: `function` runs in a child context of its own per
    /// attempt (sub-type `RetryAttempt`, under a `WithRetry` context named `name`), and
    /// when it fails, the retry strategy (`.retry(..)`, the same strategies as steps;
    /// default `RetryPolicy::default()`) decides whether to wait durably and try again. The
    /// last failure fails the whole block as [`DurableError::ChildContextFailed`].
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::RetryPolicy;
    /// let booked: String = ctx
    ///     .with_retry("book trip", |c, attempt| async move {
    ///         let flight: String = c.step("flight", |_| async { Ok("LH1".to_owned()) }).await?;
    ///         let hotel: String = c.step("hotel", move |_| async move { Ok(format!("{flight} + hotel, try {attempt}")) }).await?;
    ///         Ok(hotel)
    ///     })
    ///     .retry(RetryPolicy::transient())
    ///     .await?;
    /// # let _ = booked; Ok(()) }
    /// ```
    pub fn with_retry<T, F, Fut>(&self, name: &str, function: F) -> WithRetry<'_, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(DurableContext, u32) -> Fut + Send + Sync,
        Fut: Future<Output = Result<T, StepError>> + Send,
    {
        WithRetry {
            ctx: self,
            name: name.to_owned(),
            function,
            strategy: Arc::new(durable_proto::RetryPolicy::default()),
            serdes: Arc::new(Json),
        }
    }
}

/// The sub-type of a block retry's outer context.
pub const WITH_RETRY_SUB_TYPE: &str = "WithRetry";
/// The sub-type of each attempt's context.
pub const RETRY_ATTEMPT_SUB_TYPE: &str = "RetryAttempt";

/// A block retry being configured; await it to run it.
#[must_use = "a block retry does nothing until awaited"]
pub struct WithRetry<'c, T, F> {
    ctx: &'c DurableContext,
    name: String,
    function: F,
    strategy: Arc<dyn durable_proto::RetryStrategy>,
    serdes: Arc<dyn Serdes<T>>,
}

impl<T, F> WithRetry<'_, T, F> {
    /// Sets the retry strategy.
    pub fn retry(mut self, strategy: impl durable_proto::RetryStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Replaces the JSON serializer of the block's value.
    pub fn serdes(mut self, serdes: impl Serdes<T> + 'static) -> Self {
        self.serdes = Arc::new(serdes);
        self
    }
}

impl<'c, T, F, Fut> IntoFuture for WithRetry<'c, T, F>
where
    T: Send + 'static,
    F: Fn(DurableContext, u32) -> Fut + Send + Sync + 'c,
    Fut: Future<Output = Result<T, StepError>> + Send + 'c,
{
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        let WithRetry {
            ctx,
            name,
            function,
            strategy,
            serdes,
        } = self;
        let attempts_serdes = serdes.clone();
        let outer = crate::ops::child::ChildContext::new_with_serdes(
            ctx,
            Some(&name),
            serdes,
            move |outer: DurableContext| async move {
                let mut attempt = 1u32;
                loop {
                    let f = &function;
                    let tried = crate::ops::child::ChildContext::new_with_serdes(
                        &outer,
                        Some(&format!("attempt {attempt}")),
                        attempts_serdes.clone(),
                        move |c| f(c, attempt),
                    )
                    .sub_type(RETRY_ATTEMPT_SUB_TYPE)
                    .await;
                    let failure = match tried {
                        Err(DurableError::ChildContextFailed(failure)) => failure,
                        other => return other.map_err(StepError::from),
                    };
                    match block_retry_delay(&outer, &*strategy, failure, attempt)? {
                        Ok(delay) => {
                            outer
                                .wait(&format!("retry {attempt} delay"), delay)
                                .await
                                .map_err(StepError::from)?;
                            attempt += 1;
                        }
                        Err(last) => return Err(last),
                    }
                }
            },
        )
        .sub_type(WITH_RETRY_SUB_TYPE);
        outer.into_future()
    }
}

/// What follows failed attempt `attempt` of a block retry, as `strategy` decides (with the
/// context's deterministic RNG, so a replay decides alike): `Ok(delay)` to wait durably and
/// try again, `Err(last)` to end the block with the attempt's failure. Both front ends use it.
#[doc(hidden)]
pub fn block_retry_delay(
    outer: &DurableContext,
    strategy: &dyn durable_proto::RetryStrategy,
    failure: crate::OperationFailure,
    attempt: u32,
) -> Result<Result<Duration, StepError>, StepError> {
    let mut rng = outer.random().map_err(StepError::from)?;
    Ok(match strategy.decide(failure.error(), attempt, &mut rng) {
        durable_proto::RetryDecision::Retry { delay } => Ok(delay.max(Duration::from_secs(1))),
        _ => Err(StepError::from(DurableError::ChildContextFailed(failure))),
    })
}

/// The configuration of a decision step: JSON, never retried (its body cannot fail).
fn decision_config() -> StepConfig<Decision> {
    StepConfig {
        strategy: Arc::new(durable_proto::RetryPolicy::none()),
        semantics: durable_proto::StepSemantics::AtLeastOncePerRetry,
        serdes: Arc::new(Json),
        timeout: None,
    }
}

/// The futures of `operations`, created now, in order (which takes their ids).
fn boxed<'c, T, F>(operations: impl IntoIterator<Item = F>) -> Vec<Boxed<'c, T>>
where
    F: IntoFuture<Output = Result<T, DurableError>>,
    F::IntoFuture: Send + 'c,
{
    operations
        .into_iter()
        .map(|o| Box::pin(o.into_future()) as Boxed<'c, T>)
        .collect()
}

fn take<T>(results: &mut [Option<Result<T, DurableError>>], i: usize) -> Result<T, DurableError> {
    results
        .get_mut(i)
        .and_then(Option::take)
        .unwrap_or_else(|| Err(not_awaited()))
}

fn not_awaited() -> DurableError {
    DurableError::Closing("a combinator's operation was not awaited".into())
}

fn take_err<T>(mut results: Vec<Option<Result<T, DurableError>>>, i: u32) -> DurableError {
    match take(&mut results, i as usize) {
        Err(e) => e,
        Ok(_) => {
            DurableError::Closing("the recorded failure of a combinator succeeded on replay".into())
        }
    }
}

fn nothing_to_wait_for(what: &'static str) -> DurableError {
    DurableError::InvalidArgument(durable_proto::ExecutionError::InvalidBatch {
        what,
        reason: "it needs at least one operation".into(),
    })
}
