//! The CLI's one SVG writer, shared by the trace's timeline (`trace::svg`) and the
//! scheduling figures (`sched_sim`): the document with its white background, an element
//! builder that escapes every attribute and every text it is given, and the shapes the
//! pictures draw. Hand-written because the pictures need only a few elements.

use std::fmt::{Display, Write};

/// `text` escaped for XML: safe both as character data and as an attribute value
/// (single- or double-quoted).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// An SVG document being drawn: its size and the elements so far.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// One element being written: its attributes go in first, then one of the ways it ends.
pub struct Element<'a> {
    body: &'a mut String,
    name: &'static str,
}

impl Element<'_> {
    /// Adds `name="value"`, the value escaped.
    pub fn attr(self, name: &str, value: impl Display) -> Self {
        let _ = write!(self.body, r#" {name}="{}""#, escape(&value.to_string()));
        self
    }

    /// Adds `name="value"` when there is a value.
    pub fn optional_attr(self, name: &str, value: Option<impl Display>) -> Self {
        match value {
            Some(value) => self.attr(name, value),
            None => self,
        }
    }

    /// Ends it with no content: `<name .../>`.
    pub fn end(self) {
        self.body.push_str("/>\n");
    }

    /// Ends it with `text` as its content.
    pub fn text(self, text: &str) {
        let _ = writeln!(self.body, ">{}</{}>", escape(text), self.name);
    }

    /// Ends it with a tooltip as its content (a `<title>` child, which viewers show on hover).
    pub fn tooltip(self, tip: &str) {
        let _ = writeln!(self.body, "><title>{}</title></{}>", escape(tip), self.name);
    }

    /// Leaves it open for children, until `Svg::close`.
    pub fn open(self) {
        self.body.push_str(">\n");
    }
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg { width, height, body: String::new() }
    }

    /// Starts a `<name` element; see `Element` for its attributes and its end.
    pub fn element(&mut self, name: &'static str) -> Element<'_> {
        let _ = write!(self.body, "<{name}");
        Element { body: &mut self.body, name }
    }

    /// Closes the innermost element left open by `Element::open`.
    pub fn close(&mut self, name: &str) {
        let _ = writeln!(self.body, "</{name}>");
    }

    /// A rectangle (negative sizes drawn as empty); the caller adds attributes and ends it.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str) -> Element<'_> {
        self.element("rect")
            .attr("x", format_args!("{x:.2}"))
            .attr("y", format_args!("{y:.2}"))
            .attr("width", format_args!("{:.2}", width.max(0.0)))
            .attr("height", format_args!("{:.2}", height.max(0.0)))
            .attr("fill", fill)
    }

    /// A straight line; the caller adds attributes and ends it.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) -> Element<'_> {
        self.element("line")
            .attr("x1", format_args!("{x1:.2}"))
            .attr("y1", format_args!("{y1:.2}"))
            .attr("x2", format_args!("{x2:.2}"))
            .attr("y2", format_args!("{y2:.2}"))
            .attr("stroke", stroke)
    }

    /// Text of `size` px at (x, y), `anchor` (start, middle or end) saying which of its
    /// points is there; the caller adds attributes and ends it with the text.
    pub fn text(&mut self, (x, y): (f64, f64), size: f64, anchor: &str) -> Element<'_> {
        self.element("text")
            .attr("x", format_args!("{x:.2}"))
            .attr("y", format_args!("{y:.2}"))
            .attr("font-size", size)
            .attr("text-anchor", anchor)
    }

    /// A line through `points`, unfilled; the caller adds attributes and ends it.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) -> Element<'_> {
        let mut list = String::new();
        for (x, y) in points {
            let _ = write!(list, "{x:.2},{y:.2} ");
        }
        self.element("polyline").attr("points", list.trim_end()).attr("fill", "none").attr("stroke", stroke)
    }

    pub fn circle(&mut self, (x, y): (f64, f64), radius: f64, fill: &str) {
        self.element("circle")
            .attr("cx", format_args!("{x:.2}"))
            .attr("cy", format_args!("{y:.2}"))
            .attr("r", radius)
            .attr("fill", fill)
            .end();
    }

    /// The whole document: a white background under everything drawn, text in 12 px
    /// Helvetica unless an element says otherwise.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_both_quotes() {
        assert_eq!(escape(r#"a & b < c > d "e" 'f' → g"#), "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos; → g");
        assert_eq!(escape("&amp;"), "&amp;amp;", "escaping is not undone: the text is taken as it is");
    }

    #[test]
    fn elements_escape_attributes_and_content() {
        let mut svg = Svg::new(10.0, 20.0);
        svg.rect(1.0, 2.0, -3.0, 4.0, "red").attr("class", r#"x"y"#).tooltip("<a & b>");
        svg.element("g").attr("data-name", "it's").open();
        svg.text((5.0, 6.0), 12.0, "end").text("1 < 2");
        svg.close("g");
        let document = svg.finish();
        let parsed = roxmltree::Document::parse(&document).expect("well-formed XML");
        let rect = parsed.descendants().find(|node| node.attribute("class").is_some()).unwrap();
        assert_eq!(rect.attribute("class"), Some(r#"x"y"#));
        assert_eq!(rect.attribute("width"), Some("0.00"));
        assert_eq!(rect.first_child().unwrap().text(), Some("<a & b>"));
        let group = parsed.descendants().find(|node| node.has_tag_name("g")).unwrap();
        assert_eq!(group.attribute("data-name"), Some("it's"));
        assert_eq!(group.first_element_child().unwrap().text(), Some("1 < 2"));
        assert_eq!(parsed.root_element().attribute("viewBox"), Some("0 0 10 20"));
    }
}
