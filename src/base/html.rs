//! HTML escaping, the one escaper every page uses (error pages, custom pages, the analytics and
//! scenario pages): text from a visitor, a config or a report goes into element content and
//! quoted attribute values alike. It does not decide what is trusted; callers escape every
//! piece of text that is not their own markup.

use std::fmt::{self, Write};

/// `text`, HTML-escaped for element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// Appends `text` HTML-escaped to `out`, for pages built up in one `String`.
pub fn push_escaped(out: &mut String, text: &str) {
    // Writing into a String cannot fail.
    write!(out, "{}", escape(text)).expect("formatting into a String");
}

/// Displays its text with the five HTML-significant characters (`&`, `<`, `>`, `"`, `'`) as
/// entities, and everything else as it is.
pub struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            // `at` sits on one of the five ASCII characters, hence on a char boundary.
            let entity = match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            };
            f.write_str(entity)?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    #[test]
    fn escaping_replaces_html_significant_characters_only() {
        assert_eq!(escaped("example.com"), "example.com");
        assert_eq!(
            escaped("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
        assert_eq!(escaped("café<"), "café&lt;");
        assert_eq!(escaped(""), "");
        assert_eq!(escape("a\"b'c").to_string(), "a&quot;b&#39;c");
    }
}
