//! Shared pieces of the durable-proto fuzz targets: input descriptions (`gen`, `records`,
//! and `program` for the `operations` target), protocol checks (`checks`), the service behind
//! a fault wrapper (`model`), the `operations` harness (`driver`) and the drivers' account of
//! the operations they began (`ops`).

pub mod checks;
pub mod driver;
pub mod gen;
pub mod model;
pub mod ops;
pub mod program;
pub mod records;
