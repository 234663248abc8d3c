//! Map and parallel for synchronous user code: each running item has a thread of its own
//! (scoped, so items may borrow from the caller), at most `max_concurrency` at once; the
//! calling thread schedules them through the async driver's batch core.
//!
//! An item whose operation blocks (a wait, a retry, a callback) parks its thread, keeping
//! the operation alive, until the invocation ends or the batch completes; the invocation
//! suspends once nothing else can move. When the batch completes early, items still
//! running are abandoned: their next operation is refused (nothing more is recorded for
//! them), parked threads wake, and `run` returns once they have unwound — a step body in
//! flight finishes first, since a thread cannot be stopped from outside.

use std::sync::mpsc;
use std::sync::Mutex;

use durable_tokio::front::{catch_panic, BatchCall, BatchSerdes, Interrupt, ItemEntered};
use durable_tokio::proto::{BatchConfig, BatchKind, ErrorObject};
use durable_tokio::{BatchResult, DurableError, StepError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{Branch as Running, DurableContext};

type ItemNamer<'c, I> = Box<dyn Fn(&I, usize) -> String + 'c>;

/// Runs item `index` in its context (`None` if it was handed out already).
type StartItem<'a, T> = dyn Fn(usize, &DurableContext) -> Option<Result<T, StepError>> + Sync + 'a;

/// A map being configured; [`run`](Map::run) it.
#[must_use = "a map does nothing until run"]
pub struct Map<'c, I, T, F> {
    ctx: &'c DurableContext,
    name: Option<String>,
    items: Vec<I>,
    function: F,
    config: BatchConfig,
    namer: Option<ItemNamer<'c, I>>,
    serdes: BatchSerdes<T>,
}

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
            serdes: durable_tokio::front::default_batch_serdes(),
        }
    }
}

impl<'c, I, T, F> Map<'c, I, T, F> {
    durable_tokio::batch_builder_methods!();

    /// Names each item's operation from the item and its index (default: unnamed).
    pub fn item_namer(mut self, namer: impl Fn(&I, usize) -> String + 'c) -> Self {
        self.namer = Some(Box::new(namer));
        self
    }
}

impl<I, T, F> Map<'_, I, T, F>
where
    I: Send,
    T: Send,
    F: Fn(&DurableContext, I, usize) -> Result<T, StepError> + Sync,
{
    /// Runs the map: its recorded result on replay, or the items.
    pub fn run(self) -> Result<BatchResult<T>, DurableError> {
        let ctx = self.ctx;
        let mut call = BatchCall::begin(
            ctx.inner(),
            BatchKind::Map,
            self.name.as_deref(),
            self.items.len(),
            self.config,
            self.serdes,
        );
        let names = match &self.namer {
            Some(namer) => self
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| Some(namer(item, i)))
                .collect(),
            None => vec![None; self.items.len()],
        };
        let items: Vec<Mutex<Option<I>>> = self
            .items
            .into_iter()
            .map(|i| Mutex::new(Some(i)))
            .collect();
        let function = &self.function;
        let start = |i: usize, child: &DurableContext| {
            let item = items[i].lock().unwrap_or_else(|p| p.into_inner()).take();
            item.map(|item| function(child, item, i))
        };
        let result = run_items(ctx, &mut call, names, &start);
        ctx.finish(result)
    }
}

/// One branch of a parallel: a function of its own context.
pub struct Branch<'c, T> {
    name: Option<String>,
    function: BranchFn<'c, T>,
}

type BranchFn<'c, T> = Box<dyn FnOnce(&DurableContext) -> Result<T, StepError> + Send + 'c>;

impl<'c, T> Branch<'c, T> {
    /// An unnamed branch.
    pub fn new(function: impl FnOnce(&DurableContext) -> Result<T, StepError> + Send + 'c) -> Self {
        Self {
            name: None,
            function: Box::new(function),
        }
    }

    /// A branch whose operation is named `name`.
    pub fn named(
        name: &str,
        function: impl FnOnce(&DurableContext) -> Result<T, StepError> + Send + 'c,
    ) -> Self {
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

/// A parallel being configured; [`run`](Parallel::run) it.
#[must_use = "a parallel does nothing until run"]
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
            serdes: durable_tokio::front::default_batch_serdes(),
        }
    }
}

impl<T> Parallel<'_, T> {
    durable_tokio::batch_builder_methods!();
}

impl<T: Send> Parallel<'_, T> {
    /// Runs the parallel: its recorded result on replay, or the branches.
    pub fn run(self) -> Result<BatchResult<T>, DurableError> {
        let ctx = self.ctx;
        let mut call = BatchCall::begin(
            ctx.inner(),
            BatchKind::Parallel,
            self.name.as_deref(),
            self.branches.len(),
            self.config,
            self.serdes,
        );
        let names = self.branches.iter().map(|b| b.name.clone()).collect();
        let functions: Vec<Mutex<Option<BranchFn<'_, T>>>> = self
            .branches
            .into_iter()
            .map(|b| Mutex::new(Some(b.function)))
            .collect();
        let start = |i: usize, child: &DurableContext| {
            let f = functions[i]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            f.map(|f| f(child))
        };
        let result = run_items(ctx, &mut call, names, &start);
        ctx.finish(result)
    }
}

/// Schedules the items: starts each the engine hands out on a scoped thread, reports each
/// outcome, and records the result once the batch completed.
fn run_items<T: Send>(
    ctx: &DurableContext,
    call: &mut BatchCall<T>,
    mut names: Vec<Option<String>>,
    start: &StartItem<'_, T>,
) -> Result<BatchResult<T>, Interrupt> {
    if let Some(done) = call.enter() {
        return done;
    }
    let span = tracing::Span::current();
    // This thread schedules items; it counts as running except while it waits for one to
    // end, so the invocation cannot suspend while it is about to start or record an item.
    let scheduler = Running::enter(ctx.inner());
    let result = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<Result<T, StepError>, ErrorObject>)>();
        let mut running = 0usize;
        let mut branches: Vec<Option<Running>> = (0..names.len()).map(|_| None).collect();
        let result = 'run: loop {
            while let Some(next) = call.next_item(|i| names.get_mut(i).and_then(Option::take)) {
                let (i, entered) = match next {
                    Ok(next) => next,
                    Err(e) => break 'run Err(e),
                };
                let ItemEntered::Run(child) = entered else {
                    continue;
                };
                // Counted from before the thread starts until its result is taken (or it parks).
                let branch = Running::enter(ctx.inner());
                branches[i] = Some(branch.clone());
                let child = ctx.item(child, branch);
                let (tx, span) = (tx.clone(), span.clone());
                running += 1;
                scope.spawn(move || {
                    let _entered = span.enter();
                    let run =
                        || durable_tokio::front::in_context(child.inner(), || start(i, &child));
                    let returned = catch_panic(run).and_then(|r| {
                        r.ok_or_else(|| {
                            ErrorObject::new(
                                "DurableSdkInternalError",
                                "a batch item was started twice",
                            )
                        })
                    });
                    // The receiver outlives every thread of the scope.
                    let _ = tx.send((i, returned));
                });
            }
            if call.is_complete() {
                // Threads of items abandoned now wake (the batch core signals them) and
                // unwind before the scope ends.
                break call.finish();
            }
            if running == 0 {
                // Nothing runs, nothing may start: the invocation is ending.
                break Err(Interrupt::Blocked);
            }
            scheduler.leave(ctx.inner());
            let received = rx.recv();
            scheduler.reenter(ctx.inner());
            let Ok((i, returned)) = received else {
                break Err(Interrupt::Blocked);
            };
            running -= 1;
            if let Some(branch) = branches[i].take() {
                branch.leave(ctx.inner());
            }
            match call.item_returned(i, returned) {
                // A thread that unwound from a suspension: its item stays unfinished.
                Ok(()) | Err(Interrupt::Blocked) => {}
                Err(e) => break Err(e),
            }
        };
        if result.is_err() {
            // Leaving early: wake the threads still parked, or the scope would wait on them.
            call.abandon();
        }
        // Threads still counted (abandoned, unwinding) stop counting.
        for branch in branches.into_iter().flatten() {
            branch.leave(ctx.inner());
        }
        result
    });
    scheduler.leave(ctx.inner());
    result
}

/// A block retry being configured; [`run`](WithRetry::run) it.
#[must_use = "a block retry does nothing until run"]
pub struct WithRetry<'c, T, F> {
    ctx: &'c DurableContext,
    name: String,
    function: F,
    strategy: std::sync::Arc<dyn durable_tokio::RetryStrategy>,
    serdes: std::sync::Arc<dyn durable_tokio::Serdes<T>>,
}

impl<'c, T: Serialize + DeserializeOwned + 'static, F> WithRetry<'c, T, F> {
    pub(crate) fn new(ctx: &'c DurableContext, name: &str, function: F) -> Self {
        Self {
            ctx,
            name: name.to_owned(),
            function,
            strategy: std::sync::Arc::new(durable_tokio::RetryPolicy::default()),
            serdes: std::sync::Arc::new(durable_tokio::Json),
        }
    }
}

impl<T, F> WithRetry<'_, T, F> {
    /// Sets the retry strategy (default `RetryPolicy::default()`).
    pub fn retry(mut self, strategy: impl durable_tokio::RetryStrategy + 'static) -> Self {
        self.strategy = std::sync::Arc::new(strategy);
        self
    }

    /// Replaces the JSON serializer of the block's value.
    pub fn serdes(mut self, serdes: impl durable_tokio::Serdes<T> + 'static) -> Self {
        self.serdes = std::sync::Arc::new(serdes);
        self
    }
}

impl<T, F> WithRetry<'_, T, F>
where
    T: 'static,
    F: Fn(&DurableContext, u32) -> Result<T, StepError>,
{
    /// Runs the block: each attempt in a child context of its own, with a durable wait
    /// between attempts while the strategy says to retry.
    pub fn run(self) -> Result<T, DurableError> {
        let WithRetry {
            ctx,
            name,
            function,
            strategy,
            serdes,
        } = self;
        ctx.child(
            Some(&name),
            Some(durable_tokio::WITH_RETRY_SUB_TYPE),
            &*serdes.clone(),
            |outer| {
                let mut attempt = 1u32;
                loop {
                    let tried = outer.child(
                        Some(&format!("attempt {attempt}")),
                        Some(durable_tokio::RETRY_ATTEMPT_SUB_TYPE),
                        &*serdes,
                        |c| function(c, attempt),
                    );
                    let failure = match tried {
                        Err(DurableError::ChildContextFailed(failure)) => failure,
                        other => return other.map_err(StepError::from),
                    };
                    match durable_tokio::front::block_retry_delay(
                        outer.inner(),
                        &*strategy,
                        failure,
                        attempt,
                    )? {
                        Ok(delay) => {
                            outer
                                .wait(&format!("retry {attempt} delay"), delay)
                                .map_err(StepError::from)?;
                            attempt += 1;
                        }
                        Err(last) => return Err(last),
                    }
                }
            },
        )
    }
}
