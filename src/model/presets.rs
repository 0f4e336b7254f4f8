//! The generator presets' schemas: which columns each synthetic data set has, and its key and time.

use arrow::datatypes::{DataType, Field, Schema};

use super::columns::timestamp_type;
use super::kinds::generator::Preset;

/// What a preset produces.
pub struct PresetInfo {
    pub schema: Schema,
    /// The column the `keys` knob counts distinct values of.
    pub key_column: &'static str,
    /// The natural event-time column.
    pub time_column: &'static str,
    pub summary: &'static str,
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}
fn int32(name: &str) -> Field {
    Field::new(name, DataType::Int32, false)
}
fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}
fn float64(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}
fn timestamp(name: &str) -> Field {
    Field::new(name, timestamp_type(), false)
}

impl Preset {
    pub fn info(self) -> PresetInfo {
        match self {
            // The snake_case schema of the AWS taxi-trip generator used by the Kinesis workshop.
            Preset::TaxiTrips => PresetInfo {
                schema: Schema::new(vec![
                    int64("trip_id"),
                    int32("vendor_id"),
                    timestamp("pickup_datetime"),
                    timestamp("dropoff_datetime"),
                    int32("passenger_count"),
                    float64("trip_distance"),
                    int32("ratecode_id"),
                    utf8("store_and_fwd_flag"),
                    int32("pickup_location_id"),
                    int32("dropoff_location_id"),
                    int32("payment_type"),
                    float64("fare_amount"),
                    float64("extra"),
                    float64("mta_tax"),
                    float64("tip_amount"),
                    float64("tolls_amount"),
                    float64("improvement_surcharge"),
                    float64("total_amount"),
                    utf8("type"),
                ]),
                key_column: "pickup_location_id",
                time_column: "dropoff_datetime",
                summary: "NYC taxi trips (Kinesis workshop schema), with some dirty rows to clean",
            },
            Preset::IotSensors => PresetInfo {
                schema: Schema::new(vec![
                    utf8("sensor_id"),
                    utf8("site"),
                    timestamp("event_time"),
                    float64("temperature"),
                    float64("humidity"),
                    float64("battery_pct"),
                ]),
                key_column: "sensor_id",
                time_column: "event_time",
                summary: "sensor readings; a few sensors overheat now and then",
            },
            Preset::Clickstream => PresetInfo {
                schema: Schema::new(vec![
                    utf8("user_id"),
                    timestamp("event_time"),
                    utf8("page"),
                    utf8("action"),
                    utf8("product_id"),
                    Field::new("price", DataType::Float64, true),
                    utf8("referrer"),
                ]),
                key_column: "user_id",
                time_column: "event_time",
                summary: "page views, clicks and purchases of web-shop users, in bursts",
            },
            Preset::Payments => PresetInfo {
                schema: Schema::new(vec![
                    int64("payment_id"),
                    utf8("card_id"),
                    timestamp("event_time"),
                    utf8("merchant"),
                    utf8("category"),
                    float64("amount"),
                    utf8("currency"),
                    utf8("country"),
                ]),
                key_column: "card_id",
                time_column: "event_time",
                summary: "card payments; some cards show fraud-like bursts abroad",
            },
            Preset::AppLogs => PresetInfo {
                schema: Schema::new(vec![
                    utf8("service"),
                    utf8("host"),
                    timestamp("event_time"),
                    utf8("level"),
                    int32("status_code"),
                    int64("latency_ms"),
                    utf8("path"),
                    utf8("message"),
                ]),
                key_column: "service",
                time_column: "event_time",
                summary: "application log lines with levels, status codes and latencies",
            },
        }
    }
}
