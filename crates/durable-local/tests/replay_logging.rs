//! Replay-aware `tracing`: plain `tracing` events in user code appear once per execution,
//! or are marked, or kept, as the log layer's replay mode says.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::LocalRunner;
use durable_tokio::{DurableContext, DurableError, JsonLogLayer, ReplayMode};
use tracing_subscriber::layer::SubscriberExt;

/// Collects the JSON lines a layer writes.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// `(message, replayed)` of every line whose message starts with `user:`.
    fn user_lines(&self) -> Vec<(String, bool)> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("user:"))
            })
            .map(|v| {
                (
                    v["message"].as_str().unwrap().to_owned(),
                    v["replayed"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }
}

async fn workflow(_: (), ctx: DurableContext) -> Result<(), DurableError> {
    tracing::info!("user: starting");
    ctx.step("work", |_| async { Ok(1u8) }).await?;
    ctx.wait("nap", Duration::from_secs(10)).await?;
    tracing::info!("user: after the wait");
    ctx.run_in_child_context("group", |c| async move {
        tracing::info!("user: in the child");
        c.step("inner", |_| async { Ok(2u8) }).await
    })
    .await?;
    Ok(())
}

async fn run_with(mode: ReplayMode) -> Vec<(String, bool)> {
    let lines = Lines::default();
    let writer = lines.clone();
    let layer = JsonLogLayer::with_writer(move || writer.clone()).replay_mode(mode);
    let subscriber = tracing_subscriber::registry().with(layer);
    let _default = tracing::subscriber::set_default(subscriber);
    let mut runner = LocalRunner::new();
    runner.register("workflow", workflow);
    let execution = runner.run("workflow", ()).await.unwrap();
    assert_eq!(execution.invocation_count(), 2);
    lines.user_lines()
}

fn line(message: &str, replayed: bool) -> (String, bool) {
    (message.to_owned(), replayed)
}

#[tokio::test]
async fn plain_tracing_events_appear_once_per_execution_by_default() {
    assert_eq!(
        run_with(ReplayMode::Drop).await,
        [
            line("user: starting", false),
            line("user: after the wait", false),
            line("user: in the child", false),
        ]
    );
}

#[tokio::test]
async fn the_mark_mode_keeps_replayed_events_and_says_so() {
    assert_eq!(
        run_with(ReplayMode::Mark).await,
        [
            line("user: starting", false),
            // The second invocation re-traces the start before reaching the wait.
            line("user: starting", true),
            line("user: after the wait", false),
            line("user: in the child", false),
        ]
    );
}

#[tokio::test]
async fn the_keep_mode_keeps_everything() {
    let lines = run_with(ReplayMode::Keep).await;
    assert_eq!(
        lines.iter().filter(|(m, _)| m == "user: starting").count(),
        2
    );
    assert!(lines.iter().all(|(_, replayed)| !replayed));
}
