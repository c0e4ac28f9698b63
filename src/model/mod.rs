//! Stage 2, tree to model: the typed policy decoded from a HuJSON tree, the small languages
//! inside its strings (selectors, ports), the names a policy defines, and the tailnet a policy
//! is applied to.

pub mod names;
pub mod policy;
pub mod selector;
pub mod tailnet;
