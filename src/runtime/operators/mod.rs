//! The operators of transform nodes, one file each (build, operator, tests), and how operators
//! evaluate expressions.

pub mod deduplicate;
pub mod evaluate;
pub mod filter;
pub mod map;
pub mod route;
pub mod union;
