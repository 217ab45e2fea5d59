//! Tests of the origin-side HTTP/1.1 pieces.

use bytes::BytesMut;
use http_body::Frame;

use super::decode::{BodyError, Decoded, Decoder};
use super::head::{self, HeadError, max_origin_headers};

#[test]
fn the_header_count_follows_the_byte_limit_within_bounds() {
    assert_eq!(max_origin_headers(16 * 1024), 256);
    assert_eq!(max_origin_headers(4096), 100);
    assert_eq!(max_origin_headers(128 * 1024), head::MAX_ORIGIN_HEADERS);
}

/// What a whole response (head and body) reads as: the head's status and framing, then the
/// body's data and trailers, or the first error.
#[derive(Debug, PartialEq)]
enum Read {
    Head(HeadError),
    Body {
        status: u16,
        data: Vec<u8>,
        trailers: Vec<(String, String)>,
        end: Result<(), BodyError>,
    },
    Incomplete,
}

/// Feeds `pieces` one after another, as reads would deliver them, then the end of stream.
fn read_in_pieces(pieces: &[&[u8]]) -> Read {
    let mut buf = BytesMut::new();
    let mut pieces = pieces.iter();
    let mut scanned = 0;
    let head = loop {
        if let Some(end) = head::head_end(&buf, scanned) {
            if end > 16 * 1024 {
                return Read::Head(HeadError::TooLarge);
            }
            let before = buf.len();
            match head::parse(&mut buf, 100) {
                Err(e) => return Read::Head(e),
                Ok(Some(head)) => break head,
                // As the connection does: the empty lines before the status line are gone.
                Ok(None) if buf.len() < before => scanned = 0,
                Ok(None) => panic!("parse found the blank line at {end} but took nothing off"),
            }
            continue;
        }
        scanned = buf.len();
        match pieces.next() {
            Some(piece) => buf.extend_from_slice(piece),
            None => return Read::Incomplete,
        }
    };
    let framing = match head.framing(false) {
        Ok(framing) => framing,
        Err(e) => return Read::Head(e),
    };
    let mut decoder = Decoder::new(framing, 16 * 1024);
    let mut data = Vec::new();
    let mut trailers = Vec::new();
    let end = loop {
        match decoder.decode(&mut buf) {
            Err(e) => break Err(e),
            Ok(Decoded::End) => break Ok(()),
            Ok(Decoded::Frame(frame)) => match frame.into_data() {
                Ok(bytes) => data.extend_from_slice(&bytes),
                Err(frame) => {
                    let map = Frame::into_trailers(frame).expect("data or trailers");
                    for (k, v) in &map {
                        trailers.push((k.to_string(), v.to_str().unwrap().to_owned()));
                    }
                }
            },
            Ok(Decoded::More) => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => break decoder.at_eof(),
            },
        }
    };
    Read::Body {
        status: head.status.as_u16(),
        data,
        trailers,
        end,
    }
}

fn whole(bytes: &[u8]) -> Read {
    read_in_pieces(&[bytes])
}

fn body(status: u16, data: &[u8], end: Result<(), BodyError>) -> Read {
    Read::Body {
        status,
        data: data.to_vec(),
        trailers: vec![],
        end,
    }
}

#[test]
fn each_framing_reads_its_body() {
    assert_eq!(
        whole(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"),
        body(200, b"hello", Ok(()))
    );
    assert_eq!(
        whole(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1 \r\n!\r\n0\r\n\r\n"),
        body(200, b"hello!", Ok(()))
    );
    assert_eq!(
        whole(b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
        body(200, b"until close", Ok(()))
    );
    assert_eq!(
        whole(b"HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n"),
        body(204, b"", Ok(()))
    );
    assert_eq!(
        whole(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
        body(200, b"ok", Ok(())),
        "bare LF line ends, as httparse reads them"
    );
}

#[test]
fn chunked_trailers_are_passed_on() {
    let read = whole(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-sum: 42\r\n\r\n",
    );
    assert_eq!(
        read,
        Read::Body {
            status: 200,
            data: b"hi".to_vec(),
            trailers: vec![("x-sum".into(), "42".into())],
            end: Ok(()),
        }
    );
}

#[test]
fn a_body_cut_short_is_an_error_not_an_end() {
    assert_eq!(
        whole(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"),
        body(200, b"half", Err(BodyError::CutShort))
    );
    assert_eq!(
        whole(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel"),
        body(200, b"hel", Err(BodyError::CutShort))
    );
}

#[test]
fn bad_chunks_are_errors() {
    for bad in [
        &b"zz\r\n"[..],
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"11111111111111111\r\n",
        b"-1\r\n",
        b"5 x\r\nhello\r\n",
    ] {
        let mut response = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        response.extend_from_slice(bad);
        let Read::Body { end, .. } = whole(&response) else {
            panic!("{bad:?}: the head is fine");
        };
        assert!(
            matches!(end, Err(BodyError::Chunked(_))),
            "{:?}: {end:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn framing_headers_that_cannot_be_honoured_are_refused() {
    let cases: [(&[u8], HeadError); 7] = [
        (
            b"content-length: 5\r\ntransfer-encoding: chunked\r\n",
            HeadError::AmbiguousFraming,
        ),
        (
            b"content-length: 5\r\ncontent-length: 6\r\n",
            HeadError::Malformed("more than one content-length"),
        ),
        (
            b"content-length: 5\r\ncontent-length: 5\r\n",
            HeadError::Malformed("more than one content-length"),
        ),
        (
            b"content-length: 5, 5\r\n",
            HeadError::Malformed("content-length is not a number"),
        ),
        (
            b"content-length: +5\r\n",
            HeadError::Malformed("content-length is not a number"),
        ),
        (
            b"transfer-encoding: gzip\r\n",
            HeadError::Malformed("transfer-encoding other than chunked"),
        ),
        (
            b"transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n",
            HeadError::Malformed("transfer-encoding other than chunked"),
        ),
    ];
    for (fields, error) in cases {
        let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
        response.extend_from_slice(fields);
        response.extend_from_slice(b"\r\nhello");
        assert_eq!(
            whole(&response),
            Read::Head(error),
            "{}",
            String::from_utf8_lossy(fields)
        );
    }
}

#[test]
fn garbage_and_bad_status_lines_are_malformed() {
    for bad in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"HTTP/1.1 2OO OK\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: a\x00b\r\n\r\n",
    ] {
        assert!(
            matches!(whole(bad), Read::Head(HeadError::Malformed(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn blank_lines_before_the_status_line_are_skipped_once() {
    assert_eq!(read_in_pieces(&[b"\n\n"]), Read::Incomplete);
    assert_eq!(read_in_pieces(&[b"\r\n", b"\r\n", b"\n"]), Read::Incomplete);
    assert_eq!(
        read_in_pieces(&[b"\n\n", b"HTTP/1.1 204 No Content\r\n\r\n"]),
        body(204, b"", Ok(()))
    );
}

#[test]
fn a_head_ends_at_its_blank_line_whatever_the_line_ends() {
    assert_eq!(head::head_end(b"HTTP/1.1 200 OK\r\n\r\nbody", 0), Some(19));
    assert_eq!(head::head_end(b"HTTP/1.1 200 OK\n\nbody", 0), Some(17));
    assert_eq!(head::head_end(b"HTTP/1.1 200 OK\r\nx: y\r\n", 0), None);
    assert_eq!(head::head_end(b"HTTP/1.1 200 OK\r\nx: y\r\n\r", 0), None);
    // Searching again from where the last search stopped finds a blank line split in two.
    let head = b"HTTP/1.1 200 OK\r\nx: y\r\n\r\n";
    assert_eq!(head::head_end(head, head.len() - 2), Some(head.len()));
}

/// Deterministic pseudo-random cut points (no RNG crate needed): xorshift.
fn cuts(len: usize, seed: u64, count: usize) -> Vec<usize> {
    let mut state = seed | 1;
    let mut cuts: Vec<usize> = (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (len as u64 + 1)) as usize
        })
        .collect();
    cuts.sort_unstable();
    cuts
}

/// Property: a response read in pieces, cut at any byte boundaries, reads exactly as the
/// whole response does: every single cut point, then many random sets of cuts.
#[test]
fn any_split_of_a_response_reads_the_same() {
    let responses: [&[u8]; 8] = [
        b"\r\n\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\nx-a: b\r\n\r\nhello world",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;ext\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nserver: x\r\n\r\nclose delimited body",
        b"HTTP/1.1 404 Not Found\nContent-Length: 3\n\nnah",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc",
    ];
    for response in responses {
        let expected = whole(response);
        for at in 0..=response.len() {
            let (a, b) = response.split_at(at);
            assert_eq!(read_in_pieces(&[a, b]), expected, "cut at {at}");
        }
        for seed in 1..200u64 {
            let cuts = cuts(response.len(), seed, 1 + (seed as usize % 12));
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in cuts {
                pieces.push(&response[from..cut]);
                from = cut;
            }
            pieces.push(&response[from..]);
            assert_eq!(read_in_pieces(&pieces), expected, "cuts of seed {seed}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = response.chunks(1).collect();
        assert_eq!(read_in_pieces(&bytes), expected, "byte by byte");
    }
}
