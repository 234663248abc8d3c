//! Map and parallel for async user code: items run as futures polled by the batch's own
//! future, started in index order as the engine allows.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use durable_proto::{BatchConfig, BatchKind};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::batch_result::BatchResult;
use crate::context::DurableContext;
use crate::error::{DurableError, StepError};
use crate::ops::batch::{BatchCall, BatchSerdes, ItemEntered};
use crate::ops::{or_park, Interrupt};
use crate::panic::{catch_panic, CatchPanic};
use crate::serdes::Json;
use crate::OperationFuture;

/// The builder methods map and parallel share in both front ends (each has
/// `config: BatchConfig` and `serdes: BatchSerdes<T>` fields), written once.
#[doc(hidden)]
#[macro_export]
macro_rules! batch_builder_methods {
    () => {
        /// Runs at most `n` items at once (default: no bound). Zero is refused with
        /// `DurableError::InvalidArgument` before anything is checkpointed.
        pub fn max_concurrency(mut self, n: u32) -> Self {
            self.config.max_concurrency = Some(n);
            self
        }

        /// When the batch completes (default [`CompletionConfig::all_completed`]: every
        /// item runs).
        ///
        /// [`CompletionConfig::all_completed`]: $crate::CompletionConfig::all_completed
        pub fn completion(mut self, completion: $crate::CompletionConfig) -> Self {
            self.config.completion = completion;
            self
        }

        /// How items are recorded (default `Nesting::Nested`: a CONTEXT operation each).
        pub fn nesting(mut self, nesting: $crate::Nesting) -> Self {
            self.config.nesting = nesting;
            self
        }

        /// Replaces the JSON serializer of each item's value.
        pub fn item_serdes(mut self, serdes: impl $crate::Serdes<T> + 'static) -> Self {
            self.serdes.item = ::std::sync::Arc::new(serdes);
            self
        }

        /// Replaces the JSON serializer of the whole result (recorded on the batch's own
        /// operation).
        pub fn serdes(
            mut self,
            serdes: impl $crate::Serdes<$crate::BatchResult<T>> + 'static,
        ) -> Self {
            self.serdes.batch = ::std::sync::Arc::new(serdes);
            self
        }
    };
}

/// The serializers a batch starts with: JSON for items and the result.
#[doc(hidden)]
pub fn default_batch_serdes<T: Serialize + DeserializeOwned + 'static>() -> BatchSerdes<T> {
    BatchSerdes {
        item: Arc::new(Json),
        batch: Arc::new(Json),
    }
}

/// A map being configured; await it for its [`BatchResult`].
#[must_use = "a map does nothing until awaited"]
pub struct Map<'c, I, T, F> {
    ctx: &'c DurableContext,
    name: Option<String>,
    items: Vec<I>,
    function: F,
    config: BatchConfig,
    namer: Option<ItemNamer<'c, I>>,
    serdes: BatchSerdes<T>,
}

type ItemNamer<'c, I> = Box<dyn Fn(&I, usize) -> String + Send + 'c>;

impl<'c, I, T: Serialize + DeserializeOwned + 'static, F> Map<'c, I, T, F> {
    pub(crate) fn new(
        ctx: &'c DurableContext,
        name: Option<&str>,
        items: Vec<I>,
        function: F,
    ) -> Self {
        Self {
            ctx,
            name: name.map(str::to_owned),
            items,
            function,
            config: BatchConfig::default(),
            namer: None,
            serdes: default_batch_serdes(),
        }
    }
}

impl<'c, I, T, F> Map<'c, I, T, F> {
    crate::batch_builder_methods!();

    /// Names each item's operation from the item and its index (default: unnamed).
    pub fn item_namer(mut self, namer: impl Fn(&I, usize) -> String + Send + 'c) -> Self {
        self.namer = Some(Box::new(namer));
        self
    }
}

impl<'c, I, T, F, Fut> IntoFuture for Map<'c, I, T, F>
where
    I: Send + 'c,
    T: Send + 'static,
    F: Fn(DurableContext, I, usize) -> Fut + Send + 'c,
    Fut: Future<Output = Result<T, StepError>> + Send + 'c,
{
    type Output = Result<BatchResult<T>, DurableError>;
    type IntoFuture = OperationFuture<'c, BatchResult<T>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = BatchCall::begin(
            self.ctx,
            BatchKind::Map,
            self.name.as_deref(),
            self.items.len(),
            self.config,
            self.serdes,
        );
        if let Some(result) = call.finished_on_record() {
            return OperationFuture::decided(result);
        }
        let names: Vec<Option<String>> = match &self.namer {
            Some(namer) => self
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| Some(namer(item, i)))
                .collect(),
            None => vec![None; self.items.len()],
        };
        let mut items: Vec<Option<I>> = self.items.into_iter().map(Some).collect();
        let function = self.function;
        let start = move |i: usize, ctx: DurableContext| {
            let item = items[i].take();
            let function = &function;
            // The item is handed out exactly once (the engine starts each index once).
            item.map(|item| function(ctx, item, i))
        };
        OperationFuture::pending(async move { or_park(run_items(call, names, start).await).await })
    }
}

/// One branch of a parallel: a function of its own context.
pub struct Branch<'c, T> {
    name: Option<String>,
    function: BranchFn<'c, T>,
}

type BranchFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'c>>;
type BranchFn<'c, T> = Box<dyn FnOnce(DurableContext) -> BranchFuture<'c, T> + Send + 'c>;

impl<'c, T> Branch<'c, T> {
    /// An unnamed branch.
    pub fn new<F, Fut>(function: F) -> Self
    where
        F: FnOnce(DurableContext) -> Fut + Send + 'c,
        Fut: Future<Output = Result<T, StepError>> + Send + 'c,
    {
        Self {
            name: None,
            function: Box::new(move |ctx| Box::pin(function(ctx))),
        }
    }

    /// A branch whose operation is named `name`.
    pub fn named<F, Fut>(name: &str, function: F) -> Self
    where
        F: FnOnce(DurableContext) -> Fut + Send + 'c,
        Fut: Future<Output = Result<T, StepError>> + Send + 'c,
    {
        Self {
            name: Some(name.to_owned()),
            ..Self::new(function)
        }
    }
}

impl<T> std::fmt::Debug for Branch<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Branch")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A parallel being configured; await it for its [`BatchResult`].
#[must_use = "a parallel does nothing until awaited"]
pub struct Parallel<'c, T> {
    ctx: &'c DurableContext,
    name: Option<String>,
    branches: Vec<Branch<'c, T>>,
    config: BatchConfig,
    serdes: BatchSerdes<T>,
}

impl<'c, T: Serialize + DeserializeOwned + 'static> Parallel<'c, T> {
    pub(crate) fn new(
        ctx: &'c DurableContext,
        name: Option<&str>,
        branches: Vec<Branch<'c, T>>,
    ) -> Self {
        Self {
            ctx,
            name: name.map(str::to_owned),
            branches,
            config: BatchConfig::default(),
            serdes: default_batch_serdes(),
        }
    }
}

impl<T> Parallel<'_, T> {
    crate::batch_builder_methods!();
}

impl<'c, T: Send + 'static> IntoFuture for Parallel<'c, T> {
    type Output = Result<BatchResult<T>, DurableError>;
    type IntoFuture = OperationFuture<'c, BatchResult<T>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = BatchCall::begin(
            self.ctx,
            BatchKind::Parallel,
            self.name.as_deref(),
            self.branches.len(),
            self.config,
            self.serdes,
        );
        if let Some(result) = call.finished_on_record() {
            return OperationFuture::decided(result);
        }
        let names = self.branches.iter().map(|b| b.name.clone()).collect();
        let mut functions: Vec<Option<BranchFn<'c, T>>> = self
            .branches
            .into_iter()
            .map(|b| Some(b.function))
            .collect();
        let start = move |i: usize, ctx: DurableContext| functions[i].take().map(|f| f(ctx));
        OperationFuture::pending(async move { or_park(run_items(call, names, start).await).await })
    }
}

/// Runs a batch's items: starts each as the engine allows, reports each outcome, and once
/// the batch is complete drops the items still running (their operations are released;
/// nothing more is recorded for them) and records the result.
async fn run_items<T, Fut>(
    mut call: BatchCall<T>,
    mut names: Vec<Option<String>>,
    mut start: impl FnMut(usize, DurableContext) -> Option<Fut>,
) -> Result<BatchResult<T>, Interrupt>
where
    Fut: Future<Output = Result<T, StepError>>,
{
    if let Some(done) = call.enter() {
        return done;
    }
    let mut running = FuturesUnordered::new();
    loop {
        while let Some(next) = call.next_item(|i| names.get_mut(i).and_then(Option::take)) {
            let (i, entered) = next?;
            let ItemEntered::Run(child) = entered else {
                continue;
            };
            let (shared, at) = (child.shared().clone(), child.context_ref());
            let fut = catch_panic(|| start(i, child)).map(|f| {
                f.map(|fut| crate::replay_filter::InContext {
                    shared,
                    ctx: at,
                    fut: Box::pin(fut),
                })
            });
            running.push(async move {
                let returned = match fut {
                    Err(panic) => Err(panic),
                    Ok(None) => Err(durable_proto::ErrorObject::new(
                        "DurableSdkInternalError",
                        "a batch item was started twice",
                    )),
                    Ok(Some(fut)) => CatchPanic(Box::pin(fut)).await,
                };
                (i, returned)
            });
        }
        if call.is_complete() {
            break;
        }
        match running.next().await {
            Some((i, returned)) => call.item_returned(i, returned)?,
            // Nothing runs, nothing may start, and the batch is not complete: only an
            // invocation that is ending gets here.
            None => return Err(Interrupt::Blocked),
        }
    }
    drop(running);
    call.finish()
}
