//! `--report FILE.html`: one self-contained page (no script, no network): both
//! tables with the source lines each row names shown in place, the timeline SVG,
//! each process's statistics and the system-call counts.

use std::fmt::Write as _;

use super::{repository, Column, Source, Table};
use crate::control::ProcessRecord;

/// What the report shows.
pub struct ReportParts<'a> {
    /// What ran.
    pub title: &'a str,
    pub tables: &'a [Table],
    /// The timeline, as `trace::svg` draws it.
    pub timeline_svg: &'a str,
    pub processes: &'a [ProcessRecord],
    /// (number, calls), most called first.
    pub syscall_counts: &'a [(u64, u64)],
}

/// Source lines shown around the one a row names.
const CONTEXT_LINES: usize = 6;

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The lines around `source`'s, from the repository, numbered, the line itself marked.
fn excerpt(source: &Source) -> Option<String> {
    let line = source.line? as usize;
    let text = std::fs::read_to_string(repository().join(&source.path)).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let first = line.saturating_sub(CONTEXT_LINES / 2).max(1);
    let last = (first + CONTEXT_LINES + 4).min(lines.len());
    let mut out = String::new();
    for number in first..=last {
        let class = if number == line { " class=\"hit\"" } else { "" };
        let _ = writeln!(out, "<span{class}>{number:>5}  {}</span>", escape(lines.get(number - 1)?));
    }
    Some(out)
}

fn render_table(table: &Table, index: usize, out: &mut String) {
    let _ = writeln!(out, "<h2>{}</h2>\n<table class=\"lde\">", escape(table.title));
    let columns = [Column::OsBoot, Column::Hardware, Column::Program];
    out.push_str("<tr><th>OS @ boot / OS @ run (kernel mode)</th><th>Hardware</th><th>Program (user mode)</th></tr>\n");
    for (number, row) in table.rows.iter().enumerate() {
        let column = if row.column == Column::OsRun { Column::OsBoot } else { row.column };
        let _ = write!(out, "<tr id=\"t{index}r{number}\">");
        for cell in columns {
            if cell != column {
                out.push_str("<td></td>");
                continue;
            }
            let _ = write!(
                out,
                "<td class=\"step\"><div class=\"phase\">{}</div><div class=\"name\">{}</div><ul>",
                escape(row.column.heading()),
                escape(&row.step)
            );
            for value in &row.values {
                let _ = write!(out, "<li><code>{}</code></li>", escape(value));
            }
            let _ = write!(out, "</ul><p class=\"why\">Why: {}</p>", escape(row.note));
            for source in &row.sources {
                let shown = escape(&source.to_string());
                match excerpt(source) {
                    Some(lines) => {
                        let _ = write!(
                            out,
                            "<details open><summary><a href=\"#t{index}r{number}\">{shown}</a></summary><pre>{lines}</pre></details>"
                        );
                    }
                    None => {
                        let _ = write!(out, "<p class=\"at\">{shown}</p>");
                    }
                }
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The page.
pub fn report(parts: &ReportParts) -> String {
    let mut out = String::new();
    let title = escape(parts.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>timeshare: {title}</title><style>\n\
         body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin-bottom: 2em; }}\n\
         td, th {{ border: 1px solid #bbb; padding: 0.4em; vertical-align: top; }}\n\
         table.lde td {{ width: 33%; }}\n\
         td.step {{ background: #f4f8ff; }}\n\
         .phase {{ font-size: 0.75em; color: #666; }}\n\
         .name {{ font-weight: bold; }}\n\
         .why {{ font-style: italic; color: #333; }}\n\
         pre {{ background: #f6f6f6; font-size: 0.8em; overflow-x: auto; }}\n\
         pre .hit {{ background: #ffe9a8; }}\n\
         code {{ white-space: pre-wrap; overflow-wrap: anywhere; }}\n\
         </style></head><body>\n<h1>timeshare: limited direct execution, live: {title}</h1>\n"
    );
    for (index, table) in parts.tables.iter().enumerate() {
        render_table(table, index, &mut out);
    }
    let _ = writeln!(out, "<h2>Who held the CPU</h2>\n<div class=\"timeline\">{}</div>", parts.timeline_svg);
    out.push_str(
        "<h2>Processes</h2>\n<table class=\"stats\"><tr><th>pid</th><th>tid</th><th>ppid</th><th>name</th><th>end</th>\
         <th>user ms</th><th>sys ms</th><th>voluntary switches</th><th>involuntary switches</th><th>system calls</th>\
         <th>faults</th><th>peak KiB</th></tr>\n",
    );
    for process in parts.processes {
        let end = match process.end {
            crate::control::ProgramEnd::Exited(code) => format!("exit {code}"),
            crate::control::ProgramEnd::Signaled(signal) => format!("signal {signal}"),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{end}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            process.pid,
            process.tid,
            process.ppid,
            escape(&process.name),
            process.user_ns as f64 / 1e6,
            process.system_ns as f64 / 1e6,
            process.voluntary,
            process.involuntary,
            process.syscalls,
            process.faults,
            process.peak_kib
        );
    }
    out.push_str("</table>\n<h2>System calls</h2>\n<table class=\"syscalls\"><tr><th>number</th><th>name</th><th>calls</th></tr>\n");
    for &(number, calls) in parts.syscall_counts {
        let _ = writeln!(
            out,
            "<tr><td>{number}</td><td>{}</td><td>{calls}</td></tr>",
            escape(&crate::trace::syscall_name(number))
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }

    #[test]
    fn excerpts_mark_the_line_they_name() {
        let source = super::super::source(super::super::at::SWITCH);
        let lines = excerpt(&source).expect("the switch's source");
        assert!(lines.contains("class=\"hit\""));
        assert!(lines.lines().find(|line| line.contains("hit")).unwrap().contains("switch_kernel_stacks:"));
    }
}
