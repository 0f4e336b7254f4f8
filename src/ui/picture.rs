//! The canvas as an SVG picture for slides: the same cards, ports and curves, drawn from the model.

use std::fmt::Write;

use super::canvas::card_height;
use super::theme::{CARD_WIDTH, HEADER_HEIGHT, PORT_ROW, SUMMARY_HEIGHT, family_color};
use crate::model::{Node, Pipeline};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the `region` (in points) of a window screenshot as a PNG file.
pub fn write_png(
    image: &egui::ColorImage,
    region: egui::Rect,
    pixels_per_point: f32,
    path: &std::path::Path,
) -> Result<(), String> {
    let cropped = image.region(&region, Some(pixels_per_point));
    let [width, height] = cropped.size;
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(cropped.as_raw())
            .map_err(|e| e.to_string())?;
    }
    crate::model::file::write_atomically(path, &bytes).map_err(|e| format!("{e:#}"))
}

/// At most `max` characters, the last one an ellipsis when cut.
pub fn elide(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    text.chars()
        .take(max.saturating_sub(1))
        .chain(std::iter::once('…'))
        .collect()
}

fn hex(color: egui::Color32) -> String {
    format!("#{:02x}{:02x}{:02x}", color.r(), color.g(), color.b())
}

fn port_y(node_top: f32, index: usize) -> f32 {
    node_top + HEADER_HEIGHT + SUMMARY_HEIGHT + (index as f32 + 0.5) * PORT_ROW
}

/// An SVG document of the whole pipeline on a light background.
pub fn to_svg(pipeline: &Pipeline) -> String {
    let mut layout = pipeline.layout.clone();
    if pipeline
        .nodes
        .iter()
        .any(|n| !layout.nodes.contains_key(&n.id))
    {
        layout.nodes = super::layout::layered(pipeline);
    }
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for node in &pipeline.nodes {
        if let Some(p) = layout.nodes.get(&node.id) {
            min_x = min_x.min(p.0);
            min_y = min_y.min(p.1);
            max_x = max_x.max(p.0 + CARD_WIDTH);
            max_y = max_y.max(p.1 + card_height(node));
        }
    }
    if min_x > max_x {
        (min_x, min_y, max_x, max_y) = (0.0, 0.0, 400.0, 200.0);
    }
    let margin = 30.0;
    let (width, height) = (
        max_x - min_x + 2.0 * margin,
        max_y - min_y + 2.0 * margin + 30.0,
    );
    let (dx, dy) = (margin - min_x, margin + 30.0 - min_y);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Ubuntu, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#fbfbfa"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{margin}" y="28" font-size="18" fill="#222">{}</text>"##,
        escape(&pipeline.name)
    );
    let position = |node: &Node| layout.nodes.get(&node.id).map(|p| (p.0 + dx, p.1 + dy));
    for edge in &pipeline.edges {
        let (Some(from), Some(to)) = (pipeline.node(&edge.from.node), pipeline.node(&edge.to.node))
        else {
            continue;
        };
        let (Some(a), Some(b)) = (position(from), position(to)) else {
            continue;
        };
        let out_index = from
            .kind
            .output_ports()
            .iter()
            .position(|p| *p == edge.from.port)
            .unwrap_or(0);
        let in_index = to
            .kind
            .input_ports()
            .iter()
            .position(|p| *p == edge.to.port)
            .unwrap_or(0);
        let (x1, y1) = (a.0 + CARD_WIDTH, port_y(a.1, out_index));
        let (x2, y2) = (b.0, port_y(b.1, in_index));
        let bend = ((x2 - x1).abs() * 0.5).max(60.0);
        let _ = writeln!(
            svg,
            r##"<path d="M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}" fill="none" stroke="#777" stroke-width="2"/>"##,
            x1 + bend,
            x2 - bend
        );
    }
    for node in &pipeline.nodes {
        let Some((x, y)) = position(node) else {
            continue;
        };
        let h = card_height(node);
        let color = hex(family_color(node.kind.family()));
        let _ = writeln!(
            svg,
            r##"<g><rect x="{x:.1}" y="{y:.1}" width="{CARD_WIDTH}" height="{h:.1}" rx="6" fill="#ffffff" stroke="#c8c8c8"/>
<path d="M{x:.1},{:.1} v-{:.1} a6,6 0 0 1 6,-6 h{:.1} a6,6 0 0 1 6,6 v{:.1} z" fill="{color}"/>
<text x="{:.1}" y="{:.1}" font-size="13" font-weight="bold" fill="#fff">{}</text>
<text x="{:.1}" y="{:.1}" font-size="9" fill="#fff" text-anchor="end">{}</text>
<text x="{:.1}" y="{:.1}" font-size="10" fill="#666">{}</text>"##,
            y + HEADER_HEIGHT,
            HEADER_HEIGHT - 6.0,
            CARD_WIDTH - 12.0,
            HEADER_HEIGHT - 6.0,
            x + 8.0,
            y + 17.0,
            escape(&node.id),
            x + CARD_WIDTH - 8.0,
            y + 17.0,
            escape(node.kind.kind_name()),
            x + 8.0,
            y + HEADER_HEIGHT + 14.0,
            escape(&elide(&node.kind.summary(), 40)),
        );
        for (i, port) in node.kind.input_ports().iter().enumerate() {
            let py = port_y(y, i);
            let _ = writeln!(
                svg,
                r##"<circle cx="{x:.1}" cy="{py:.1}" r="5" fill="#888"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#333">{}</text>"##,
                x + 9.0,
                py + 3.5,
                escape(port)
            );
        }
        for (i, port) in node.kind.output_ports().iter().enumerate() {
            let py = port_y(y, i);
            let _ = writeln!(
                svg,
                r##"<circle cx="{:.1}" cy="{py:.1}" r="5" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#333" text-anchor="end">{}</text>"##,
                x + CARD_WIDTH,
                x + CARD_WIDTH - 9.0,
                py + 3.5,
                escape(port)
            );
        }
        let _ = writeln!(svg, "</g>");
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_export_keeps_only_the_canvas_region() {
        let image = egui::ColorImage::new(
            [200, 100],
            vec![egui::Color32::from_rgb(10, 20, 30); 200 * 100],
        );
        let path = std::env::temp_dir().join(format!("eddy-png-{}.png", std::process::id()));
        let region = egui::Rect::from_min_max(egui::pos2(10.0, 10.0), egui::pos2(60.0, 40.0));
        write_png(&image, region, 2.0, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        // 50 x 30 points at 2 pixels per point.
        assert_eq!((reader.info().width, reader.info().height), (100, 60));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn every_node_and_edge_is_in_the_picture() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pipelines/taxi_workshop.ron"
        ))
        .unwrap();
        let pipeline = crate::model::file::parse(&text).unwrap();
        let svg = to_svg(&pipeline);
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            svg.matches("<path d=\"M").count() - pipeline.nodes.len(),
            pipeline.edges.len()
        );
        for node in &pipeline.nodes {
            assert!(svg.contains(&format!(">{}</text>", node.id)), "{}", node.id);
        }
        assert!(svg.contains("tumbling 1m by pickup_location_id: "));
        // Kept for a look: convert it with any SVG viewer.
        let _ = std::fs::write(std::env::temp_dir().join("eddy-taxi-picture.svg"), &svg);
    }
}
