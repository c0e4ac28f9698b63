//! Stage 1, text to tree: the HuJSON parser, which keeps every byte's position, and the
//! formatter that writes a tree back exactly as Tailscale's `hujson` formats it.

pub mod fmt;
pub mod hujson;
