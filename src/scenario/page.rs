//! The report page (`GET /scenarios/{name}` with `Accept: text/html`). Placeholder: the
//! report's text table; the chart comes next.

use super::report::ScenarioReport;

/// The whole HTML document for `report`.
pub fn render(report: &ScenarioReport) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         </head><body><pre>{}</pre></body></html>\n",
        escape(&report.name),
        escape(&report.table())
    )
}
