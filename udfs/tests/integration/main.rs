//! The tests of the functions through their public API, in one test binary (each
//! binary links DataFusion; one instead of three keeps the build's time and disk down).

mod calendar_properties;
mod errors;
mod expr_fn;
mod groups_accumulator;
mod pauses;
mod properties;
