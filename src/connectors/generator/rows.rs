//! The rows of each generator preset: plausible values, in the preset's schema, from one seed.

use arrow::datatypes::SchemaRef;

use super::random::{Rng, Zipf};
use crate::connectors::columns::Cell;
use crate::model::kinds::generator::Preset;

/// Makes rows for one preset, writing the event time into the configured time column.
pub struct RowMaker {
    preset: Preset,
    names: Vec<String>,
    time_column: Option<String>,
    pages: Zipf,
    seed: u64,
}

const SITES: [&str; 8] = [
    "north", "south", "east", "west", "harbour", "airport", "campus", "depot",
];
const PAGES: [&str; 6] = ["/", "/search", "/cart", "/checkout", "/deals", "/account"];
const REFERRERS: [&str; 4] = ["search", "direct", "newsletter", "social"];
const MERCHANTS: [&str; 12] = [
    "Bean There",
    "Nordic Outfitters",
    "Pixel Palace",
    "Green Grocer",
    "Fuel Stop",
    "Cloud Books",
    "City Cabs",
    "Pharma Plus",
    "Sound Hub",
    "Urban Eats",
    "Sky Air",
    "Home Depot Mini",
];
const CATEGORIES: [&str; 6] = ["food", "travel", "electronics", "fuel", "health", "books"];
const COUNTRIES: [&str; 6] = ["US", "DE", "FR", "GB", "NL", "ES"];
const SERVICES: [&str; 6] = [
    "checkout", "search", "auth", "catalog", "payments", "shipping",
];
const PATHS: [&str; 5] = ["/", "/api/cart", "/api/search", "/login", "/api/items"];

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn money(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A stable per-key number in [0, 1), so each key has its own character.
fn key_trait(seed: u64, key: usize, salt: u64) -> f64 {
    let mut r = Rng::new(seed ^ (key as u64).wrapping_mul(0x9E37_79B9) ^ salt);
    r.unit()
}

impl RowMaker {
    pub fn new(preset: Preset, schema: &SchemaRef, time_column: Option<String>, seed: u64) -> Self {
        Self {
            preset,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            time_column,
            pages: Zipf::new(200, 1.1),
            seed,
        }
    }

    /// Clickstream users come in bursts (sessions); other presets' keys are always active.
    pub fn key_is_active(&self, key: usize, t: i64) -> bool {
        if self.preset != Preset::Clickstream {
            return true;
        }
        let period = 10 * 60_000;
        let phase = (key_trait(self.seed, key, 1) * period as f64) as i64;
        (t + phase).rem_euclid(period) < 2 * 60_000
    }

    /// Appends the cells of event `seq` at event time `t` for key `key`.
    pub fn make(&self, seq: u64, t: i64, key: usize, rng: &mut Rng, out: &mut Vec<Cell>) {
        out.clear();
        let values: Vec<(&str, Cell)> = match self.preset {
            Preset::TaxiTrips => self.taxi(seq, t, key, rng),
            Preset::IotSensors => self.iot(t, key, rng),
            Preset::Clickstream => self.click(t, key, rng),
            Preset::Payments => self.payment(seq, t, key, rng),
            Preset::AppLogs => self.log(t, key, rng),
        };
        for name in &self.names {
            let cell = if self.time_column.as_deref() == Some(name.as_str()) {
                Cell::Time(t)
            } else {
                values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c.clone())
                    .unwrap_or(Cell::Null)
            };
            out.push(cell);
        }
    }

    fn taxi(&self, seq: u64, t: i64, key: usize, rng: &mut Rng) -> Vec<(&'static str, Cell)> {
        let dirty = rng.unit();
        let mut distance = (rng.log_normal(0.9, 0.7) * 100.0).round() / 100.0;
        let mut passengers = 1 + rng.below(4) as i64 + i64::from(rng.chance(0.1)) * 2;
        let mut kind = "trip";
        if dirty < 0.01 {
            distance = 0.0;
        } else if dirty < 0.02 {
            passengers = 0;
        } else if dirty < 0.03 {
            kind = "heartbeat";
        }
        let duration_ms = ((3.0 + distance * 3.5 + rng.unit() * 6.0) * 60_000.0) as i64;
        let (pickup, dropoff) = if self.time_column.as_deref() == Some("pickup_datetime") {
            (t, t + duration_ms)
        } else {
            (t - duration_ms, t)
        };
        let payment = if rng.chance(0.7) { 1 } else { 2 };
        let fare = money(3.0 + distance * 2.5 + duration_ms as f64 / 60_000.0 * 0.5);
        let extra = if rng.chance(0.3) { 1.0 } else { 0.5 };
        let tip = if payment == 1 {
            money(fare * (0.1 + rng.unit() * 0.15))
        } else {
            0.0
        };
        let tolls = if distance > 8.0 && rng.chance(0.3) {
            6.94
        } else {
            0.0
        };
        let total = money(fare + extra + 0.5 + tip + tolls + 0.3);
        vec![
            ("trip_id", Cell::Int(seq as i64 + 1)),
            ("vendor_id", Cell::Int(1 + rng.below(2) as i64)),
            ("pickup_datetime", Cell::Time(pickup)),
            ("dropoff_datetime", Cell::Time(dropoff)),
            ("passenger_count", Cell::Int(passengers)),
            ("trip_distance", Cell::Float(distance)),
            (
                "ratecode_id",
                Cell::Int(if distance > 15.0 { 2 } else { 1 }),
            ),
            (
                "store_and_fwd_flag",
                text(if rng.chance(0.02) { "Y" } else { "N" }),
            ),
            ("pickup_location_id", Cell::Int(key as i64 + 1)),
            ("dropoff_location_id", Cell::Int(1 + rng.below(265) as i64)),
            ("payment_type", Cell::Int(payment)),
            ("fare_amount", Cell::Float(fare)),
            ("extra", Cell::Float(extra)),
            ("mta_tax", Cell::Float(0.5)),
            ("tip_amount", Cell::Float(tip)),
            ("tolls_amount", Cell::Float(tolls)),
            ("improvement_surcharge", Cell::Float(0.3)),
            ("total_amount", Cell::Float(total)),
            ("type", text(kind)),
        ]
    }

    fn iot(&self, t: i64, key: usize, rng: &mut Rng) -> Vec<(&'static str, Cell)> {
        let base = 18.0 + key_trait(self.seed, key, 2) * 8.0;
        let minutes = t as f64 / 60_000.0;
        let wave = 2.0 * (minutes / 10.0 * std::f64::consts::TAU + key as f64).sin();
        // Every tenth sensor overheats for a minute in every five.
        let overheating = key % 10 == 3 && (t / 60_000).rem_euclid(5) == 0;
        let temperature = base + wave + rng.normal() * 0.4 + if overheating { 12.0 } else { 0.0 };
        let hours = (t.rem_euclid(86_400_000)) as f64 / 3_600_000.0;
        vec![
            ("sensor_id", text(format!("sensor-{:04}", key + 1))),
            ("site", text(SITES[key % SITES.len()])),
            ("event_time", Cell::Time(t)),
            (
                "temperature",
                Cell::Float((temperature * 100.0).round() / 100.0),
            ),
            (
                "humidity",
                Cell::Float(((45.0 + 10.0 * wave.cos() + rng.normal()) * 10.0).round() / 10.0),
            ),
            (
                "battery_pct",
                Cell::Float(((100.0 - hours * 2.0 - (key % 10) as f64) * 10.0).round() / 10.0),
            ),
        ]
    }

    fn click(&self, t: i64, key: usize, rng: &mut Rng) -> Vec<(&'static str, Cell)> {
        let page_rank = self.pages.sample(rng);
        let (page, product) = if page_rank < PAGES.len() {
            (PAGES[page_rank].to_string(), String::new())
        } else {
            let id = page_rank - PAGES.len() + 1;
            (format!("/product/{id}"), format!("p-{id:04}"))
        };
        let roll = rng.unit();
        let action = if roll < 0.70 {
            "view"
        } else if roll < 0.88 {
            "click"
        } else if roll < 0.96 {
            "add_to_cart"
        } else {
            "purchase"
        };
        let price = if matches!(action, "add_to_cart" | "purchase") {
            Cell::Float(money(rng.log_normal(3.2, 0.6)))
        } else {
            Cell::Null
        };
        vec![
            ("user_id", text(format!("user-{:05}", key + 1))),
            ("event_time", Cell::Time(t)),
            ("page", text(page)),
            ("action", text(action)),
            ("product_id", text(product)),
            ("price", price),
            ("referrer", text(*rng.pick(&REFERRERS))),
        ]
    }

    fn payment(&self, seq: u64, t: i64, key: usize, rng: &mut Rng) -> Vec<(&'static str, Cell)> {
        let home = COUNTRIES
            [(key_trait(self.seed, key, 3) * COUNTRIES.len() as f64) as usize % COUNTRIES.len()];
        let fraudster = key % 97 == 13;
        let country = if fraudster && rng.chance(0.4) {
            *rng.pick(&COUNTRIES)
        } else {
            home
        };
        let currency = match country {
            "US" => "USD",
            "GB" => "GBP",
            _ => "EUR",
        };
        vec![
            ("payment_id", Cell::Int(seq as i64 + 1)),
            ("card_id", text(format!("card-{:06}", key + 1))),
            ("event_time", Cell::Time(t)),
            ("merchant", text(*rng.pick(&MERCHANTS))),
            ("category", text(*rng.pick(&CATEGORIES))),
            ("amount", Cell::Float(money(rng.log_normal(3.3, 0.9)))),
            ("currency", text(currency)),
            ("country", text(country)),
        ]
    }

    fn log(&self, t: i64, key: usize, rng: &mut Rng) -> Vec<(&'static str, Cell)> {
        let service = SERVICES
            .get(key)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("svc-{:02}", key + 1));
        let roll = rng.unit();
        let (level, status) = if roll < 0.03 {
            ("ERROR", 500)
        } else if roll < 0.11 {
            ("WARN", if rng.chance(0.5) { 404 } else { 429 })
        } else {
            ("INFO", 200)
        };
        let mut latency = rng.log_normal(4.2, 0.6);
        if level == "ERROR" || rng.chance(0.01) {
            latency *= 8.0;
        }
        let message = match level {
            "ERROR" => "upstream timeout",
            "WARN" => "slow client or missing item",
            _ => "request served",
        };
        vec![
            ("service", text(service.clone())),
            ("host", text(format!("{service}-{}", 1 + rng.below(3)))),
            ("event_time", Cell::Time(t)),
            ("level", text(level)),
            ("status_code", Cell::Int(status)),
            ("latency_ms", Cell::Int(latency as i64)),
            ("path", text(*rng.pick(&PATHS))),
            ("message", text(message)),
        ]
    }
}
