//! Shared by the fault tests: starting an in-process edge from the library, and reading back
//! what it recorded about a request.

use edgecase::{EdgeBuilder, EdgeHandle, RequestRecord};

use super::GUARD;
use super::visitor::{Response, within};

/// The header `[emulation] explain` adds to every edgecase-made response.
pub const CAUSE: &str = "cf-edgecase-cause";

/// Starts `builder`'s edge, failing the test if it does not start.
pub async fn start(builder: EdgeBuilder) -> EdgeHandle {
    within(GUARD, builder.start())
        .await
        .expect("the edge starts on 127.0.0.1:0")
}

/// The edge's record of the request that got `res`, waiting (bounded) for it to be written.
pub async fn record_of(edge: &EdgeHandle, res: &Response) -> RequestRecord {
    let ray = res.header("cf-ray").expect("cf-ray on every answer");
    record_of_ray(edge, ray).await
}

/// The edge's record of the request with ray ID `ray`, waiting (bounded) for it to be written.
pub async fn record_of_ray(edge: &EdgeHandle, ray: &str) -> RequestRecord {
    within(GUARD, async {
        loop {
            if let Some(record) = edge.request(ray) {
                return record;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// Asserts the `cf-edgecase-cause` header.
#[track_caller]
pub fn assert_cause(res: &Response, cause: &str) {
    assert_eq!(
        res.header(CAUSE),
        Some(cause),
        "cause header of a {}",
        res.status()
    );
}
