//! The 1xxx page (the older layout, used with 530 and with 403 error 1000): "Error NNNN", the
//! ray ID and time under it, the error's name, the explanation and the footer. No three-box
//! diagram. This module owns that layout's markup; words come from [`super::text`].

use super::shell::{self, push_escaped, push_fmt};
use super::time::UtcTimestamp;
use super::{PageContext, text};

/// Styles of the 1xxx header.
const CSS: &str = "\
.cf-ray-line{margin-top:.5rem;color:#595959}\
.cf-subheadline{margin-top:1rem;font-size:1.875rem;font-weight:400;line-height:1.3;color:#404040}\
.cf-header{border-bottom:1px solid #d9d9d9;padding-bottom:2rem;margin-bottom:1.5rem}";

/// Roughly what a page weighs, so the body is built without reallocating.
pub(super) const CAPACITY: usize = 4 * 1024;

/// Appends the whole 1xxx page for error `code`.
pub(super) fn write(out: &mut String, code: u16, ctx: &PageContext<'_>) {
    let name = text::numbered_title(code);

    shell::push_head_start(out);
    out.push_str(name);
    out.push_str(" | ");
    if !ctx.host.is_empty() {
        push_escaped(out, ctx.host);
        out.push_str(" | ");
    }
    out.push_str("Cloudflare");
    shell::push_head_end(out, CSS);

    push_fmt(
        out,
        format_args!(
            "<header class=\"cf-wrap cf-header\">\n\
             <h1>Error {code}</h1>\n\
             <p class=\"cf-ray-line\">Ray ID: {hex} \u{2022} {time}</p>\n\
             <h2 class=\"cf-subheadline\">{name}</h2>\n\
             </header>\n",
            hex = ctx.ray.hex(),
            time = UtcTimestamp(ctx.at),
        ),
    );

    shell::push_explanation(out, &text::numbered_advice(code));
    shell::push_footer_and_end(out, ctx);
}
