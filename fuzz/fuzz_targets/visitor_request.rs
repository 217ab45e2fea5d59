#![no_main]
//! Fuzz target `visitor_request`: the input is everything a visitor sends on one connection
//! to an in-process edge in front of an origin that answers `200 OK`. The visitor reads for
//! as long as answers keep coming, shuts its writing side, and reads until the edge closes.
//! The edge must answer (HTTP/1.1, or HTTP/2 frames after `PRI `, the start of the h2 preface)
//! or close, within
//! [`edgecase_fuzz::rig::HANG`], never panic, and keep serving: a plain `GET` on a new
//! connection afterwards still gets the origin's `200` with `cf-ray`.
//!
//! `EDGECASE_FUZZ_CHECK_EVERY=N` makes that check after every Nth input only (default 1:
//! after each, so a crash names the input that broke the edge). `EDGECASE_FUZZ_QUIET_MS`
//! sets how long the visitor waits for more of an answer before half-closing (default 3).
//! `EDGECASE_FUZZ_LENIENT=1` counts unreadable answers instead of crashing on them
//! ([`edgecase_fuzz::rig::lenient`]).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use edgecase::{EdgeBuilder, EdgeHandle};
use edgecase_fuzz::origins::OkOrigin;
use edgecase_fuzz::rig::{self, escaped, within};
use edgecase_fuzz::tally::{self, Tally};
use edgecase_fuzz::visitor::{self, Ending};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

/// The edge's connect, ack and write timeouts to its origin.
const ORIGIN_TIMEOUT: Duration = Duration::from_millis(200);

/// The edge's read timeout: the origin answers at once, so this only bounds a stuck body.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// What every HTTP/2 connection starts with; the edge then speaks HTTP/2 (h2c).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What every input shares.
struct Rig {
    runtime: Runtime,
    origin: OkOrigin,
    edge: EdgeHandle,
    check_every: u64,
    quiet: Duration,
    lenient: bool,
    inputs: Mutex<u64>,
}

static RIG: OnceLock<Rig> = OnceLock::new();
static TALLY: Mutex<Tally> = Mutex::new(Tally::new("visitor_request"));

/// A whole number from the environment variable `name`, or `default`.
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rig() -> &'static Rig {
    RIG.get_or_init(|| {
        let runtime = rig::runtime();
        let (origin, edge) = runtime.block_on(async {
            let origin = OkOrigin::start().await.expect("an origin on 127.0.0.1:0");
            let edge = EdgeBuilder::new()
                .origin(origin.addr().to_string())
                .connect_timeout(ORIGIN_TIMEOUT)
                .ack_timeout(ORIGIN_TIMEOUT)
                .write_timeout(ORIGIN_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .ray_seed(1)
                .explain(true)
                .start()
                .await
                .expect("an edge on 127.0.0.1:0");
            (origin, edge)
        });
        Rig {
            runtime,
            origin,
            edge,
            check_every: setting("EDGECASE_FUZZ_CHECK_EVERY", 1).max(1),
            quiet: Duration::from_millis(setting("EDGECASE_FUZZ_QUIET_MS", 3)),
            lenient: rig::lenient(),
            inputs: Mutex::new(0),
        }
    })
}

/// The outcome's name in the tally: how the edge answered the input. An answer an HTTP/1.1
/// visitor cannot read panics, unless `lenient`.
fn outcome(data: &[u8], answer: &[u8], ending: Ending, lenient: bool) -> String {
    if answer.is_empty() {
        return format!("no answer ({ending:?})");
    }
    // The edge's own rule (docs/protocol.md): the first four bytes of the preface, `PRI `,
    // make the connection h2, so a preface cut short is answered with h2 frames too.
    if data.starts_with(&H2_PREFACE[..4]) {
        return format!("h2 frames ({ending:?})");
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut headers);
    match head.parse(answer) {
        Ok(httparse::Status::Complete(_)) => {
            let status = head.code.unwrap_or_default();
            let edge_made = head
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("cf-ray"));
            let by = if edge_made { "edgecase" } else { "hyper" };
            format!("{status} by {by} ({ending:?})")
        }
        Ok(httparse::Status::Partial) if lenient => "finding: cut inside its head".to_owned(),
        Ok(httparse::Status::Partial) if answer.len() < 4096 => {
            panic!("an answer cut inside its head: {}", escaped(answer, 2000))
        }
        Ok(httparse::Status::Partial) => format!("head over 4 KiB ({ending:?})"),
        Err(e) if lenient => format!("finding: not a response ({e})"),
        Err(e) => panic!(
            "an HTTP/1.1 visitor got bytes that are not a response ({e}): {}",
            escaped(answer, 2000)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let rig = rig();
    let edge = rig.edge.addr();
    let received = rig
        .runtime
        .block_on(within(
            "the edge's answer to the input",
            visitor::send_raw(edge, data, rig.quiet),
        ))
        .unwrap_or_else(|e| panic!("the edge no longer takes visitors: {e}"));
    tally::count(
        &TALLY,
        outcome(data, &received.bytes, received.ending, rig.lenient),
        data,
    );

    let inputs = {
        let mut inputs = rig.inputs.lock().unwrap_or_else(|e| e.into_inner());
        *inputs += 1;
        *inputs
    };
    if inputs.is_multiple_of(rig.check_every) {
        let answered = rig.runtime.block_on(within(
            "a plain GET after the input",
            visitor::status_of_get(edge),
        ));
        assert_eq!(
            answered,
            Some((200, true)),
            "after this input a plain GET no longer gets the origin's 200 with cf-ray \
             ({} origin requests so far)",
            rig.origin.requests()
        );
    }
});
