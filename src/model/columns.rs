//! Declared columns of file sources: a name and one of a few SQL-like types.

use arrow::datatypes::{DataType, Field, TimeUnit};
use serde::{Deserialize, Serialize};

use super::form::{Field as FormField, FieldValue, ListField};

/// The column types a file source can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    Boolean,
    Int32,
    Int64,
    Float64,
    String,
    /// Read from ISO-8601 text or epoch milliseconds; held as milliseconds.
    Timestamp,
}

impl ColumnType {
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::String => DataType::Utf8,
            ColumnType::Timestamp => timestamp_type(),
        }
    }
}

/// Event times are held as milliseconds since the epoch, without a time zone (UTC).
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDecl {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

impl ColumnDecl {
    pub fn new(name: &str, column_type: ColumnType) -> Self {
        Self {
            name: name.to_string(),
            column_type,
        }
    }

    pub fn field(&self) -> Field {
        Field::new(&self.name, self.column_type.arrow_type(), true)
    }
}

crate::plain_choice!(ColumnType {
    Boolean,
    Int32,
    Int64,
    Float64,
    String,
    Timestamp
});

/// Declared columns as a form list; removing the last one goes back to inferring them.
impl ListField for Option<Vec<ColumnDecl>> {
    fn item_name(&self) -> &'static str {
        "column"
    }

    fn len(&self) -> usize {
        self.as_ref().map_or(0, Vec::len)
    }

    fn item(&mut self, index: usize) -> Vec<FormField<'_>> {
        let Some(column) = self.as_mut().and_then(|c| c.get_mut(index)) else {
            return Vec::new();
        };
        vec![
            FormField::new(
                "name",
                "The column's name",
                FieldValue::Text(&mut column.name),
            ),
            FormField::new(
                "type",
                "How the column's values are read",
                FieldValue::Choice(&mut column.column_type),
            ),
        ]
    }

    fn add(&mut self) {
        let columns = self.get_or_insert_with(Vec::new);
        let name = format!("column_{}", columns.len() + 1);
        columns.push(ColumnDecl::new(&name, ColumnType::String));
    }

    fn remove(&mut self, index: usize) {
        if let Some(columns) = self.as_mut()
            && index < columns.len()
        {
            columns.remove(index);
            if columns.is_empty() {
                *self = None;
            }
        }
    }
}
