//! The file-backed store: executions and the service's own state in a `redb` database, so a
//! [`LocalService`](crate::LocalService) survives a restart.
//!
//! The in-memory service stays the source of truth while a call runs; after every call that
//! changed something, the changed executions (one JSON document each) and the service's
//! state (clock, id generator) are written in **one** write transaction. redb commits are
//! atomic and crash-safe — pages are copy-on-write and the commit slot is checksummed, so a
//! commit torn by a crash or power loss is ignored on the next open and the previous commit
//! is read instead — and durable when `commit` returns (`Durability::Immediate`, an fsync).

//!
//! Without the `file-store` feature there is no store type to open: [`Store`] is
//! uninhabited, so the service's "write if backed by a file" paths compile to nothing.

use std::path::Path;
#[cfg(feature = "file-store")]
use std::path::PathBuf;

use durable_proto::Timestamp;
#[cfg(feature = "file-store")]
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::clock::TimeMode;
use crate::error::ServiceError;
use crate::service::ExecutionRecord;

/// No store can exist in a build without the `file-store` feature.
#[cfg(not(feature = "file-store"))]
#[derive(Debug)]
pub(crate) enum Store {}

#[cfg(not(feature = "file-store"))]
impl Store {
    pub(crate) fn path(&self) -> &Path {
        match *self {}
    }

    pub(crate) fn save<'r>(
        &self,
        _meta: &ServiceMeta,
        _changed: impl IntoIterator<Item = (usize, &'r ExecutionRecord)>,
    ) -> Result<(), ServiceError> {
        match *self {}
    }
}

#[cfg(feature = "file-store")]
/// Executions by their position in the service (oldest first), as JSON.
const EXECUTIONS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("executions");
#[cfg(feature = "file-store")]
/// The service's own state under [`META_KEY`], as JSON.
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
#[cfg(feature = "file-store")]
const META_KEY: &str = "service";
/// Bumped when the stored documents change incompatibly.
const FORMAT: u32 = 1;

/// What the service keeps besides its executions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceMeta {
    pub(crate) format: u32,
    pub(crate) time: TimeMode,
    /// The clock's reading at the last write (virtual time resumes from here).
    pub(crate) now: Timestamp,
    pub(crate) id_seed: u64,
    pub(crate) id_counter: u64,
}

impl ServiceMeta {
    pub(crate) fn new(time: TimeMode, now: Timestamp, (id_seed, id_counter): (u64, u64)) -> Self {
        Self {
            format: FORMAT,
            time,
            now,
            id_seed,
            id_counter,
        }
    }
}

#[cfg(feature = "file-store")]
/// An open store file. Only one may be open per file at a time (redb locks it).
pub(crate) struct Store {
    db: Database,
    path: PathBuf,
}

#[cfg(feature = "file-store")]
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

#[cfg(feature = "file-store")]
impl Store {
    /// Opens the store at `path`, creating the file (not its directory) if needed.
    pub(crate) fn open(path: &Path) -> Result<Self, ServiceError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            ServiceError::storage(format!("cannot {what} the store {}: {e}", path.display()))
        };
        let db = Database::create(path).map_err(|e| fail("open", &e))?;
        // Create both tables up front so reads of a fresh file find them.
        let txn = db.begin_write().map_err(|e| fail("initialize", &e))?;
        txn.open_table(EXECUTIONS)
            .map_err(|e| fail("initialize", &e))?;
        txn.open_table(META).map_err(|e| fail("initialize", &e))?;
        txn.commit().map_err(|e| fail("initialize", &e))?;
        Ok(Self {
            db,
            path: path.to_owned(),
        })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> ServiceError {
        ServiceError::storage(format!(
            "cannot {what} the store {}: {e}",
            self.path.display()
        ))
    }

    /// Everything stored: the service's state (`None` for a new file) and the executions in
    /// position order.
    pub(crate) fn load(&self) -> Result<(Option<ServiceMeta>, Vec<ExecutionRecord>), ServiceError> {
        let read = |e: &dyn std::fmt::Display| self.error("read", e);
        let txn = self.db.begin_read().map_err(|e| read(&e))?;
        let meta = txn.open_table(META).map_err(|e| read(&e))?;
        let meta: Option<ServiceMeta> = match meta.get(META_KEY).map_err(|e| read(&e))? {
            Some(bytes) => Some(serde_json::from_slice(bytes.value()).map_err(|e| read(&e))?),
            None => None,
        };
        if let Some(found) = meta.as_ref().map(|m| m.format).filter(|&f| f != FORMAT) {
            return Err(read(&format!(
                "format {found} is not the supported format {FORMAT}"
            )));
        }
        let table = txn.open_table(EXECUTIONS).map_err(|e| read(&e))?;
        let mut records = Vec::new();
        for (i, entry) in table.iter().map_err(|e| read(&e))?.enumerate() {
            let (key, value) = entry.map_err(|e| read(&e))?;
            if key.value() != i as u64 {
                return Err(read(&format!("execution {i} is missing")));
            }
            let record: ExecutionRecord = serde_json::from_slice(value.value())
                .map_err(|e| read(&format!("execution {i}: {e}")))?;
            records.push(record);
        }
        Ok((meta, records))
    }

    /// Writes `meta` and the `changed` executions (by position) in one transaction: after a
    /// crash, either all of it or none of it is there.
    pub(crate) fn save<'r>(
        &self,
        meta: &ServiceMeta,
        changed: impl IntoIterator<Item = (usize, &'r ExecutionRecord)>,
    ) -> Result<(), ServiceError> {
        let write = |e: &dyn std::fmt::Display| self.error("write", e);
        let txn = self.db.begin_write().map_err(|e| write(&e))?;
        {
            let mut table = txn.open_table(EXECUTIONS).map_err(|e| write(&e))?;
            for (position, record) in changed {
                let json = serde_json::to_vec(record).map_err(|e| write(&e))?;
                table
                    .insert(position as u64, json.as_slice())
                    .map_err(|e| write(&e))?;
            }
            let mut table = txn.open_table(META).map_err(|e| write(&e))?;
            let json = serde_json::to_vec(meta).map_err(|e| write(&e))?;
            table
                .insert(META_KEY, json.as_slice())
                .map_err(|e| write(&e))?;
        }
        txn.commit().map_err(|e| write(&e))
    }

    /// Starts a write and drops it without committing: what a crash between two writes
    /// leaves behind.
    #[cfg(test)]
    fn write_without_commit(&self, position: u64, bytes: &[u8]) {
        let txn = self.db.begin_write().unwrap();
        {
            let mut table = txn.open_table(EXECUTIONS).unwrap();
            table.insert(position, bytes).unwrap();
            let mut table = txn.open_table(META).unwrap();
            table.insert(META_KEY, b"{not json".as_slice()).unwrap();
        }
        drop(txn);
    }
}

#[cfg(all(test, feature = "file-store"))]
mod tests {
    use super::*;
    use crate::service::LocalService;

    fn temp_path(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("durable-local-store-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.redb");
        let _ = std::fs::remove_file(&path);
        path
    }

    fn records() -> Vec<ExecutionRecord> {
        let mut svc = LocalService::default();
        let a = svc.start_execution("orders", r#"{"id":1}"#).unwrap();
        svc.start_execution("orders", r#"{"id":2}"#).unwrap();
        svc.begin_invocation(&a).unwrap();
        svc.executions().into_iter().cloned().collect()
    }

    fn json(record: &ExecutionRecord) -> String {
        serde_json::to_string(record).unwrap()
    }

    #[test]
    fn a_fresh_store_is_empty_and_writes_read_back() {
        let path = temp_path("roundtrip");
        let store = Store::open(&path).unwrap();
        let (meta, loaded) = store.load().unwrap();
        assert_eq!((meta, loaded.len()), (None, 0));

        let records = records();
        let meta = ServiceMeta::new(TimeMode::Virtual, Timestamp::from_millis(5), (9, 4));
        store.save(&meta, records.iter().enumerate()).unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        let (read_meta, loaded) = store.load().unwrap();
        assert_eq!(read_meta, Some(meta));
        assert_eq!(
            loaded.iter().map(json).collect::<Vec<_>>(),
            records.iter().map(json).collect::<Vec<_>>()
        );
        // The operation index is rebuilt on read.
        let id = records[0].execution_id().to_owned();
        assert!(loaded[0].operation(&id).is_some());
    }

    #[test]
    fn a_crash_between_two_writes_leaves_the_previous_state() {
        let path = temp_path("torn");
        let store = Store::open(&path).unwrap();
        let records = records();
        let meta = ServiceMeta::new(TimeMode::Virtual, Timestamp::from_millis(5), (9, 4));
        store.save(&meta, records.iter().enumerate()).unwrap();
        // The next write is under way when the process dies: garbage written, no commit.
        store.write_without_commit(0, b"half a record");
        store.write_without_commit(7, b"a record that never was");
        drop(store);

        let store = Store::open(&path).unwrap();
        let (read_meta, loaded) = store.load().unwrap();
        assert_eq!(read_meta, Some(meta));
        assert_eq!(
            loaded.iter().map(json).collect::<Vec<_>>(),
            records.iter().map(json).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_with_an_error() {
        let path = temp_path("garbage");
        std::fs::write(&path, vec![0x5A; 8192]).unwrap();
        let error = Store::open(&path).unwrap_err();
        assert_eq!(error.error_name(), "ServiceException");
        assert!(
            error.message().contains(&*path.to_string_lossy()),
            "{error}"
        );
    }

    #[test]
    fn a_store_is_opened_by_one_service_at_a_time() {
        let path = temp_path("locked");
        let _first = Store::open(&path).unwrap();
        let error = Store::open(&path).unwrap_err();
        assert_eq!(error.code(), "DL-S005");
    }
}
