//! Tools over the engine: what changed between two policies, why a source may or may not
//! reach a destination, the JSON Schema, and sidecar relay/capability assertions.

pub mod assertions;
pub mod diff;
pub mod explain;
pub mod schema;
