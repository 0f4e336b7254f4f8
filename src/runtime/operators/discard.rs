//! The sink of a dry run (a preview): it takes every row and writes nothing, so previewing a
//! pipeline never touches its output files or prints to the console.

use arrow::record_batch::RecordBatch;

use crate::runtime::contract::{OpResult, Operator, Output};

struct Discard;

pub fn build() -> Box<dyn Operator> {
    Box::new(Discard)
}

impl Operator for Discard {
    fn on_batch(&mut self, _port: usize, _batch: RecordBatch, _out: &mut Output) -> OpResult {
        Ok(())
    }
}
