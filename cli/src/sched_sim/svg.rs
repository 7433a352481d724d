//! Just enough SVG for the scheduling figures: a canvas, shapes, text, and a plot
//! area with linear or logarithmic axes. Hand-written, so no plotting crate.

use std::fmt::Write;

/// Colors that stay distinguishable (Okabe-Ito, colour-blind safe).
pub const PALETTE: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
pub const GRAY: &str = "#999999";

pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg { width, height, body: String::new() }
    }

    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str, tooltip: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{fill}""#,
            width.max(0.0),
            height.max(0.0)
        );
        match tooltip {
            Some(tip) => {
                let _ = writeln!(self.body, "><title>{}</title></rect>", escape(tip));
            }
            None => self.body.push_str("/>\n"),
        }
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, width: f64, dash: Option<&str>) {
        let dash = dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dash: Option<&str>) {
        if points.is_empty() {
            return;
        }
        let dash = dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
        let mut list = String::new();
        for (x, y) in points {
            let _ = write!(list, "{x:.2},{y:.2} ");
        }
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"{dash}/>"#,
            list.trim_end()
        );
    }

    pub fn circle(&mut self, (x, y): (f64, f64), radius: f64, fill: &str) {
        let _ = writeln!(self.body, r#"<circle cx="{x:.2}" cy="{y:.2}" r="{radius}" fill="{fill}"/>"#);
    }

    /// Text at (x, y); `anchor` is start, middle or end.
    pub fn text(&mut self, (x, y): (f64, f64), size: f64, anchor: &str, text: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
            escape(text)
        );
    }

    pub fn bold_text(&mut self, (x, y): (f64, f64), size: f64, anchor: &str, text: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" font-weight="bold" text-anchor="{anchor}">{}</text>"#,
            escape(text)
        );
    }

    /// Vertical text (an axis label), centred on (x, y).
    pub fn vertical_text(&mut self, (x, y): (f64, f64), size: f64, text: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="middle" transform="rotate(-90 {x:.2} {y:.2})">{}</text>"#,
            escape(text)
        );
    }

    /// A legend: one row per (color, dashed, label), starting at (x, y).
    pub fn legend(&mut self, (x, y): (f64, f64), entries: &[(&str, Option<&str>, &str)]) {
        for (row, (color, dash, label)) in entries.iter().enumerate() {
            let y = y + 16.0 * row as f64;
            self.line((x, y - 4.0), (x + 22.0, y - 4.0), color, 2.5, *dash);
            self.text((x + 28.0, y), 11.0, "start", label);
        }
    }

    /// A legend of filled boxes.
    pub fn box_legend(&mut self, (x, y): (f64, f64), entries: &[(&str, &str)]) {
        let mut at = x;
        for (color, label) in entries {
            self.rect(at, y - 9.0, 10.0, 10.0, color, None);
            self.text((at + 14.0, y), 11.0, "start", label);
            at += 24.0 + 6.5 * label.len() as f64;
        }
    }

    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// An axis: a range of values onto a range of pixels.
#[derive(Clone, Copy)]
pub struct Axis {
    pub min: f64,
    pub max: f64,
    pub log: bool,
}

impl Axis {
    pub fn linear(min: f64, max: f64) -> Axis {
        Axis { min, max, log: false }
    }

    pub fn log(min: f64, max: f64) -> Axis {
        Axis { min, max, log: true }
    }

    /// Where `value` falls, 0.0 at min and 1.0 at max.
    fn fraction(&self, value: f64) -> f64 {
        if self.log {
            (value.max(f64::MIN_POSITIVE).ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (value - self.min) / (self.max - self.min)
        }
    }
}

/// A rectangle of the canvas with an x and a y axis.
#[derive(Clone, Copy)]
pub struct Plot {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub x: Axis,
    pub y: Axis,
}

impl Plot {
    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.left + self.width * self.x.fraction(x), self.top + self.height * (1.0 - self.y.fraction(y)))
    }

    pub fn px(&self, x: f64) -> f64 {
        self.left + self.width * self.x.fraction(x)
    }

    pub fn py(&self, y: f64) -> f64 {
        self.top + self.height * (1.0 - self.y.fraction(y))
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// The frame, the tick marks and labels (`x_ticks`, `y_ticks` as (value,
    /// label)), light grid lines, and the axis titles.
    pub fn axes(
        &self,
        svg: &mut Svg,
        x_ticks: &[(f64, String)],
        y_ticks: &[(f64, String)],
        x_title: &str,
        y_title: &str,
    ) {
        for (value, label) in x_ticks {
            let x = self.px(*value);
            svg.line((x, self.top), (x, self.bottom()), "#eeeeee", 1.0, None);
            svg.line((x, self.bottom()), (x, self.bottom() + 4.0), "#333333", 1.0, None);
            svg.text((x, self.bottom() + 16.0), 11.0, "middle", label);
        }
        for (value, label) in y_ticks {
            let y = self.py(*value);
            svg.line((self.left, y), (self.left + self.width, y), "#eeeeee", 1.0, None);
            svg.line((self.left - 4.0, y), (self.left, y), "#333333", 1.0, None);
            svg.text((self.left - 7.0, y + 4.0), 11.0, "end", label);
        }
        svg.line((self.left, self.top), (self.left, self.bottom()), "#333333", 1.0, None);
        svg.line((self.left, self.bottom()), (self.left + self.width, self.bottom()), "#333333", 1.0, None);
        svg.text((self.left + self.width / 2.0, self.bottom() + 34.0), 12.0, "middle", x_title);
        svg.vertical_text((self.left - 42.0, self.top + self.height / 2.0), 12.0, y_title);
    }
}

/// Evenly spaced ticks from `min` to `max` by `step`, labelled with `decimals`.
pub fn ticks(min: f64, max: f64, step: f64, decimals: usize) -> Vec<(f64, String)> {
    let count = ((max - min) / step).round() as usize;
    (0..=count).map(|i| min + step * i as f64).map(|v| (v, format!("{v:.decimals$}"))).collect()
}
