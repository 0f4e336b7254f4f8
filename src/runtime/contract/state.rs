//! The byte encoding of saved state: little-endian integers, length-prefixed byte strings and rows
//! as Arrow IPC streams, read back with every length checked against what is left before anything
//! is allocated, so a damaged file is refused with a reason instead of exhausting memory.

use arrow::record_batch::RecordBatch;

use super::error::RunError;

/// Builds a state blob.
#[derive(Default)]
pub struct StateWriter {
    bytes: Vec<u8>,
}

impl StateWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn f64(&mut self, value: f64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// `None` as a 0 byte, `Some(v)` as 1 then `v`.
    pub fn opt_i64(&mut self, value: Option<i64>) {
        match value {
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
            None => self.u8(0),
        }
    }

    pub fn opt_f64(&mut self, value: Option<f64>) {
        match value {
            Some(v) => {
                self.u8(1);
                self.f64(v);
            }
            None => self.u8(0),
        }
    }

    pub fn bytes(&mut self, value: &[u8]) {
        self.u64(value.len() as u64);
        self.bytes.extend_from_slice(value);
    }

    pub fn str(&mut self, value: &str) {
        self.bytes(value.as_bytes());
    }

    /// Batches of one schema as an Arrow IPC stream (an empty byte string for none).
    pub fn batches(&mut self, batches: &[RecordBatch]) -> Result<(), RunError> {
        let Some(first) = batches.first() else {
            self.bytes(&[]);
            return Ok(());
        };
        let failed = |e: arrow::error::ArrowError| RunError::internal(format!("saving rows: {e}"));
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &first.schema())
            .map_err(failed)?;
        for batch in batches {
            writer.write(batch).map_err(failed)?;
        }
        let bytes = writer.into_inner().map_err(failed)?;
        self.bytes(&bytes);
        Ok(())
    }

    /// A value as a JSON document: for the simulated AWS services' bookkeeping (shards, cursors,
    /// leases), many small fields whose names make a checkpoint readable.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> Result<(), RunError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| RunError::internal(format!("saving state as JSON: {e}")))?;
        self.bytes(&bytes);
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads a state blob written by [`StateWriter`].
pub struct StateReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn damaged(what: &str) -> RunError {
    RunError::data(format!("the saved state is damaged: {what}"))
}

impl<'a> StateReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// The state of an operator that runs one instance: a reader of its blob past the version
    /// byte, `None` when nothing was saved for it; another version is refused naming `what`.
    pub fn single(saved: &'a [Vec<u8>], version: u8, what: &str) -> Result<Option<Self>, RunError> {
        let Some(blob) = saved.first() else {
            return Ok(None);
        };
        let mut reader = Self::new(blob);
        if reader.u8()? != version {
            return Err(RunError::data(format!(
                "the saved {what} has an unknown version"
            )));
        }
        Ok(Some(reader))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RunError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| damaged("it ends too early"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RunError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, RunError> {
        Ok(self.take(1)?[0])
    }

    pub fn bool(&mut self) -> Result<bool, RunError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(damaged(&format!("{other} is not a boolean"))),
        }
    }

    pub fn u32(&mut self) -> Result<u32, RunError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, RunError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, RunError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Result<f64, RunError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>, RunError> {
        Ok(if self.bool()? {
            Some(self.i64()?)
        } else {
            None
        })
    }

    pub fn opt_f64(&mut self) -> Result<Option<f64>, RunError> {
        Ok(if self.bool()? {
            Some(self.f64()?)
        } else {
            None
        })
    }

    /// A count of items that each take at least `min_item_bytes`: refused when what is left
    /// cannot hold that many, so a damaged count never sizes an allocation.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, RunError> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min_item_bytes.max(1) as u64) > left {
            return Err(damaged(&format!(
                "a count of {n} is more than the file holds"
            )));
        }
        Ok(n as usize)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], RunError> {
        let n = self.count(1)?;
        self.take(n)
    }

    pub fn str(&mut self) -> Result<&'a str, RunError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| damaged("a name is not UTF-8"))
    }

    /// Batches written by [`StateWriter::batches`].
    pub fn batches(&mut self) -> Result<Vec<RecordBatch>, RunError> {
        let bytes = self.bytes()?;
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .map_err(|e| damaged(&format!("saved rows: {e}")))?;
        reader
            .map(|b| b.map_err(|e| damaged(&format!("saved rows: {e}"))))
            .collect()
    }

    /// A value written by [`StateWriter::json`]; its length was checked against the blob, and
    /// serde_json sizes nothing from the text before reading it.
    pub fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, RunError> {
        let bytes = self.bytes()?;
        serde_json::from_slice(bytes).map_err(|e| damaged(&format!("saved bookkeeping: {e}")))
    }

    /// Fails unless every byte was read (a blob from another version or kind).
    pub fn end(&self) -> Result<(), RunError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(damaged("it has bytes after its end"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_in_order() {
        let mut w = StateWriter::new();
        w.u8(7);
        w.bool(true);
        w.u32(70_000);
        w.i64(-5);
        w.f64(2.5);
        w.opt_i64(None);
        w.opt_f64(Some(1.25));
        w.str("sensör");
        let blob = w.finish();
        let mut r = StateReader::new(&blob);
        assert_eq!(r.u8().unwrap(), 7);
        assert!(r.bool().unwrap());
        assert_eq!(r.u32().unwrap(), 70_000);
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.f64().unwrap(), 2.5);
        assert_eq!(r.opt_i64().unwrap(), None);
        assert_eq!(r.opt_f64().unwrap(), Some(1.25));
        assert_eq!(r.str().unwrap(), "sensör");
        assert!(r.end().is_ok());
    }

    #[test]
    fn json_values_keep_128_bit_hash_keys_and_extremes() {
        let value: (u128, i64, Vec<Option<i64>>) = (u128::MAX, i64::MIN, vec![None, Some(-1)]);
        let mut w = StateWriter::new();
        w.json(&value).unwrap();
        let blob = w.finish();
        let mut r = StateReader::new(&blob);
        assert_eq!(r.json::<(u128, i64, Vec<Option<i64>>)>().unwrap(), value);
        assert!(r.end().is_ok());
        let mut truncated = StateReader::new(&blob[..blob.len() - 1]);
        assert!(truncated.json::<(u128, i64, Vec<Option<i64>>)>().is_err());
    }

    #[test]
    fn a_length_larger_than_the_blob_is_refused_before_allocating() {
        let mut w = StateWriter::new();
        w.u64(u64::MAX / 2);
        let blob = w.finish();
        let error = StateReader::new(&blob).bytes().unwrap_err().to_string();
        assert!(error.contains("more than the file holds"), "{error}");
        assert!(StateReader::new(&[1, 2]).u32().is_err());
    }
}
