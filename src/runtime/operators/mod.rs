//! The operators of transform nodes, one file each.

pub mod filter;
pub mod map;
pub mod route;
pub mod union;
