//! Which form an edge-made error is sent in ([`Form`]), chosen from the request's `Accept`
//! header as Cloudflare has done since 2026. This module owns the parsing of `Accept` and the
//! choice; it does not render anything and never fails: a header it cannot use means HTML.
//!
//! The rules, from Cloudflare's changelogs of 2026-02-26 (Markdown) and 2026-03-11 (JSON):
//! - `text/markdown` asks for Markdown, and so does `text/*` ("Accept: text/* -> Markdown");
//!   `application/json` and `application/problem+json` ask for JSON (and `application/*`,
//!   by the same reasoning); `text/html` and `*/*` ask for HTML.
//! - Each form gets the q-value of the most specific range that names it (RFC 9110 §12.5.1:
//!   `application/json;q=0, */*` refuses JSON); q = 0 means "not acceptable".
//! - The highest q wins. Between JSON and Markdown at equal q the one listed first wins
//!   ("text/markdown, application/json -> Markdown"). Between HTML and a structured form at
//!   equal q, the more specific range wins and HTML wins a tie of equal specificity: so
//!   `text/markdown, text/html` and `*/*` give HTML, while `application/json, */*` (what HTTP
//!   libraries such as axios send) gives JSON, the form the client named.
//! - No header, or nothing usable in it (junk, bad q-values, only other types): HTML.

/// The form an edge-made error is sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Cloudflare's HTML page (`text/html; charset=UTF-8`).
    Html,
    /// RFC 9457 problem details plus Cloudflare's fields (`application/json; charset=UTF-8`).
    Json,
    /// The Markdown document with YAML front matter (`text/markdown; charset=UTF-8`).
    Markdown,
}

/// The most elements of an `Accept` header looked at; the rest are ignored, so a hostile
/// header costs bounded work.
const MAX_ELEMENTS: usize = 64;

/// Thousandths: q-values have at most three decimals (RFC 9110 §12.4.2).
type Weight = u16;

/// How specifically a media range names a form: `*/*` < `type/*` < `type/subtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    Any,
    Type,
    Exact,
}

/// What the header says about one form: the q of the most specific range naming it, and
/// where that range was listed.
#[derive(Clone, Copy, Debug)]
struct Preference {
    weight: Weight,
    specificity: Specificity,
    position: usize,
}

impl Preference {
    /// Keeps the more specific of two ranges naming the same form (RFC 9110 §12.5.1); of two
    /// equally specific ones (a repeated range), the higher q.
    fn merge(slot: &mut Option<Preference>, new: Preference) {
        match slot {
            Some(old)
                if old.specificity > new.specificity
                    || (old.specificity == new.specificity && old.weight >= new.weight) => {}
            _ => *slot = Some(new),
        }
    }
}

impl Form {
    /// From the request's Accept header value (`None` = no header): q-values honoured;
    /// `text/html`, `*/*` or nothing usable -> Html; `application/json` or
    /// `application/problem+json` -> Json; `text/markdown` -> Markdown. Ties go to Html
    /// unless the structured form was named more specifically (see the module doc).
    /// Malformed input never panics.
    pub fn negotiate(accept: Option<&str>) -> Form {
        let Some(accept) = accept else {
            return Form::Html;
        };
        let mut html = None;
        let mut json = None;
        let mut markdown = None;
        for (position, element) in accept.split(',').take(MAX_ELEMENTS).enumerate() {
            let Some((range, weight)) = parse_element(element) else {
                continue;
            };
            let (form, specificity) = match range.as_str() {
                "text/html" => (Form::Html, Specificity::Exact),
                "*/*" => (Form::Html, Specificity::Any),
                "application/json" | "application/problem+json" => (Form::Json, Specificity::Exact),
                "application/*" => (Form::Json, Specificity::Type),
                "text/markdown" => (Form::Markdown, Specificity::Exact),
                "text/*" => (Form::Markdown, Specificity::Type),
                _ => continue,
            };
            let slot = match form {
                Form::Html => &mut html,
                Form::Json => &mut json,
                Form::Markdown => &mut markdown,
            };
            Preference::merge(
                slot,
                Preference {
                    weight,
                    specificity,
                    position,
                },
            );
        }

        let acceptable = |p: Option<Preference>| p.filter(|p| p.weight > 0);
        let structured = match (acceptable(json), acceptable(markdown)) {
            (None, None) => return Form::Html,
            (Some(j), None) => (Form::Json, j),
            (None, Some(m)) => (Form::Markdown, m),
            (Some(j), Some(m)) => {
                if j.weight > m.weight || (j.weight == m.weight && j.position < m.position) {
                    (Form::Json, j)
                } else {
                    (Form::Markdown, m)
                }
            }
        };
        let (form, preferred) = structured;
        match html {
            Some(h)
                if h.weight > preferred.weight
                    || (h.weight == preferred.weight && h.specificity >= preferred.specificity) =>
            {
                Form::Html
            }
            _ => form,
        }
    }
}

/// One element of `Accept`: its media range, lower-cased, and its q in thousandths (1000 when
/// absent). `None` for an element that is not `type/subtype` or has an invalid q.
fn parse_element(element: &str) -> Option<(String, Weight)> {
    let mut parts = element.split(';');
    let range = parts.next()?.trim();
    let (kind, subtype) = range.split_once('/')?;
    if !is_token(kind) || !is_token(subtype) {
        return None;
    }
    let mut weight = 1000;
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            // A parameter without a value is malformed; only a bare `q` spoils the element.
            if param.trim().eq_ignore_ascii_case("q") {
                return None;
            }
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            weight = parse_q(value.trim())?;
            // Parameters after q are accept-ext, not part of the range.
            break;
        }
    }
    Some((range.to_ascii_lowercase(), weight))
}

/// An RFC 9110 `qvalue` in thousandths: `0`, `0.5`, `0.123`, `1`, `1.000`; anything else
/// (more than three decimals, above 1, signs, spaces) is `None`.
fn parse_q(text: &str) -> Option<Weight> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        let scale = [100, 10, 1][i];
        thousandths += Weight::from(digit - b'0') * scale;
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether `text` is a non-empty RFC 9110 token (or `*`).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str) -> Form {
        Form::negotiate(Some(accept))
    }

    #[test]
    fn no_header_or_a_browser_gets_html() {
        assert_eq!(Form::negotiate(None), Form::Html);
        for accept in [
            "",
            "*/*",
            "text/html",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
             image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
            "image/avif,image/webp,*/*",
        ] {
            assert_eq!(negotiate(accept), Form::Html, "{accept:?}");
        }
    }

    #[test]
    fn json_and_problem_json_get_json() {
        for accept in [
            "application/json",
            "application/problem+json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;q=0.5",
            "application/json, text/markdown;q=0.9",
            "text/html;q=0.5, application/json",
            "application/json, text/plain, */*",
            "application/*",
        ] {
            assert_eq!(negotiate(accept), Form::Json, "{accept:?}");
        }
    }

    #[test]
    fn markdown_and_text_wildcard_get_markdown() {
        for accept in [
            "text/markdown",
            "text/markdown, text/html;q=0.9",
            "text/*",
            "text/markdown, application/json",
            "text/markdown;q=0.8, application/json;q=0.7, */*;q=0.1",
        ] {
            assert_eq!(negotiate(accept), Form::Markdown, "{accept:?}");
        }
    }

    #[test]
    fn equal_q_between_json_and_markdown_goes_to_the_first_listed() {
        assert_eq!(negotiate("application/json, text/markdown"), Form::Json);
        assert_eq!(negotiate("text/markdown, application/json"), Form::Markdown);
        assert_eq!(
            negotiate("text/markdown;q=0.5, application/json;q=0.5"),
            Form::Markdown
        );
    }

    #[test]
    fn q_values_are_honoured() {
        assert_eq!(
            negotiate("application/json;q=0.4, text/html;q=0.5"),
            Form::Html
        );
        assert_eq!(
            negotiate("application/json;q=0.6, text/html;q=0.5"),
            Form::Json
        );
        assert_eq!(
            negotiate("text/markdown;q=0.9, application/json;q=0.95"),
            Form::Json
        );
        assert_eq!(negotiate("application/json;q=0.5, */*"), Form::Html);
        assert_eq!(negotiate("application/json, */*;q=0.1"), Form::Json);
        assert_eq!(negotiate("*/*;q=0.1, text/markdown"), Form::Markdown);
        assert_eq!(
            negotiate("APPLICATION/JSON;Q=0.9, text/html;q=0.8"),
            Form::Json
        );
        assert_eq!(negotiate("application/json ; q=1.000"), Form::Json);
        assert_eq!(negotiate("application/json;q=0.001"), Form::Json);
    }

    #[test]
    fn ties_go_to_html() {
        for accept in [
            "text/html, application/json",
            "application/json, text/html",
            "text/markdown, text/html",
            "text/*, text/html",
            "application/json;q=0.5, text/html;q=0.5",
        ] {
            assert_eq!(negotiate(accept), Form::Html, "{accept:?}");
        }
    }

    #[test]
    fn q_zero_refuses_a_form() {
        assert_eq!(negotiate("application/json;q=0"), Form::Html);
        assert_eq!(negotiate("application/json;q=0, */*"), Form::Html);
        assert_eq!(negotiate("text/markdown;q=0, text/*"), Form::Html);
        assert_eq!(negotiate("text/*, text/markdown;q=0"), Form::Html);
        assert_eq!(
            negotiate("text/html;q=0, application/json;q=0.1"),
            Form::Json
        );
        assert_eq!(
            negotiate("application/json;q=0, text/markdown;q=0.2"),
            Form::Markdown
        );
    }

    #[test]
    fn wildcard_with_low_q_still_leaves_html_as_the_default() {
        assert_eq!(negotiate("*/*;q=0.1"), Form::Html);
        assert_eq!(negotiate("image/png, */*;q=0.1"), Form::Html);
        assert_eq!(negotiate("*/*;q=0.1, application/json;q=0.1"), Form::Json);
        // A type wildcard is more specific than */* too.
        assert_eq!(negotiate("*/*, application/*"), Form::Json);
        assert_eq!(negotiate("*/*, text/*"), Form::Markdown);
    }

    #[test]
    fn junk_never_panics_and_means_html() {
        for accept in [
            ",,,",
            ";",
            "application",
            "/json",
            "application/",
            "text/markdown;q=",
            "text/markdown;q=2",
            "text/markdown;q=1.5",
            "text/markdown;q=0.1234",
            "text/markdown;q=-1",
            "text/markdown;q=abc",
            "text/markdown;q=.5",
            "text/markdown;q=0.5.5",
            "text/markdown;q=\u{00e9}",
            "te xt/markdown",
            "text/mark down",
            "\u{00e9}/\u{00e9}",
            "application/json\u{0}",
            "text/markdown;;;q",
        ] {
            assert_eq!(negotiate(accept), Form::Html, "{accept:?}");
        }
        // Valid elements still count next to junk ones.
        assert_eq!(negotiate("junk, ;q=1, application/json"), Form::Json);
        assert_eq!(
            negotiate("text/markdown;q=9, application/json;q=0.1"),
            Form::Json
        );
        // Parameters other than q are ignored, and so is everything after q (accept-ext).
        assert_eq!(negotiate("text/markdown;variant=gfm;q=0.9"), Form::Markdown);
        assert_eq!(negotiate("application/json;q=0.9;ext"), Form::Json);
    }

    #[test]
    fn a_huge_header_costs_bounded_work() {
        let mut accept = "image/png, ".repeat(10_000);
        accept.push_str("application/json");
        assert_eq!(
            negotiate(&accept),
            Form::Html,
            "elements past the cap are ignored"
        );
        assert_eq!(
            negotiate(&"application/json;q=0.5,".repeat(10_000)),
            Form::Json
        );
    }

    #[test]
    fn q_values_parse_to_thousandths() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.05"), Some(50));
        assert_eq!(parse_q("0.123"), Some(123));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        for bad in [
            "", "1.001", "2", "01", "0.1234", ".5", "+1", "0x1", "1e0", " 1",
        ] {
            assert_eq!(parse_q(bad), None, "{bad:?}");
        }
    }
}
