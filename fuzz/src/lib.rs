//! Shared pieces of the durable-proto fuzz targets: input descriptions (`gen`), protocol
//! checks (`checks`) and a model of the service (`model`).

pub mod checks;
pub mod gen;
pub mod model;
pub mod records;
