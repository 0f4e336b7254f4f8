//! The Shards tab: a Kinesis stream node's 128-bit key space drawn as a bar split into its shards'
//! hash ranges, with each partition key placed where its MD5 falls (hover one for its hash and
//! shard), and per shard the last second's records and bytes against the limits, throttled writes
//! and totals; the hot shard is marked. With consumers: each one's reads, how far behind the
//! newest record it is, throttled calls and records lost to the retention, and per shard the
//! polling consumers' shared calls and MiB a second against their limits.

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use super::LiveRun;
use crate::model::Family;
use crate::runtime::shard_stats::ShardView;
use crate::ui::theme;

use crate::runtime::operators::kinesis_limits::{BYTES_PER_SECOND, RECORDS_PER_SECOND};
use crate::runtime::operators::kinesis_reads::{CALLS_PER_SECOND, READ_BYTES_PER_SECOND};

/// Per shard and second (streaming-facts §1.1).
const RECORDS_LIMIT: f32 = RECORDS_PER_SECOND as f32;
const BYTES_LIMIT: f32 = BYTES_PER_SECOND as f32;
/// What the polling consumers share per shard and second: 5 calls and 2 MiB.
const CALLS_LIMIT: f32 = CALLS_PER_SECOND as f32;
const READ_BYTES_LIMIT: f32 = READ_BYTES_PER_SECOND as f32;

#[derive(Default)]
pub struct ShardsView {
    stream: Option<String>,
}

impl ShardsView {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun) {
        let streams: Vec<String> = live
            .started_from
            .nodes
            .iter()
            .filter(|n| n.kind.kind_id() == crate::model::KindId::KinesisStream)
            .map(|n| n.id.clone())
            .collect();
        let Some(first) = streams.first() else {
            ui.label("This pipeline has no stream node. Add a Kinesis data stream to see its shards here.");
            return;
        };
        if self.stream.as_ref().is_none_or(|s| !streams.contains(s)) {
            self.stream = Some(first.clone());
        }
        let mut chosen = self.stream.clone().unwrap_or_default();
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("stream")
                .selected_text(chosen.clone())
                .show_ui(ui, |ui| {
                    for id in &streams {
                        ui.selectable_value(&mut chosen, id.clone(), id.as_str());
                    }
                });
            ui.label(
                RichText::new("each shard takes 1,000 records and 1 MiB a second; over that, writes are throttled")
                    .weak(),
            );
        });
        self.stream = Some(chosen.clone());
        let Some(stats) = live.handle.shard_stats(&chosen) else {
            return;
        };
        let view = stats.view();
        producer_ui(ui, &view);
        key_space_ui(ui, &view);
        reshards_ui(ui, &view);
        consumers_ui(ui, &view);
        shard_table_ui(ui, &view);
    }
}

/// Where `key` falls along a bar of `width`, from the left.
fn fraction(key: u128) -> f32 {
    (key as f64 / u128::MAX as f64) as f32
}

/// A colour from calm to red as a shard's load nears and passes its limit.
fn load_colour(load: f32, dark: bool) -> Color32 {
    let calm = if dark {
        Color32::from_rgb(0x2c, 0x3e, 0x50)
    } else {
        Color32::from_rgb(0xd6, 0xe4, 0xf0)
    };
    let hot = theme::ERROR;
    let t = load.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t) as u8;
    Color32::from_rgb(
        mix(calm.r(), hot.r()),
        mix(calm.g(), hot.g()),
        mix(calm.b(), hot.b()),
    )
}

fn key_space_ui(ui: &mut Ui, view: &ShardView) {
    ui.label(
        RichText::new(
            "Key space 0 … 2^128 − 1: shards by hash range, partition keys where their MD5 falls",
        )
        .small(),
    );
    let width = ui.available_width().max(100.0);
    // A few keys are named above their ticks; many are ticks only (hover for each).
    let named = view.keys.len() <= 16;
    let above = if named { 26.0 } else { 12.0 };
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 32.0 + above), Sense::hover());
    let painter = ui.painter_at(rect);
    let bar = Rect::from_min_max(rect.min + Vec2::new(0.0, above), rect.max);
    let dark = ui.visuals().dark_mode;
    let hot = view.hot_shard();
    // Closed shards take no writes: the bar shows the open ones, which cover the key space.
    for (i, shard) in view.shards.iter().enumerate().filter(|(_, s)| s.open) {
        let left = bar.left() + fraction(shard.range.start) * bar.width();
        let right = bar.left() + fraction(shard.range.end) * bar.width();
        let cell = Rect::from_min_max(Pos2::new(left, bar.top()), Pos2::new(right, bar.bottom()));
        let load = (shard.last_second_records + shard.last_second_throttled) as f32 / RECORDS_LIMIT;
        painter.rect_filled(cell, 0.0, load_colour(load, dark));
        painter.line_segment(
            [cell.left_top(), cell.left_bottom()],
            Stroke::new(1.0, ui.visuals().window_stroke.color),
        );
        if cell.width() > 40.0 {
            let label = if hot == Some(i) {
                format!("{i} hot")
            } else {
                i.to_string()
            };
            painter.text(
                cell.center(),
                Align2::CENTER_CENTER,
                label,
                FontId::proportional(11.0),
                ui.visuals().strong_text_color(),
            );
        }
    }
    // Keys as ticks above the bar; the one under the pointer is described.
    let mut nearest: Option<(f32, usize)> = None;
    let pointer = response.hover_pos();
    for (i, key) in view.keys.iter().enumerate() {
        let x = bar.left() + fraction(key.hash) * bar.width();
        painter.line_segment(
            [
                Pos2::new(x, bar.top() - 10.0),
                Pos2::new(x, bar.top() + 6.0),
            ],
            Stroke::new(1.5, theme::family_color(Family::Stream)),
        );
        if named {
            // Alternate heights so neighbouring names overlap less often.
            let y = rect.top() + if i % 2 == 0 { 0.0 } else { 8.0 };
            painter.text(
                Pos2::new(x, y),
                Align2::CENTER_TOP,
                &key.key,
                FontId::monospace(10.0),
                ui.visuals().text_color(),
            );
        }
        if let Some(p) = pointer {
            let distance = (p.x - x).abs();
            if distance < 5.0 && nearest.is_none_or(|(d, _)| distance < d) {
                nearest = Some((distance, i));
            }
        }
    }
    if let Some((_, i)) = nearest
        && let Some(key) = view.keys.get(i)
    {
        let shard = view.shards.get(key.shard).map_or("?", |s| s.id.as_str());
        response.on_hover_text(format!(
            "partition key `{}`\nMD5 {:#034x}\n= {}\ngoes to {shard}; {} records so far",
            key.key, key.hash, key.hash, key.records
        ));
    } else if view.other_key_records > 0 {
        response.on_hover_text(format!(
            "The first {} partition keys are shown; {} records had other keys.",
            view.keys.len(),
            view.other_key_records
        ));
    }
}

/// The resharding so far, one line each: when, what closed, what opened.
fn reshards_ui(ui: &mut Ui, view: &ShardView) {
    for event in &view.reshards {
        let closed: Vec<String> = event
            .closed
            .iter()
            .filter_map(|&n| view.shards.get(n as usize))
            .map(|s| s.id.clone())
            .collect();
        let opened: Vec<&str> = event.opened.iter().map(|(id, _)| id.as_str()).collect();
        ui.label(
            RichText::new(format!(
                "{}  resharded: {} closed (still readable), {} open",
                crate::values::show_time(event.at),
                closed.join(", "),
                opened.join(", ")
            ))
            .small(),
        );
    }
}

/// What the producer made of the records: Kinesis records, requests, attempts, expiries.
fn producer_ui(ui: &mut Ui, view: &ShardView) {
    let p = &view.producer;
    if p.user_records == 0 {
        return;
    }
    let mut text = format!(
        "The producer was given {} records and wrote {} Kinesis records in {} requests ({} write attempts)",
        p.user_records, p.kinesis_records, p.requests, p.attempts
    );
    if p.expired > 0 {
        text.push_str(&format!("; {} expired in the KPL", p.expired));
    }
    ui.label(RichText::new(text).small()).on_hover_text(
        "PutRecord makes a request per record and attempt; PutRecords sends up to 500 records a request; the KPL packs user records into Kinesis records and collects those into PutRecords requests",
    );
}

/// One line per consumer: how it reads, how far behind it is, what it lost.
fn consumers_ui(ui: &mut Ui, view: &ShardView) {
    if view.consumers.is_empty() {
        return;
    }
    egui::Grid::new("consumers")
        .num_columns(7)
        .striped(true)
        .show(ui, |ui| {
            for header in [
                "consumer",
                "reads",
                "records read",
                "behind latest",
                "throttled calls",
                "expired unread",
                "skipped",
            ] {
                ui.label(RichText::new(header).strong());
            }
            ui.end_row();
            for consumer in &view.consumers {
                let name = if consumer.started {
                    RichText::new(&consumer.name)
                } else {
                    RichText::new(format!("{} (not started)", consumer.name)).weak()
                };
                ui.label(name);
                ui.label(if consumer.enhanced_fan_out {
                    "enhanced fan-out (2 MiB/s its own)"
                } else {
                    "polling (shares 5 calls, 2 MiB/s)"
                });
                ui.label(consumer.read.to_string());
                let behind = RichText::new(format!("{:.1} s", consumer.behind_ms as f64 / 1000.0));
                let per_shard: Vec<String> = consumer
                    .shards
                    .iter()
                    .zip(&view.shards)
                    .map(|(s, line)| {
                        format!(
                            "{}: {:.1} s behind, {} read, {} calls ({} throttled){}",
                            line.id,
                            s.behind_ms as f64 / 1000.0,
                            s.read,
                            s.calls,
                            s.throttled,
                            if s.finished { ", read to its end" } else { "" }
                        )
                    })
                    .collect();
                ui.label(if consumer.behind_ms > 0 {
                    behind.color(theme::WARNING)
                } else {
                    behind
                })
                .on_hover_text(format!(
                    "MillisBehindLatest: how far the oldest record it has not read is behind the newest in its shard (the most so far: {:.1} s)\n{}",
                    consumer.peak_behind_ms as f64 / 1000.0,
                    per_shard.join("\n")
                ));
                let throttled = RichText::new(consumer.throttled_calls.to_string());
                ui.label(if consumer.throttled_calls > 0 {
                    throttled.color(theme::WARNING)
                } else {
                    throttled
                });
                let expired = RichText::new(consumer.expired.to_string());
                ui.label(if consumer.expired > 0 {
                    expired.color(theme::ERROR)
                } else {
                    expired
                })
                .on_hover_text("records older than the retention when it came to read them");
                ui.label(consumer.skipped.to_string())
                    .on_hover_text("records before its starting position (LATEST or AT_TIMESTAMP)");
                ui.end_row();
            }
        });
}

fn shard_table_ui(ui: &mut Ui, view: &ShardView) {
    let when = view
        .last_second
        .map(|s| crate::values::show_time(s * 1000))
        .map_or("no whole second yet".to_string(), |t| {
            format!("the second from {t}")
        });
    ui.label(RichText::new(format!("Per shard, {when} of arrival time:")).small());
    let hot = view.hot_shard();
    // With polling consumers, the shared read limits per shard too.
    let polling = view.consumers.iter().any(|c| !c.enhanced_fan_out);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("shards")
                .num_columns(if polling { 8 } else { 6 })
                .striped(true)
                .show(ui, |ui| {
                    let mut headers = vec![
                        "shard",
                        "records / s (of 1,000)",
                        "MiB / s (of 1)",
                        "throttled / s",
                        "written",
                        "throttled",
                    ];
                    if polling {
                        headers.extend(["read calls / s (of 5)", "read MiB / s (of 2)"]);
                    }
                    for header in headers {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for (i, shard) in view.shards.iter().enumerate() {
                        let name = if hot == Some(i) {
                            RichText::new(format!("{} (hot)", shard.id)).color(theme::WARNING)
                        } else if !shard.open {
                            RichText::new(format!("{} (closed)", shard.id)).weak()
                        } else {
                            RichText::new(&shard.id)
                        };
                        ui.label(name).on_hover_text(format!(
                            "hash keys {} …\n{}",
                            shard.range.start, shard.range.end
                        ));
                        let records = shard.last_second_records as f32;
                        limit_bar(ui, records / RECORDS_LIMIT, format!("{records:.0}"));
                        let mib = shard.last_second_bytes as f32 / BYTES_LIMIT;
                        limit_bar(ui, mib, format!("{mib:.2}"));
                        let throttled = shard.last_second_throttled;
                        let text = RichText::new(throttled.to_string());
                        ui.label(if throttled > 0 {
                            text.color(theme::WARNING)
                        } else {
                            text
                        });
                        ui.label(shard.written.to_string());
                        ui.label(shard.throttled.to_string());
                        if polling {
                            let reads = view.shared_reads.get(i).copied().unwrap_or_default();
                            let calls = reads.calls as f32;
                            let text = if reads.throttled > 0 {
                                format!("{calls:.0} +{} throttled", reads.throttled)
                            } else {
                                format!("{calls:.0}")
                            };
                            limit_bar(ui, calls / CALLS_LIMIT, text);
                            let bytes = reads.bytes as f32;
                            let mib = bytes / (1024.0 * 1024.0);
                            limit_bar(ui, bytes / READ_BYTES_LIMIT, format!("{mib:.2}"));
                        }
                        ui.end_row();
                    }
                });
        });
}

/// A bar filled to `share` of a limit (red when at it), with `text` on it.
fn limit_bar(ui: &mut Ui, share: f32, text: String) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(140.0, 14.0), Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let filled = Rect::from_min_size(
        rect.min,
        Vec2::new(rect.width() * share.clamp(0.0, 1.0), rect.height()),
    );
    let colour = if share >= 1.0 {
        theme::ERROR
    } else {
        theme::family_color(Family::Stream)
    };
    painter.rect_filled(filled, 2.0, colour);
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        text,
        FontId::monospace(10.0),
        ui.visuals().strong_text_color(),
    );
}
