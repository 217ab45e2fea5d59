//! The readable report: a heading, one row per stage (mark, status, time, what was seen), then
//! what a visitor would get and what to check. Made from the [`Diagnosis`] alone.

use std::fmt::Write;
use std::time::Duration;

use super::report::{Diagnosis, Outcome, Stage};

/// The report as text, ending with a newline.
pub fn render(diagnosis: &Diagnosis) -> String {
    let mut out = String::new();
    let subject = &diagnosis.subject;
    let visitor = if subject.visitor_scheme == "https" {
        "visitor over HTTPS"
    } else {
        "visitor over HTTP"
    };
    let _ = writeln!(
        out,
        "edgecase diagnose: {} → origin {} (SSL {}, {visitor})",
        subject.url, subject.origin, subject.ssl
    );
    let route = match subject.route {
        Some(index) => format!(" · route #{}", index + 1),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "time {} (UTC) · ray {}{route}",
        diagnosis.time, diagnosis.ray
    );
    out.push('\n');
    rows(&mut out, &diagnosis.stages);
    out.push('\n');
    verdict(&mut out, diagnosis);
    for stage in diagnosis.stages.iter().filter(|s| !s.check.is_empty()) {
        let why = match stage.result {
            Outcome::Failed => "failed",
            _ => "warning",
        };
        let _ = writeln!(out, "\nWhat to check ({}, {why}):", stage.stage.label());
        for line in &stage.check {
            let _ = writeln!(out, "  • {line}");
        }
    }
    out
}

/// The stage table: columns sized to their longest cell, continuation lines of "what was seen"
/// aligned under the first.
fn rows(out: &mut String, stages: &[Stage]) {
    let header = ["STAGE", "RESULT", "TIME", "WHAT WAS SEEN"];
    let cells: Vec<[String; 3]> = stages
        .iter()
        .map(|stage| {
            let result = match &stage.failure {
                Some(failure) => match failure.code {
                    Some(code) => format!("{} {} ({code})", stage.result.mark(), failure.status),
                    None => format!("{} {}", stage.result.mark(), failure.status),
                },
                None => stage.result.mark().to_owned(),
            };
            let took = stage.ms.map(duration).unwrap_or_default();
            [stage.stage.label().to_owned(), result, took]
        })
        .collect();
    let width = |column: usize| {
        cells
            .iter()
            .map(|row| row[column].chars().count())
            .chain([header[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let pad = |text: &str, width: usize| {
        let fill = width.saturating_sub(text.chars().count());
        format!("{text}{}", " ".repeat(fill))
    };
    let indent = widths.iter().sum::<usize>() + 2 + 3 * 2;
    let _ = writeln!(
        out,
        "  {}  {}  {}  {}",
        pad(header[0], widths[0]),
        pad(header[1], widths[1]),
        pad(header[2], widths[2]),
        header[3]
    );
    for (stage, row) in stages.iter().zip(&cells) {
        let mut seen = stage.seen.iter();
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}",
            pad(&row[0], widths[0]),
            pad(&row[1], widths[1]),
            pad(&row[2], widths[2]),
            seen.next().map_or("", String::as_str)
        );
        for line in seen {
            let _ = writeln!(out, "{}{line}", " ".repeat(indent));
        }
    }
}

/// What a visitor would get, and why.
fn verdict(out: &mut String, diagnosis: &Diagnosis) {
    let verdict = &diagnosis.verdict;
    let warnings = match verdict.warnings {
        0 => String::new(),
        1 => " (1 warning below)".to_owned(),
        n => format!(" ({n} warnings below)"),
    };
    if verdict.origin_answer {
        let _ = writeln!(
            out,
            "✓ A visitor would get the origin's answer: {} {}{warnings}.",
            verdict.status, verdict.title
        );
        return;
    }
    let failed = verdict.stage.and_then(|name| diagnosis.stage(name));
    let code = verdict
        .code
        .map(|code| format!(" with error {code}"))
        .unwrap_or_default();
    let stage = failed
        .map(|s| format!(", at the {} stage", s.stage.label()))
        .unwrap_or_default();
    let cut_short = if verdict.cut_short {
        " from the origin, with its body cut short"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "✗ A visitor would get {} {}{code}{cut_short} (cause {}{stage}){warnings}.",
        verdict.status,
        verdict.title,
        verdict.cause.unwrap_or("unknown")
    );
    if let Some(failure) = failed.and_then(|s| s.failure.as_ref()) {
        let _ = writeln!(out, "  {}", failure.error);
    }
}

/// A duration for people: `0.21 ms`, `12.3 ms`, `1.502 s`, `100 s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_every_scale() {
        assert_eq!(duration(Duration::from_micros(210)), "0.21 ms");
        assert_eq!(duration(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(duration(Duration::from_millis(1502)), "1.502 s");
        assert_eq!(duration(Duration::from_secs(100)), "100 s");
    }
}
