//! Registering handlers: async ones through `durable_tokio::handle`, synchronous ones through
//! `durable_blocking::handle` on a blocking thread.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use durable_tokio::{DurableContext, Options};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::runner::{Invoker, LocalRunner};

impl LocalRunner {
    /// The SDK options every invocation gets (the engine's limits, the jitter seed).
    fn handler_options(&self) -> Options {
        let mut options = Options::default();
        options.execution = self.settings.execution.clone();
        options.seed = self.settings.handler_seed;
        options.plugins = self.settings.plugins.clone();
        options
    }

    /// Registers `handler` under `function_name`, in the shape `durable_tokio::handle`
    /// takes: typically an `async fn(E, DurableContext) -> Result<O, Err>`.
    pub fn register<E, O, Err, F, Fut>(&mut self, function_name: &str, handler: F) -> &mut Self
    where
        E: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        Err: Display + Debug + Send + 'static,
        F: Fn(E, DurableContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Err>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let options = self.handler_options();
        let timeout = self.settings.invocation_timeout;
        let invoker: Invoker = Arc::new(move |input, client| {
            let handler = handler.clone();
            let options = with_deadline(options.clone(), timeout);
            Box::pin(durable_tokio::handle(
                input,
                client,
                options,
                move |event: E, ctx: DurableContext| handler(event, ctx),
            ))
        });
        self.functions.insert(function_name.to_owned(), invoker);
        self
    }

    /// Registers a synchronous handler under `function_name`, in the shape
    /// `durable_blocking::handle` takes: `fn(E, &durable_blocking::DurableContext) ->
    /// Result<O, Err>`.
    ///
    /// Each invocation runs `durable_blocking::handle` on a blocking thread
    /// (`spawn_blocking`) with the same [`LocalClient`](crate::LocalClient), so faults,
    /// counters, virtual time and history behave exactly as for [`register`](Self::register).
    /// The runner may be driven from any tokio runtime, current-thread included.
    ///
    /// A crash ([`crash_after_checkpoints`](Self::crash_after_checkpoints)) or an invocation
    /// timeout abandons the invocation as for async handlers, but a thread cannot be killed:
    /// the abandoned handler keeps running until its next operation, which returns
    /// `DurableError::Closing` before any step body runs, so it neither records nor repeats
    /// anything.
    ///
    /// ```
    /// use durable_blocking::{DurableContext, DurableError};
    /// use durable_local::{ExecutionStatus, LocalRunner};
    /// use std::time::Duration;
    ///
    /// fn greet(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ///     let greeting: String = ctx
    ///         .step("greet", |_| Ok(format!("hello {name}")))
    ///         .run()?;
    ///     ctx.wait("nap", Duration::from_secs(3600))?; // Suspended: propagate it with `?`
    ///     Ok(greeting)
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut runner = LocalRunner::new();
    /// runner.register_blocking("greeter", greet);
    /// let execution = runner.run("greeter", "world").await.unwrap();
    /// assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    /// assert_eq!(execution.result::<String>().unwrap(), "hello world");
    /// assert_eq!(execution.invocation_count(), 2);
    /// # });
    /// ```
    pub fn register_blocking<E, O, Err, F>(&mut self, function_name: &str, handler: F) -> &mut Self
    where
        E: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        Err: Display + Debug + Send + 'static,
        F: Fn(E, &durable_blocking::DurableContext) -> Result<O, Err> + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let options = self.handler_options();
        let timeout = self.settings.invocation_timeout;
        let invoker: Invoker = Arc::new(move |input, client| {
            let handler = handler.clone();
            let options = with_deadline(options.clone(), timeout);
            // On the runner's runtime, so that a crash or timeout that drops the invocation
            // also tells its engine: the handler's thread, which cannot be killed, gets an
            // error from its next operation before any step body runs.
            Box::pin(durable_blocking::handle_async(
                input,
                client,
                options,
                move |event: E, ctx: &durable_blocking::DurableContext| handler(event, ctx),
            ))
        });
        self.functions.insert(function_name.to_owned(), invoker);
        self
    }
}

/// The options of one invocation: its deadline is the runner's invocation timeout from now,
/// as Lambda's context carries the function timeout.
fn with_deadline(mut options: Options, timeout: Option<std::time::Duration>) -> Options {
    if let Some(t) = timeout {
        options.deadline = Some(std::time::SystemTime::now() + t);
    }
    options
}
