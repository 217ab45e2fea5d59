//! Unit tests of [`super`]: each transformation on its own, their order, the host's normal
//! form, and odd input (every byte, long runs of dots and slashes) never panicking and always
//! giving a normal path that normalizes to itself.

use super::*;

#[track_caller]
fn normal(raw: &str, want: &str) {
    assert_eq!(path(raw), want, "path({raw:?})");
}

#[test]
fn a_normal_path_is_borrowed_as_it_is() {
    for raw in [
        "/",
        "/admin/x",
        "/a-b_c~d.e/f:g@h!$&'()*+,;=",
        "*",
        "/a.b/..c/...",
        "",
    ] {
        assert!(matches!(path(raw), Cow::Borrowed(p) if p == raw), "{raw:?}");
    }
}

#[test]
fn unreserved_characters_are_decoded() {
    normal("/%61dmin/x", "/admin/x");
    normal("/%41%5A%7a%30%39", "/AZz09");
    normal("/%2D%2e%5F%7E", "/-._~");
}

#[test]
fn reserved_and_other_encodings_stay_encoded_in_uppercase() {
    normal("/a%2fb", "/a%2Fb");
    normal("/a%2F..%2Fb", "/a%2F..%2Fb");
    normal("/%3a%40%25", "/%3A%40%25");
    normal("/%5c", "/%5C");
    normal("/caf%c3%a9", "/caf%C3%A9");
}

#[test]
fn characters_neither_unreserved_nor_reserved_are_encoded() {
    normal("/a b", "/a%20b");
    normal("/\"<>^`{|}", "/%22%3C%3E%5E%60%7B%7C%7D");
    normal("/café", "/caf%C3%A9");
    normal("/\u{7f}\u{1}", "/%7F%01");
}

#[test]
fn a_lone_percent_is_encoded_so_it_never_decodes_later() {
    normal("/100%", "/100%25");
    normal("/%zz", "/%25zz");
    normal("/%4", "/%254");
    // Not a double decoding: the lone % cannot pair with a decoded digit.
    normal("/%%341", "/%2541");
}

#[test]
fn backslashes_become_slashes() {
    normal("/admin\\x", "/admin/x");
    normal("\\admin", "/admin");
}

#[test]
fn repeated_slashes_are_merged() {
    normal("//admin/x", "/admin/x");
    normal("/a///b//", "/a/b/");
    normal("/a\\\\/\\b", "/a/b");
}

#[test]
fn dot_segments_are_removed() {
    normal("/public/../admin/x", "/admin/x");
    normal("/a/./b", "/a/b");
    normal("/a/b/.", "/a/b/");
    normal("/a/b/..", "/a/");
    normal("/a/b/c/./../../g", "/a/g");
    normal("/./", "/");
    normal("/a/.b/..c/.../x", "/a/.b/..c/.../x");
}

#[test]
fn dot_segments_never_climb_above_the_root() {
    normal("/..", "/");
    normal("/../admin/x", "/admin/x");
    normal("/../../../a/../../b", "/b");
}

#[test]
fn encoded_dots_are_decoded_before_dot_segments_are_removed() {
    normal("/public/%2e%2e/admin/x", "/admin/x");
    normal("/public/%2E./admin/x", "/admin/x");
    normal("/a/%2e/b", "/a/b");
}

#[test]
fn slashes_are_merged_before_dot_segments_are_removed() {
    // Cloudflare's order: `//` is merged first, so `..` climbs over `b`, not an empty segment.
    normal("/a/b//../c", "/a/c");
    normal("/public\\..\\admin/x", "/admin/x");
    normal("/a/.//b", "/a/b");
}

#[test]
fn case_is_kept() {
    normal("/ADMIN/x", "/ADMIN/x");
    normal("/%41DMIN", "/ADMIN");
}

#[test]
fn hosts_lose_port_case_and_one_trailing_dot() {
    assert_eq!(host("Example.COM."), "example.com");
    assert_eq!(host("example.com.:8443"), "example.com");
    assert_eq!(host("example.com:80"), "example.com");
    assert_eq!(host("example.com.."), "example.com.");
    assert_eq!(host("[::1]:8080"), "[::1]");
    assert_eq!(host("::1"), "::1");
    assert_eq!(host("."), "");
    assert_eq!(host(""), "");
    assert!(matches!(host("site.test"), Cow::Borrowed("site.test")));
}

#[test]
fn normalized_pairs_host_and_path() {
    let url = Normalized::new("Site.Test.:8080", "//%61dmin/x");
    assert_eq!(url.host, "site.test");
    assert_eq!(url.path, "/admin/x");
}

/// The invariants every output keeps: only unreserved, reserved and `%XX` with uppercase hex
/// of a non-unreserved byte; no `\`, no `//`, no dot segment; and normalizing it again changes
/// nothing.
#[track_caller]
fn assert_normal_form(raw: &str) {
    let once = path(raw);
    let bytes = once.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = &bytes[i + 1..i + 3];
            let decoded = hex_pair(pair).expect("a % always starts an encoding");
            assert!(!is_unreserved(decoded), "{raw:?} -> {once:?}");
            assert!(
                !pair.iter().any(u8::is_ascii_lowercase),
                "{raw:?} -> {once:?}"
            );
            i += 3;
        } else {
            assert!(
                is_unreserved(bytes[i]) || is_reserved(bytes[i]),
                "{raw:?} -> {once:?}"
            );
            i += 1;
        }
    }
    assert!(!once.contains("//"), "{raw:?} -> {once:?}");
    assert!(
        !once.split('/').any(|s| s == "." || s == ".."),
        "{raw:?} -> {once:?}"
    );
    assert_eq!(path(&once), once, "normalizing {raw:?} twice");
}

#[test]
fn every_byte_in_every_position_gives_a_normal_form() {
    for b in 0..=0x7fu8 {
        let c = char::from(b);
        for raw in [
            format!("/{c}"),
            format!("/a{c}/b"),
            format!("{c}{c}/.."),
            format!("/%{c}"),
            format!("/%{c}{c}"),
            format!("/%2{c}/x"),
            format!("/.{c}./"),
        ] {
            assert_normal_form(&raw);
        }
    }
    for raw in ["é", "/\u{10ffff}/..", "/%C3%A9", "/\u{0}"] {
        assert_normal_form(raw);
    }
}

#[test]
fn odd_mixtures_give_a_normal_form() {
    let pieces = [
        "/", "\\", ".", "..", "%", "%2e", "%2E%2e", "%2f", "%5c", "a", "é", "%",
    ];
    // Every sequence of three pieces, then long runs.
    for a in pieces {
        for b in pieces {
            for c in pieces {
                assert_normal_form(&format!("{a}{b}{c}"));
                assert_normal_form(&format!("/{a}/{b}/{c}"));
            }
        }
    }
    assert_normal_form(&"/..".repeat(10_000));
    assert_normal_form(&"\\/".repeat(10_000));
    assert_normal_form(&"%2e%2e/".repeat(10_000));
}

#[test]
fn prefixes_no_normal_path_starts_with_are_refused_with_their_normal_form() {
    let refused = |prefix: &str, normal: &str| {
        let problem = check_prefix(prefix).expect_err(prefix);
        assert_eq!(problem.normal, normal, "{prefix:?}");
        assert!(problem.to_string().contains(normal), "{problem}");
    };
    refused("/%61dmin/", "/admin/");
    refused("/a%2fb", "/a%2Fb");
    refused("//admin/", "/admin/");
    refused("/admin\\", "/admin/");
    refused("/public/../admin/", "/admin/");
    refused("/./admin", "/admin");
    refused("/a b", "/a%20b");
    refused("/100%/", "/100%25/");
    refused("/caf\u{e9}", "/caf%C3%A9");
}

#[test]
fn prefixes_some_normal_path_starts_with_are_accepted() {
    for prefix in [
        "/", "/admin/", "/a%2Fb", "/a%2", "/a%", "/..", "/a/.", "/a..b/", "/~x",
    ] {
        assert_eq!(check_prefix(prefix), Ok(()), "{prefix:?}");
    }
    // What each would match.
    assert!(path("/a%2Fb").starts_with("/a%2"));
    assert!(path("/..b").starts_with("/.."));
}
