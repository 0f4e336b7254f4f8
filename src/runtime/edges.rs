//! The engine's side of an edge: one channel per receiving instance, and how rows are spread over
//! them (forward, by key hash, by shard, broadcast), with the edge's tap.

use std::sync::Arc;

use arrow::array::{Array, AsArray, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use crossbeam_channel::Sender;

use super::contract::{EdgeSink, Message, RunError, SendFailure};
use super::keys::{KeyEncoder, instance_of_key};
use super::tap::Tap;

/// How an edge spreads batches over the instances of its receiver.
pub enum Spread {
    /// To the one instance this sender is paired with.
    Forward,
    /// Rows with the same key go to the same instance.
    Hash(KeyEncoder),
    /// Rows go to the instance owning the shard in this column (shard modulo instances).
    ByShard(usize),
    /// Every row to every instance.
    Broadcast,
}

/// One edge leaving a port of one sending instance.
pub struct EdgeSender {
    pub senders: Vec<Sender<Message>>,
    pub spread: Spread,
    pub tap: Arc<Tap>,
}

impl EdgeSender {
    fn send_to(&self, part: usize, batch: RecordBatch) -> Result<(), SendFailure> {
        let Some(sender) = self.senders.get(part) else {
            return Err(SendFailure::Failed(RunError::internal(format!(
                "no receiver {part} on this edge"
            ))));
        };
        sender
            .send(Message::Batch(batch))
            .map_err(|_| SendFailure::Disconnected)
    }

    /// Sends the rows of `batch` whose receiver `parts[row]` says, one piece per receiver.
    fn send_parts(&self, batch: &RecordBatch, parts: &[usize]) -> Result<(), SendFailure> {
        let mut indices: Vec<Vec<u32>> = vec![Vec::new(); self.senders.len()];
        for (row, &part) in parts.iter().enumerate() {
            indices[part].push(row as u32);
        }
        for (part, rows) in indices.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let piece = if rows.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(batch, &UInt32Array::from(rows))
                    .map_err(|e| SendFailure::Failed(RunError::internal(e.to_string())))?
            };
            self.send_to(part, piece)?;
        }
        Ok(())
    }
}

/// The receiver of each row by its shard: a number, or a shard id such as
/// `shardId-000000000007` (its number), modulo the receivers; a missing one goes to the first.
fn shard_parts(shards: &dyn Array, receivers: usize) -> Result<Vec<usize>, SendFailure> {
    let number = |shard: i64| shard.rem_euclid(receivers as i64) as usize;
    if let Some(ids) = shards.as_any().downcast_ref::<arrow::array::StringArray>() {
        return Ok((0..ids.len())
            .map(|i| {
                let digits = ids.is_valid(i).then(|| {
                    let id = ids.value(i);
                    let start = id.rfind(|c: char| !c.is_ascii_digit()).map_or(0, |p| p + 1);
                    id[start..].parse::<i64>().unwrap_or(0)
                });
                number(digits.unwrap_or(0))
            })
            .collect());
    }
    let numbers = cast(shards, &DataType::Int64)
        .map_err(|e| SendFailure::Failed(RunError::internal(e.to_string())))?;
    let numbers = numbers.as_primitive::<Int64Type>();
    Ok((0..numbers.len())
        .map(|i| {
            number(if numbers.is_valid(i) {
                numbers.value(i)
            } else {
                0
            })
        })
        .collect())
}

impl EdgeSink for EdgeSender {
    fn send_batch(&self, batch: &RecordBatch) -> Result<(), SendFailure> {
        self.tap.offer(batch);
        let receivers = self.senders.len();
        match &self.spread {
            _ if receivers == 1 => self.send_to(0, batch.clone()),
            Spread::Forward => self.send_to(0, batch.clone()),
            Spread::Broadcast => {
                for part in 0..receivers {
                    self.send_to(part, batch.clone())?;
                }
                Ok(())
            }
            Spread::Hash(encoder) => match encoder.encode(batch).map_err(SendFailure::Failed)? {
                Some(rows) => {
                    let parts: Vec<usize> = (0..rows.num_rows())
                        .map(|i| instance_of_key(rows.row(i).as_ref(), receivers))
                        .collect();
                    self.send_parts(batch, &parts)
                }
                None => self.send_to(0, batch.clone()),
            },
            Spread::ByShard(column) => {
                let parts = shard_parts(batch.column(*column).as_ref(), receivers)?;
                self.send_parts(batch, &parts)
            }
        }
    }

    fn send_control(&self, message: &Message) -> Result<(), SendFailure> {
        for sender in &self.senders {
            sender
                .send(message.clone())
                .map_err(|_| SendFailure::Disconnected)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use crossbeam_channel::{Receiver, unbounded};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("shard", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "a", "c", "b", "a"])),
                Arc::new(Int64Array::from(vec![0, 1, 2, 3, 4, 5])),
            ],
        )
        .unwrap()
    }

    fn edge(spread: Spread, receivers: usize) -> (EdgeSender, Vec<Receiver<Message>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..receivers).map(|_| unbounded()).unzip();
        let edge = EdgeSender {
            senders,
            spread,
            tap: Arc::new(Tap::new()),
        };
        (edge, receivers)
    }

    /// The `column` values each receiver got.
    fn received(receivers: &[Receiver<Message>], column: usize) -> Vec<Vec<String>> {
        receivers
            .iter()
            .map(|rx| {
                rx.try_iter()
                    .filter_map(|m| match m {
                        Message::Batch(b) => Some(b),
                        _ => None,
                    })
                    .flat_map(|b| {
                        (0..b.num_rows())
                            .map(|r| crate::values::cell_text(b.column(column).as_ref(), r))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_key_always_goes_to_the_same_instance() {
        let schema = batch().schema();
        let encoder = KeyEncoder::new(&schema, &["key".to_string()]).unwrap();
        let (edge, receivers) = edge(Spread::Hash(encoder), 3);
        edge.send_batch(&batch()).unwrap();
        edge.send_batch(&batch()).unwrap();
        let got = received(&receivers, 0);
        assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 12);
        for key in ["a", "b", "c"] {
            let holders = got
                .iter()
                .filter(|keys| keys.iter().any(|k| k == key))
                .count();
            assert_eq!(holders, 1, "key {key} went to {holders} instances");
        }
    }

    #[test]
    fn by_shard_sends_shard_n_to_instance_n_modulo_the_instances() {
        let (edge, receivers) = edge(Spread::ByShard(1), 2);
        edge.send_batch(&batch()).unwrap();
        assert_eq!(
            received(&receivers, 1),
            vec![vec!["0", "2", "4"], vec!["1", "3", "5"]]
        );
    }

    #[test]
    fn by_shard_reads_the_number_of_a_kinesis_shard_id() {
        let ids = arrow::array::StringArray::from(vec![
            Some("shardId-000000000000"),
            Some("shardId-000000000007"),
            Some("shardId-000000000010"),
            None,
        ]);
        assert_eq!(shard_parts(&ids, 3).unwrap(), vec![0, 1, 1, 0]);
    }

    #[test]
    fn broadcast_reaches_every_instance_and_forward_only_one() {
        let (edge_all, all) = edge(Spread::Broadcast, 3);
        edge_all.send_batch(&batch()).unwrap();
        assert!(received(&all, 0).iter().all(|rows| rows.len() == 6));
        let (edge_one, one) = edge(Spread::Forward, 1);
        edge_one.send_batch(&batch()).unwrap();
        edge_one.send_control(&Message::Watermark(5)).unwrap();
        assert_eq!(received(&one, 0)[0].len(), 6);
    }
}
