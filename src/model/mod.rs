//! Stage 2, tree to model: the typed policy decoded from a HuJSON tree, the small languages
//! inside its strings (selectors, ports), and the tailnet a policy is applied to.

pub mod policy;
pub mod selector;
pub mod tailnet;
