//! The small languages inside policy strings: aliases (`tag:x`, `group:y`, e-mails, hosts,
//! CIDRs...), `alias:ports` destinations, port ranges and IP protocols.
//!
//! Errors are returned as the control plane's own message, so that callers can put it in a
//! diagnostic verbatim.
//!
//! - [`Alias`]: what a selector names, by its syntax alone;
//! - ports, protocols and grant `ip` entries ([`PortRange`], [`IpSpec`], and the parsers
//!   the typed values call);
//! - the typed values the decoder makes of policy strings ([`Selector`], [`Dst`],
//!   [`Proto`], [`IpEntry`], [`IpsetEntry`], [`CapName`]): every later stage matches on them
//!   and never parses the string again.

mod alias;
mod ports;
mod typed;

pub(crate) use alias::parse_alias;
pub use alias::Alias;
// The language server reads destinations from text that may not decode.
#[cfg(feature = "lsp")]
pub(crate) use ports::split_acl_dst;
pub use ports::{parse_port_query, IpSpec, PortRange};
pub use typed::{CapName, Dst, IpEntry, IpsetEntry, Proto, Selector};
