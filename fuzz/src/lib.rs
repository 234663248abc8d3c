//! Shared pieces of the durable-proto fuzz targets: input descriptions (`gen`), protocol
//! checks (`checks`), a model of the service (`model`) and the drivers' account of the
//! operations they began (`ops`).

pub mod checks;
pub mod gen;
pub mod model;
pub mod ops;
pub mod records;
