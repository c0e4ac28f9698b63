//! Stage 4, the grant engine: selectors resolved against a tailnet, the per-node packet
//! filters and capability maps Tailscale would push, and the decision table indexed for
//! runtime questions.

pub mod compile;
pub mod reference;
pub mod resolve;
pub mod table;
