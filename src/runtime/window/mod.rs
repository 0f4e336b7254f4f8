//! Window operators with Flink's semantics: assignment, watermark-driven firing, allowed lateness
//! with late firings, the `late` port, early results, and state freed once a window is final.

pub mod accumulate;
pub mod assign;
pub mod count;
pub mod keyed_state;
pub mod late;
pub mod time_windows;
