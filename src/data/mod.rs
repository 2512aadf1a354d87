//! The data layer: the canonical tables' schemas, where a data directory is (a local
//! folder or an object store), how its tables are found and registered, and the checks
//! that tell damaged or invalid data from a failing query.

pub mod catalog;
pub mod delta;
pub mod files;
pub mod imports;
pub mod integrity;
pub mod location;
pub mod object_stores;
pub mod pinned;
pub mod schema;
pub mod vacuum;
pub mod validate;
