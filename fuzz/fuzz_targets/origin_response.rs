#![no_main]
//! Fuzz target `origin_response`: the input is everything an origin sends back, then it
//! hangs up. A visitor's `GET` through an in-process edge (200 ms origin timeouts) must end
//! in a whole HTTP/1.1 response carrying `cf-ray` (any status: the origin's, or the 52x
//! Cloudflare answers with) or in the edge closing the connection on a response cut short,
//! within [`edgecase_fuzz::rig::HANG`]. A panic anywhere, malformed bytes to the visitor or
//! a hang is a crash.
//!
//! One runtime, one edge and one origin serve every input; the origin answers each new
//! connection with the current input. `EDGECASE_FUZZ_LENIENT=1` counts answers that break
//! these rules instead of crashing on them ([`edgecase_fuzz::rig::lenient`]).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use edgecase::{EdgeBuilder, EdgeHandle};
use edgecase_fuzz::origins::ScriptedOrigin;
use edgecase_fuzz::reply::{self, Malformed, Reply};
use edgecase_fuzz::rig::{self, escaped, within};
use edgecase_fuzz::tally::{self, Tally};
use edgecase_fuzz::visitor;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

/// Every origin timeout of the edge: short, so an origin that never completes its head
/// costs little, and far below [`edgecase_fuzz::rig::HANG`].
const ORIGIN_TIMEOUT: Duration = Duration::from_millis(200);

/// The visitor's request: one GET, and the edge closes the connection after answering it.
const REQUEST: &[u8] = b"GET /fuzz?q=1 HTTP/1.1\r\nhost: origin.fuzz.test\r\n\
    user-agent: edgecase-fuzz\r\nconnection: close\r\n\r\n";

/// What every input shares.
struct Rig {
    runtime: Runtime,
    origin: ScriptedOrigin,
    edge: EdgeHandle,
    lenient: bool,
}

static RIG: OnceLock<Rig> = OnceLock::new();
static TALLY: Mutex<Tally> = Mutex::new(Tally::new("origin_response"));

fn rig() -> &'static Rig {
    RIG.get_or_init(|| {
        let runtime = rig::runtime();
        let (origin, edge) = runtime.block_on(async {
            let origin = ScriptedOrigin::start()
                .await
                .expect("an origin on 127.0.0.1:0");
            let edge = EdgeBuilder::new()
                .origin(origin.addr().to_string())
                .connect_timeout(ORIGIN_TIMEOUT)
                .ack_timeout(ORIGIN_TIMEOUT)
                .write_timeout(ORIGIN_TIMEOUT)
                .read_timeout(ORIGIN_TIMEOUT)
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
            lenient: rig::lenient(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let rig = rig();
    rig.origin.set_script(data);
    let connections = rig.origin.connections();
    let received = rig
        .runtime
        .block_on(within(
            "the visitor's GET",
            visitor::exchange(rig.edge.addr(), REQUEST),
        ))
        .unwrap_or_else(|e| panic!("the edge no longer takes visitors: {e}"));
    let outcome = match reply::judge(&received.bytes) {
        Err(Malformed(why)) if rig.lenient => format!("finding: {}", rig::shape(&why)),
        Err(Malformed(why)) => panic!(
            "the visitor got bytes no HTTP/1.1 client can read ({why}): {}",
            escaped(&received.bytes, 2000)
        ),
        Ok(Reply::Complete {
            status,
            cf_ray: false,
            ..
        }) if rig.lenient => format!("finding: {status} without cf-ray"),
        Ok(Reply::Complete {
            status,
            cf_ray,
            cause,
        }) => {
            assert!(
                cf_ray,
                "a {status} without cf-ray: {}",
                escaped(&received.bytes, 2000)
            );
            match cause {
                Some(cause) => format!("{status} {cause}"),
                // By class: the fuzzer tries every status, and one line each is noise.
                None => format!("{}xx from the origin", status / 100),
            }
        }
        Ok(Reply::CutShort {
            status: Some(status),
        }) => format!(
            "cut short after a {}xx head ({:?})",
            status / 100,
            received.ending
        ),
        Ok(Reply::CutShort { status: None }) => "cut short in the head".to_owned(),
        Ok(Reply::Nothing) => format!("nothing ({:?})", received.ending),
    };
    // How many connections the edge opened for this GET: 0 reused a pooled one, 2 or more
    // retried.
    let opened = rig.origin.connections() - connections;
    tally::count(&TALLY, format!("{outcome}, {opened} origin conn"), data);
});
