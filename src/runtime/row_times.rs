//! The time of every row of a batch as an operator sees it: its event-time column (plus the
//! column's shift), or the wall clock on arrival for processing time; NULL times stay `None`.

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use super::clock::Clock;
use super::contract::{RunError, Timestamp};
use crate::model::time::RowTime;

/// One time per row of `batch`.
pub fn row_times(time: RowTime, batch: &RecordBatch) -> Result<Vec<Option<Timestamp>>, RunError> {
    match time {
        RowTime::Processing => Ok(vec![Some(Clock::now_millis()); batch.num_rows()]),
        RowTime::Event { column, shift_ms } => {
            let array = batch
                .column(column)
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .ok_or_else(|| RunError::internal("the time column is not a TIMESTAMP(3)"))?;
            Ok((0..array.len())
                .map(|i| array.is_valid(i).then(|| array.value(i) + shift_ms))
                .collect())
        }
    }
}
