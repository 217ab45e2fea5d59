//! The words on error pages: titles, HTTP/1.1 reason phrases, 1xxx error names and the
//! per-error "What happened?" / "What can I do?" text. This module owns wording only, never
//! markup; every string here is plain text that needs no HTML escaping (a unit test checks it).
//!
//! The explanations are written for edgecase from the causes in Cloudflare's troubleshooting
//! article; they are not Cloudflare's own page text.

use http::StatusCode;

/// What every "visitor" part says: nothing a visitor does fixes an origin problem.
pub(super) const TRY_AGAIN: &str = "Please try again in a few minutes.";

/// The explanation of one error.
#[derive(Clone, Copy, Debug)]
pub(super) struct Advice {
    /// One or two sentences under "What happened?".
    pub what_happened: &'static str,
    /// The part under "What can I do?".
    pub what_to_do: WhatToDo,
}

/// The "What can I do?" part of a page.
#[derive(Clone, Copy, Debug)]
pub(super) enum WhatToDo {
    /// Only [`TRY_AGAIN`].
    TryAgain,
    /// Separate advice under "If you are a visitor of this website" and "If you are the owner
    /// of this website".
    Split {
        visitor: &'static str,
        owner: &'static str,
    },
}

/// The title after "NNN: " (REFERENCE.md §1); other statuses get their standard reason phrase.
pub(super) fn title(status: u16) -> &'static str {
    match status {
        500 => "Internal server error",
        502 => "Bad gateway",
        503 => "Service temporarily unavailable",
        504 => "Gateway time-out",
        520 => "Web server is returning an unknown error",
        521 => "Web server is down",
        522 => "Connection timed out",
        523 => "Origin is unreachable",
        524 => "A timeout occurred",
        525 => "SSL handshake failed",
        526 => "Invalid SSL certificate",
        527 => "Railgun Listener to origin error",
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown error"),
    }
}

/// The reason phrase Cloudflare writes on an HTTP/1.1 status line where it differs from the
/// standard one. 526's phrase is unconfirmed (REFERENCE.md §1).
pub(super) fn cloudflare_reason(status: u16) -> Option<&'static str> {
    match status {
        520 => Some("Origin Error"),
        521 => Some("Origin Down"),
        522 => Some("Origin Connection Time-out"),
        523 => Some("Origin Unreachable"),
        524 => Some("Origin Time-out"),
        525 => Some("Origin SSL Handshake Error"),
        526 => Some("Origin SSL Certificate Error"),
        _ => None,
    }
}

/// The name of a 1xxx error, as its page's subheading shows it.
pub(super) fn numbered_title(code: u16) -> &'static str {
    match code {
        1000 | 1002 => "DNS points to prohibited IP",
        1001 => "DNS resolution error",
        1003 => "Direct IP access not allowed",
        1004 => "Host not configured to serve web traffic",
        1005 => "Access denied: autonomous system banned",
        1006..=1008 | 1106 => "Access denied: your IP address has been banned",
        1009 => "Access denied: country or region banned",
        1010 => {
            "The owner of this website has banned your access based on your browser's signature"
        }
        1011 => "Access denied (hotlinking denied)",
        1012 | 1020 => "Access denied",
        1013 => "HTTP hostname and TLS SNI hostname mismatch",
        1014 => "CNAME Cross-User Banned",
        1015 => "You are being rate limited",
        1016 => "Origin DNS error",
        1018 | 1023 => "Could not find host",
        1019 => "Compute server error",
        1025 => "Please check back later",
        1033 => "Argo Tunnel error",
        1034 => "Edge IP Restricted",
        1035 => "Invalid request rewrite (invalid URI path)",
        1036 => "Invalid request rewrite (maximum length exceeded)",
        1037 => "Invalid rewrite rule (failed to evaluate expression)",
        1038 => "HTTP headers limit exceeded",
        1040 => "Invalid request rewrite (header modification not allowed)",
        1041 => "Invalid request rewrite (invalid header value)",
        1101 => "Worker threw exception",
        1102 => "Worker exceeded resource limits",
        1104 => "Script not found",
        1200 => "Cache connection limit",
        1205 => "Too many redirects",
        _ => "Cloudflare error",
    }
}

/// The sentence that opens a 1xxx page's "What happened?", around the host asked for: "You
/// asked for a page of a website (example.com) on the Cloudflare network." Without a host,
/// [`NUMBERED_LEAD_NO_HOST`].
pub(super) const NUMBERED_LEAD: [&str; 2] = [
    "You asked for a page of a website (",
    ") on the Cloudflare network.",
];

/// [`NUMBERED_LEAD`] when the visitor sent no Host.
pub(super) const NUMBERED_LEAD_NO_HOST: &str =
    "You asked for a page of a website on the Cloudflare network.";

/// The sentence that closes a 1xxx page's "What happened?", around the host again (only when
/// there is one). 1016 says that the name cannot be resolved, as Cloudflare's page does.
pub(super) fn numbered_closing(code: u16) -> [&'static str; 2] {
    match code {
        1016 => [
            "Right now Cloudflare cannot resolve the name asked for (",
            ").",
        ],
        _ => ["This is why the page on ", " could not be shown."],
    }
}

/// What a branded 5xx page says about `status`.
pub(super) fn branded_advice(status: u16) -> Advice {
    let (what_happened, owner) = match status {
        500 => {
            return Advice {
                what_happened: "Something went wrong inside Cloudflare's network while it was \
                    handling this request, so no page could be delivered.",
                what_to_do: WhatToDo::TryAgain,
            };
        }
        502 => (
            "The web server behind this website answered with a bad gateway error, so there \
             was no valid page to pass on.",
            "Ask your hosting provider to check that the web server answers requests for this \
             host name, and to look for overload, crashes, network outages or applications \
             that stopped responding.",
        ),
        504 => (
            "The web server behind this website reported that it gave up waiting for a \
             service it depends on.",
            "Ask your hosting provider to look for overload, crashes or network outages on \
             the web server, and for applications or services behind it that are timing out.",
        ),
        520 => (
            "The web server sent back something Cloudflare could not use as a response: it \
             was empty, cut short or malformed.",
            "Check your web server's error logs around the time of this error. Frequent \
             reasons are an application that crashed, a firewall that blocks Cloudflare's IP \
             ranges, response headers larger than 16 KB (often too many cookies), and a \
             connection closed before the response headers were complete.",
        ),
        521 => (
            "The web server refused the connection Cloudflare opened to it.",
            "Make sure your web server software is running and accepting connections, read \
             its error logs for crashes, and confirm that no firewall or security tool blocks \
             or rate limits Cloudflare's IP ranges.",
        ),
        522 => (
            "Cloudflare tried to connect to the web server, but the connection did not \
             complete in time.",
            "Ask your hosting provider whether a firewall blocks or rate limits Cloudflare's \
             IP ranges, whether the server is overloaded or offline, and whether the origin \
             address in your DNS settings is still the one your server uses.",
        ),
        523 => (
            "Cloudflare could not find a network path to the web server.",
            "Check that the A and AAAA records in your DNS settings hold the right origin IP \
             address, and ask your hosting provider to look into routing between their \
             network and Cloudflare.",
        ),
        524 => (
            "Cloudflare connected to the web server, but it took too long to send back a \
             response.",
            "Look for long-running work or overload on your web server. Requests that \
             routinely need minutes, such as large exports, are better run in the background \
             and polled for status, or served from a host name that is not proxied.",
        ),
        525 => (
            "Cloudflare could not complete a secure (TLS) handshake with the web server.",
            "Make sure your web server has a valid certificate installed, listens for TLS on \
             its secure port (usually 443), supports SNI, and accepts at least one cipher \
             suite that Cloudflare offers.",
        ),
        526 => (
            "The web server presented a certificate that Cloudflare could not validate, so \
             the connection to it was not trusted.",
            "Check that your origin certificate has not expired or been revoked, is issued by \
             a trusted certificate authority rather than self-signed, and names the requested \
             host in its Common Name or Subject Alternative Names.",
        ),
        527 => (
            "The Railgun listener next to the web server could not get a response from it.",
            "Check the path between the Railgun listener and your web server: firewall rules, \
             packet loss, refused connections, TLS errors, and the listener's LAN timeout.",
        ),
        _ => (
            "The web server behind this website could not complete this request.",
            "Ask your hosting provider to check the web server's error logs around the time \
             of this error.",
        ),
    };
    Advice {
        what_happened,
        what_to_do: WhatToDo::Split {
            visitor: TRY_AGAIN,
            owner,
        },
    }
}

/// What a visitor is told about a deliberate block: retrying does not help.
const BLOCKED: &str = "This block is intentional, so retrying will not help. If you think it \
    is a mistake, contact the owner of this website and quote the Ray ID.";

/// What a 1xxx page says about error `code`. The three errors edgecase produces for real
/// traffic (1000, 1016, 1033) have their own words, and so do the other errors a fault rule or
/// `/cdn-cgi/error/<code>` can show and that agents most often meet (Cloudflare's 2026
/// retryable list, the blocks, Workers failures); the rest share a pointer to the docs.
pub(super) fn numbered_advice(code: u16) -> Advice {
    let (what_happened, visitor, owner) = match code {
        1000 => (
            "This request was refused because it looked as if it had already passed through \
             Cloudflare, which could make it loop back into Cloudflare's network.",
            TRY_AGAIN,
            "Make sure your DNS records point at your own origin server and not at a \
             Cloudflare address, and that nothing in front of Cloudflare adds its forwarding \
             headers to requests.",
        ),
        1001 | 1018 | 1023 => (
            "Cloudflare could not find a website it serves under this host name: the domain \
             may not use Cloudflare, or may not be fully set up there yet.",
            TRY_AGAIN,
            "Check that the domain is active on Cloudflare, that its nameservers are \
             Cloudflare's, and that a DNS record exists for this host name.",
        ),
        1004 => (
            "This host is not set up to serve web traffic through Cloudflare yet, for example \
             because recent DNS changes have not taken effect.",
            TRY_AGAIN,
            "Wait a few minutes for DNS changes to take effect. If the error persists, check \
             that your DNS records do not point at Cloudflare addresses.",
        ),
        1003 | 1005..=1012 | 1020 | 1034 | 1106 => (
            "The owner of this website blocks requests like this one with a security rule, \
             for example by IP address, network, country or browser signature.",
            BLOCKED,
            "Review your firewall and IP access rules to find the one that matched this \
             request, and change it if the block was not intended.",
        ),
        1015 => (
            "This client sent more requests than the rate limiting rules of this website \
             allow, so its requests are blocked for a while.",
            "Wait 30 seconds before sending another request, then retry with exponential \
             backoff and a lower request rate.",
            "If legitimate traffic is being blocked, raise the threshold of your rate limiting \
             rule or narrow the requests it counts.",
        ),
        1016 => (
            "Cloudflare could not look up the address of the web server behind this website, \
             so the request could not be forwarded.",
            TRY_AGAIN,
            "Check that the DNS settings for this host hold an A or AAAA record with a valid \
             IP address, or a CNAME record whose target resolves.",
        ),
        1033 => (
            "This website reaches Cloudflare through a tunnel, and no healthy tunnel \
             connection was available to carry the request.",
            TRY_AGAIN,
            "Make sure cloudflared is running on your server and can reach the network; more \
             than one replica, or load balancing, keeps the site up when one connection drops.",
        ),
        1038 => (
            "The HTTP headers of this exchange were larger than Cloudflare allows, so it could \
             not be completed.",
            TRY_AGAIN,
            "Reduce the size of the request and response headers, most often by setting fewer \
             or smaller cookies.",
        ),
        1101 | 1102 => (
            "A Cloudflare Worker that handles this website failed while running: it threw an \
             exception or used more CPU time or memory than allowed.",
            TRY_AGAIN,
            "Read the Worker's logs for the exception or the exceeded limit, and fix or \
             optimise the script.",
        ),
        1200 => (
            "Too many requests were waiting at Cloudflare for the web server to take them, so \
             this one was turned away.",
            TRY_AGAIN,
            "Tune your web server to accept connections faster, and improve caching so that \
             fewer requests reach it.",
        ),
        1205 => (
            "Following this request led through too many redirects, so Cloudflare stopped.",
            TRY_AGAIN,
            "Look for a redirect loop in your redirect rules and on your web server, for \
             example between the HTTP and HTTPS versions of a page.",
        ),
        _ => (
            "Cloudflare could not complete this request for the website.",
            TRY_AGAIN,
            "Look this error number up in Cloudflare's documentation of 1xxx errors for its \
             causes and fixes.",
        ),
    };
    Advice {
        what_happened,
        what_to_do: WhatToDo::Split { visitor, owner },
    }
}

/// What the structured forms of an unbranded page say about `status` (the HTML page itself
/// shows only the status line): Cloudflare's own 502/503/504 ask for a retry, a 4xx says the
/// request was at fault.
pub(super) fn unbranded_advice(status: u16) -> Advice {
    let what_happened = match status {
        502 | 504 => {
            "A Cloudflare server in front of this website failed while handling this request; \
             the web server behind it was not at fault."
        }
        503 => {
            "Cloudflare's data centre was temporarily overloaded and could not take this \
             request."
        }
        404 => {
            return Advice {
                what_happened: "There is no page at this address on Cloudflare's side, for \
                    example an error code that Cloudflare does not have.",
                what_to_do: WhatToDo::Split {
                    visitor: "Check the address for mistakes before requesting it again.",
                    owner: "Nothing needs to change on the web server: the request never \
                        reached it.",
                },
            };
        }
        400..=499 => {
            return Advice {
                what_happened: "Cloudflare could not process this request because it was \
                    malformed or too large, so it was not forwarded to the web server.",
                what_to_do: WhatToDo::Split {
                    visitor: "Check the request, its headers, size and format, and correct it \
                        before sending it again.",
                    owner: "Nothing needs to change on the web server: the request never \
                        reached it.",
                },
            };
        }
        _ => "Cloudflare could not complete this request.",
    };
    Advice {
        what_happened,
        what_to_do: WhatToDo::TryAgain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_match_reference_table() {
        for (status, expected) in [
            (500, "Internal server error"),
            (502, "Bad gateway"),
            (503, "Service temporarily unavailable"),
            (504, "Gateway time-out"),
            (520, "Web server is returning an unknown error"),
            (521, "Web server is down"),
            (522, "Connection timed out"),
            (523, "Origin is unreachable"),
            (524, "A timeout occurred"),
            (525, "SSL handshake failed"),
            (526, "Invalid SSL certificate"),
            (527, "Railgun Listener to origin error"),
        ] {
            assert_eq!(title(status), expected, "{status}");
        }
    }

    #[test]
    fn other_statuses_fall_back_to_their_standard_reason() {
        assert_eq!(title(400), "Bad Request");
        assert_eq!(title(413), "Payload Too Large");
        assert_eq!(title(599), "Unknown error");
        assert_eq!(title(42), "Unknown error");
    }

    #[test]
    fn numbered_titles_name_the_common_errors() {
        assert_eq!(numbered_title(1000), "DNS points to prohibited IP");
        assert_eq!(numbered_title(1016), "Origin DNS error");
        assert_eq!(numbered_title(1033), "Argo Tunnel error");
        assert_eq!(numbered_title(1014), "CNAME Cross-User Banned");
        assert_eq!(numbered_title(1999), "Cloudflare error");
        for code in [
            1000, 1001, 1002, 1003, 1004, 1006, 1010, 1012, 1014, 1015, 1016, 1018, 1019, 1020,
            1033, 1034, 1035, 1036, 1037, 1038, 1040, 1041, 1101, 1102, 1104, 1106, 1200, 1205,
        ] {
            assert_ne!(
                numbered_title(code),
                "Cloudflare error",
                "{code} has no name"
            );
        }
    }

    #[test]
    fn all_text_is_safe_to_put_in_html_unescaped() {
        let mut texts: Vec<&str> = vec![TRY_AGAIN, NUMBERED_LEAD_NO_HOST];
        texts.extend(NUMBERED_LEAD);
        for status in (400..=599).chain([42, 1000]) {
            texts.push(title(status));
            texts.extend(cloudflare_reason(status));
            texts.extend(advice_texts(branded_advice(status)));
            texts.extend(advice_texts(unbranded_advice(status)));
        }
        texts.push(BLOCKED);
        for code in 1000..=1300 {
            texts.push(numbered_title(code));
            texts.extend(numbered_closing(code));
            texts.extend(advice_texts(numbered_advice(code)));
        }
        for text in texts {
            assert!(
                !text.contains(['<', '>', '&', '"']),
                "needs escaping: {text}"
            );
            assert!(
                !text.contains("  "),
                "stray line-continuation spaces: {text}"
            );
        }
    }

    fn advice_texts(advice: Advice) -> Vec<&'static str> {
        match advice.what_to_do {
            WhatToDo::TryAgain => vec![advice.what_happened],
            WhatToDo::Split { visitor, owner } => vec![advice.what_happened, visitor, owner],
        }
    }
}
