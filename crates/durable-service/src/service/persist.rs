//! A service backed by a file: opening (restoring executions, tokens, virtual time and the id
//! sequence), writing after every change, and recovering invocations a restart cut short.

use std::path::Path;

use durable_proto::ErrorObject;
#[cfg(feature = "file-store")]
use durable_proto::OperationType;

#[cfg(feature = "file-store")]
use crate::clock::TimeMode;
#[cfg(feature = "file-store")]
use crate::config::ServiceConfig;
use crate::error::ServiceError;
#[cfg(feature = "file-store")]
use crate::ids::IdGenerator;
use crate::service::{InvocationEnd, LocalService};
use crate::store::{ServiceMeta, Store};

/// The error type recorded for an invocation whose handler stopped with its process while
/// the invocation was in flight (see
/// [`LocalService::end_orphaned_invocations`]); it is retried like any failed invocation.
pub const RESTART_ERROR_TYPE: &str = "Runtime.ExitError";

impl LocalService {
    /// Opens the file-backed service at `path` with the default configuration; see
    /// [`open_with`](Self::open_with).
    #[cfg(feature = "file-store")]
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ServiceError> {
        Self::open_with(path, ServiceConfig::default())
    }

    /// Opens the file-backed service at `path` (feature `file-store`, on by default; a [redb](https://docs.rs/redb) database,
    /// created if missing; its directory must exist), restoring what an earlier service
    /// stored there: every execution with its operations, history, invocations and current
    /// checkpoint token, the virtual time (never moved backwards) and the id sequence (so new
    /// ARNs and tokens never repeat old ones). `config` supplies everything else (limits,
    /// page size, time mode).
    ///
    /// From then on every call that changes something writes the changed executions and the
    /// clock in one atomic, durable transaction before it returns.
    ///
    /// An invocation that was in flight when the earlier service stopped is restored as it
    /// was, token included, so a test driving the service by hand can carry on with it. A
    /// handler that died with its process cannot: [`end_orphaned_invocations`]
    /// (which durable-local's `LocalRunnerBuilder::store_path` runners
    /// call when they are built) ends such invocations the way the real service ends a crashed
    /// one.
    ///
    /// [`end_orphaned_invocations`]: Self::end_orphaned_invocations
    ///
    /// Errors: `ServiceException` ([`ServiceError::Storage`]) when the file cannot be opened
    /// or read — it is not a store, was written by an incompatible version, or is open in
    /// another service (one service per file at a time).
    #[cfg(feature = "file-store")]
    pub fn open_with(path: impl AsRef<Path>, config: ServiceConfig) -> Result<Self, ServiceError> {
        let store = Store::open(path.as_ref())?;
        let (meta, records) = store.load()?;
        let mut svc = Self::new(config);
        if let Some(meta) = meta {
            svc.ids = IdGenerator::resume(meta.id_seed, meta.id_counter);
            if svc.clock.mode() == TimeMode::Virtual {
                svc.clock.advance_to(meta.now);
            }
        }
        for (index, record) in records.into_iter().enumerate() {
            if record.deleted {
                // A tombstone keeps its place (and store key) but is found by nothing.
                svc.executions.push(record);
                continue;
            }
            for op in record.operations() {
                let callback_id = op
                    .callback_details
                    .as_ref()
                    .and_then(|d| d.callback_id.clone());
                if let (OperationType::Callback, Some(id)) = (&op.operation_type, callback_id) {
                    svc.callbacks.insert(id, (index, op.id.clone()));
                }
            }
            svc.by_arn.insert(record.arn.clone(), index);
            svc.executions.push(record);
        }
        svc.store = Some(store);
        svc.persist()?;
        Ok(svc)
    }

    /// Ends every invocation in flight as an invocation error of type
    /// [`RESTART_ERROR_TYPE`]: the handlers running them are gone (their process stopped).
    /// The service retries such invocations like crashed ones, so the executions continue
    /// on their next invocation. Returns the ARNs of the executions concerned.
    pub fn end_orphaned_invocations(&mut self) -> Result<Vec<String>, ServiceError> {
        let orphaned: Vec<String> = self
            .executions
            .iter()
            .filter(|r| r.invocation_in_flight() && !r.status.is_terminal())
            .map(|r| r.arn.clone())
            .collect();
        for arn in &orphaned {
            let error = ErrorObject::new(
                RESTART_ERROR_TYPE,
                "the invocation's handler stopped with its process (the local service was \
                 restarted while the invocation was in flight)",
            );
            self.complete_invocation(arn, InvocationEnd::Errored(error))?;
        }
        Ok(orphaned)
    }

    /// The store's file, for a file-backed service.
    pub fn store_path(&self) -> Option<&Path> {
        self.store.as_ref().map(Store::path)
    }

    /// Writes whatever is not yet in the store (changes that calls without an error channel,
    /// such as [`advance_to`](Self::advance_to), could not write). Every other call writes on
    /// its own; without a store this does nothing.
    pub fn sync(&mut self) -> Result<(), ServiceError> {
        self.persist()
    }

    /// Writes the changed executions and the service's state in one transaction.
    pub(crate) fn persist(&mut self) -> Result<(), ServiceError> {
        let Some(store) = &self.store else {
            self.dirty.clear();
            return Ok(());
        };
        let meta = ServiceMeta::new(self.clock.mode(), self.clock.now(), self.ids.state());
        let changed = self.dirty.iter().map(|&i| (i, &self.executions[i]));
        store.save(&meta, changed)?;
        self.dirty.clear();
        Ok(())
    }

    /// Marks execution `index` changed, writes, and returns `result` — or the write's error
    /// when the call itself succeeded.
    pub(crate) fn persisted<T>(
        &mut self,
        index: Option<usize>,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.dirty.extend(index);
        let written = self.persist();
        let value = result?;
        written.map(|()| value)
    }
}
