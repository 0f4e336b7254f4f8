//! A table of rows that stays readable: the header stays put while rows scroll, every column is as
//! wide as its widest cell (up to a limit, the rest on hover), numbers are right-aligned and floats
//! rounded for reading (the exact value on hover).

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use egui::{Align, FontId, Layout, RichText, Sense, TextStyle, Ui, vec2};

use crate::values::{cell_text, display_text};

/// At most this many rows are laid out; the newest are kept by whoever builds the batch.
pub const MAX_SHOWN_ROWS: usize = 500;
/// No column is wider than this many characters; a longer cell is cut and shown whole on hover.
const MAX_COLUMN_CHARS: usize = 40;

/// One column, formatted once.
struct Column {
    name: String,
    numeric: bool,
    /// What the table shows and, where rounding changed it, the exact text for the hover.
    cells: Vec<(String, Option<String>)>,
    chars: usize,
}

/// The text of a batch's cells, worked out once per version of the rows rather than every frame.
pub struct TableText {
    columns: Vec<Column>,
    rows: usize,
}

impl TableText {
    pub fn new(batch: &RecordBatch) -> Self {
        let rows = batch.num_rows().min(MAX_SHOWN_ROWS);
        let schema = batch.schema();
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| {
                let cells: Vec<(String, Option<String>)> = (0..rows)
                    .map(|row| {
                        let shown = display_text(array.as_ref(), row);
                        let exact = cell_text(array.as_ref(), row);
                        let exact = (exact != shown).then_some(exact);
                        (shown, exact)
                    })
                    .collect();
                let widest = cells.iter().map(|(s, _)| s.chars().count()).max();
                let chars = widest
                    .unwrap_or(0)
                    .max(field.name().chars().count())
                    .clamp(3, MAX_COLUMN_CHARS);
                Column {
                    name: field.name().clone(),
                    numeric: field.data_type().is_numeric()
                        || matches!(field.data_type(), DataType::Decimal128(..)),
                    cells,
                    chars,
                }
            })
            .collect();
        Self { columns, rows }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The table, filling the space it is given; `id` keeps its scroll position apart from others.
    pub fn ui(&self, ui: &mut Ui, id: &str) {
        let font = TextStyle::Monospace.resolve(ui.style());
        let char_width = ui.fonts_mut(|f| f.glyph_width(&font, '0'));
        let row_height = ui.text_style_height(&TextStyle::Monospace) + 4.0;
        let widths: Vec<f32> = self
            .columns
            .iter()
            .map(|c| c.chars as f32 * char_width + 14.0)
            .collect();
        let stripe = ui.visuals().faint_bg_color;
        egui::ScrollArea::horizontal()
            .id_salt((id, "columns"))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.spacing_mut().item_spacing.x = 0.0;
                    ui.horizontal(|ui| {
                        for (column, &width) in self.columns.iter().zip(&widths) {
                            cell_ui(ui, width, row_height, column.numeric, |ui| {
                                ui.add(
                                    egui::Label::new(RichText::new(&column.name).strong())
                                        .truncate(),
                                );
                            });
                        }
                    });
                    ui.separator();
                    egui::ScrollArea::vertical()
                        .id_salt((id, "rows"))
                        .auto_shrink([false, false])
                        .show_rows(ui, row_height, self.rows, |ui, shown| {
                            for row in shown {
                                let (line, _) = ui.allocate_exact_size(
                                    vec2(widths.iter().sum(), row_height),
                                    Sense::hover(),
                                );
                                if row % 2 == 1 {
                                    ui.painter().rect_filled(line, 0.0, stripe);
                                }
                                let mut x = line.left();
                                for (column, &width) in self.columns.iter().zip(&widths) {
                                    let rect = egui::Rect::from_min_size(
                                        egui::pos2(x, line.top()),
                                        vec2(width, row_height),
                                    );
                                    x += width;
                                    let (text, exact) = &column.cells[row];
                                    let mut cell = ui.new_child(
                                        egui::UiBuilder::new()
                                            .max_rect(rect.shrink2(vec2(6.0, 0.0)))
                                            .layout(alignment(column.numeric)),
                                    );
                                    let label = cell.add(
                                        egui::Label::new(
                                            RichText::new(text).font(FontId::clone(&font)),
                                        )
                                        .truncate(),
                                    );
                                    if let Some(exact) = exact {
                                        label.on_hover_text(exact);
                                    }
                                }
                            }
                        });
                });
            });
    }
}

fn alignment(numeric: bool) -> Layout {
    if numeric {
        Layout::right_to_left(Align::Center)
    } else {
        Layout::left_to_right(Align::Center)
    }
}

fn cell_ui(ui: &mut Ui, width: f32, height: f32, numeric: bool, add: impl FnOnce(&mut Ui)) {
    ui.allocate_ui_with_layout(vec2(width, height), alignment(numeric), |ui| {
        ui.set_width(width);
        ui.add_space(6.0);
        add(ui);
        ui.add_space(6.0);
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn cells_are_rounded_for_reading_and_exact_on_hover() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("zone", DataType::Utf8, false),
            Field::new("revenue", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["Midtown", "JFK"])),
                Arc::new(Float64Array::from(vec![52313.060123, 12.5])),
            ],
        )
        .unwrap();
        let table = TableText::new(&batch);
        assert_eq!(table.rows(), 2);
        let revenue = &table.columns[1];
        assert!(revenue.numeric);
        assert_eq!(revenue.cells[0].0, "52313.06");
        assert_eq!(revenue.cells[0].1.as_deref(), Some("52313.060123"));
        assert_eq!(revenue.cells[1], ("12.5".to_string(), None));
        // As wide as the widest of header and cells.
        assert_eq!(table.columns[0].chars, "Midtown".len());
        assert_eq!(revenue.chars, "revenue".len().max("52313.06".len()));
    }
}
