//! The scheduling figures' plotting on top of the CLI's SVG writer (`crate::svg`): a
//! plot area with linear or logarithmic axes, ticks, legends and the figures' colours.

use crate::svg::Svg;

/// Colors that stay distinguishable (Okabe-Ito, colour-blind safe).
pub const PALETTE: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
pub const GRAY: &str = "#999999";

/// A legend: one row per (color, dashed, label), starting at (x, y).
pub fn line_legend(svg: &mut Svg, (x, y): (f64, f64), entries: &[(&str, Option<&str>, &str)]) {
    for (row, (color, dash, label)) in entries.iter().enumerate() {
        let y = y + 16.0 * row as f64;
        svg.line((x, y - 4.0), (x + 22.0, y - 4.0), color)
            .attr("stroke-width", 2.5)
            .optional_attr("stroke-dasharray", *dash)
            .end();
        svg.text((x + 28.0, y), 11.0, "start").text(label);
    }
}

/// A legend of filled boxes.
pub fn box_legend(svg: &mut Svg, (x, y): (f64, f64), entries: &[(&str, &str)]) {
    let mut at = x;
    for (color, label) in entries {
        svg.rect(at, y - 9.0, 10.0, 10.0, color).end();
        svg.text((at + 14.0, y), 11.0, "start").text(label);
        at += 24.0 + 6.5 * label.len() as f64;
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
            svg.line((x, self.top), (x, self.bottom()), "#eeeeee").attr("stroke-width", 1.0).end();
            svg.line((x, self.bottom()), (x, self.bottom() + 4.0), "#333333").attr("stroke-width", 1.0).end();
            svg.text((x, self.bottom() + 16.0), 11.0, "middle").text(label);
        }
        for (value, label) in y_ticks {
            let y = self.py(*value);
            svg.line((self.left, y), (self.left + self.width, y), "#eeeeee").attr("stroke-width", 1.0).end();
            svg.line((self.left - 4.0, y), (self.left, y), "#333333").attr("stroke-width", 1.0).end();
            svg.text((self.left - 7.0, y + 4.0), 11.0, "end").text(label);
        }
        svg.line((self.left, self.top), (self.left, self.bottom()), "#333333").attr("stroke-width", 1.0).end();
        svg.line((self.left, self.bottom()), (self.left + self.width, self.bottom()), "#333333")
            .attr("stroke-width", 1.0)
            .end();
        svg.text((self.left + self.width / 2.0, self.bottom() + 34.0), 12.0, "middle").text(x_title);
        // The y axis's title reads upwards, centred beside the axis.
        let (x, y) = (self.left - 42.0, self.top + self.height / 2.0);
        svg.text((x, y), 12.0, "middle").attr("transform", format_args!("rotate(-90 {x:.2} {y:.2})")).text(y_title);
    }
}

/// Evenly spaced ticks from `min` to `max` by `step`, labelled with `decimals`.
pub fn ticks(min: f64, max: f64, step: f64, decimals: usize) -> Vec<(f64, String)> {
    let count = ((max - min) / step).round() as usize;
    (0..=count).map(|i| min + step * i as f64).map(|v| (v, format!("{v:.decimals$}"))).collect()
}
