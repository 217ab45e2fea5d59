//! The HAR `cookies` arrays: a request's from its `Cookie` headers, a response's from its
//! `Set-Cookie` headers (with the attributes HAR has a member for). This module only reads
//! headers; whether the values are kept is [`super::sanitize`]'s business.

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};

use super::har::Cookie;

/// The cookies of every `Cookie` header, in order.
pub fn sent(headers: &HeaderMap) -> Vec<Cookie> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            text.split(';')
                .map(str::trim)
                .filter(|pair| !pair.is_empty())
                .map(named)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The cookies the response sets, one per `Set-Cookie`, with `path`, `domain`, `expires`
/// (when it is an HTTP date: HAR wants ISO 8601), `httpOnly` and `secure` where present.
pub fn set(headers: &HeaderMap) -> Vec<Cookie> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes());
            let mut parts = text.split(';').map(str::trim);
            let mut cookie = named(parts.next().unwrap_or_default());
            for attribute in parts {
                let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
                let value = value.trim();
                match key.trim().to_ascii_lowercase().as_str() {
                    "path" => cookie.path = Some(value.to_owned()),
                    "domain" => cookie.domain = Some(value.to_owned()),
                    "expires" => cookie.expires = iso8601(value),
                    "httponly" => cookie.http_only = Some(true),
                    "secure" => cookie.secure = Some(true),
                    _ => {}
                }
            }
            cookie
        })
        .collect()
}

/// A cookie from its `name=value` pair, without attributes.
fn named(pair: &str) -> Cookie {
    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
    Cookie {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
        path: None,
        domain: None,
        expires: None,
        http_only: None,
        secure: None,
        comment: None,
    }
}

/// A cookie's `Expires` date in ISO 8601 (`2026-11-24T10:00:00Z`), when it is written as
/// browsers write it: `Tue, 24 Nov 2026 10:00:00 GMT`, or with dashes (`24-Nov-2026`).
/// Anything else is `None`: an unreadable date is left out rather than guessed.
fn iso8601(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let (_weekday, rest) = date.split_once(',')?;
    let mut words = rest.split([' ', '-']).filter(|word| !word.is_empty());
    let (day, month, year, clock, zone) = (
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
    );
    if words.next().is_some() || !zone.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let digits =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    let month = MONTHS
        .iter()
        .position(|name| name.eq_ignore_ascii_case(month))?
        + 1;
    let clock_ok = clock.split(':').count() == 3 && clock.split(':').all(|part| digits(part, 2));
    if !(digits(day, 2) || digits(day, 1)) || !digits(year, 4) || !clock_ok {
        return None;
    }
    let day: u8 = day.parse().ok()?;
    Some(format!("{year}-{month:02}-{day:02}T{clock}Z"))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn set_cookie(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SET_COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn set_cookie_attributes_fill_their_members() {
        let cookies = set(&set_cookie(&[
            "sid=abc; Path=/app; Domain=shop.test; Expires=Tue, 24 Nov 2026 10:00:00 GMT; \
             HttpOnly; Secure; SameSite=Lax",
            "theme=dark",
        ]));
        assert_eq!(cookies.len(), 2);
        let sid = &cookies[0];
        assert_eq!((sid.name.as_str(), sid.value.as_str()), ("sid", "abc"));
        assert_eq!(sid.path.as_deref(), Some("/app"));
        assert_eq!(sid.domain.as_deref(), Some("shop.test"));
        assert_eq!(sid.expires.as_deref(), Some("2026-11-24T10:00:00Z"));
        assert_eq!((sid.http_only, sid.secure), (Some(true), Some(true)));
        let theme = &cookies[1];
        assert_eq!(
            (theme.name.as_str(), theme.value.as_str()),
            ("theme", "dark")
        );
        assert_eq!((theme.path.as_ref(), theme.expires.as_ref()), (None, None));
        assert_eq!((theme.http_only, theme.secure), (None, None));
    }

    #[test]
    fn expires_dates_browsers_write_become_iso8601_and_others_are_left_out() {
        assert_eq!(
            iso8601("Wed, 09-Jun-2021 10:18:14 GMT").as_deref(),
            Some("2021-06-09T10:18:14Z")
        );
        assert_eq!(
            iso8601("Sun, 6 Nov 1994 08:49:37 GMT").as_deref(),
            Some("1994-11-06T08:49:37Z")
        );
        for unreadable in [
            "tomorrow",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49 GMT",
        ] {
            assert_eq!(iso8601(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn cookie_headers_list_every_pair_in_order() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(COOKIE, HeaderValue::from_static("c"));
        let names: Vec<(String, String)> = sent(&headers)
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect();
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names, pairs(&[("a", "1"), ("b", "2"), ("c", "")]));
    }
}
