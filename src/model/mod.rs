//! Stage 2, tree to model: the typed policy decoded from a HuJSON tree, the small languages
//! inside its strings (selectors, ports), the names a policy defines, the tailnet a policy is
//! applied to, and the [`Validated`] policy that only the checker hands out.

pub mod dialect;
mod headscale_tailnet;
pub mod names;
pub mod policy;
pub mod selector;
pub mod tailnet;
pub(crate) mod validated;

pub use dialect::Dialect;
pub(crate) use headscale_tailnet::UserLookupError;
pub use validated::Validated;
