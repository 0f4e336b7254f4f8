//! Arrow types of Eddy's columns as Flink SQL types.

use arrow::datatypes::DataType;

/// The Flink SQL type of a column, or `None` when Flink has no counterpart the exporter knows.
pub fn flink_type(data_type: &DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING",
        DataType::Boolean => "BOOLEAN",
        DataType::Int8 => "TINYINT",
        DataType::Int16 => "SMALLINT",
        DataType::Int32 => "INT",
        DataType::Int64 => "BIGINT",
        DataType::Float32 => "FLOAT",
        DataType::Float64 => "DOUBLE",
        DataType::Timestamp(_, _) => "TIMESTAMP(3)",
        DataType::Date32 => "DATE",
        _ => return None,
    })
}
