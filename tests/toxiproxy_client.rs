//! The Toxiproxy subset of the control API, with edgecase exposed as one proxy named
//! `edgecase`: first with raw JSON (`GET /proxies`, toxics added, listed, refused with 400 /
//! 404 / 409 and removed, a disabled proxy answering 521, `POST /reset`), then driven unchanged
//! by a real client: the Python one (PyPI `toxiproxy-python`) runs
//! `tests/toxiproxy/drive_edgecase.py`, adding and removing a latency toxic (524, then 200),
//! disabling and enabling the proxy (521, 200), adding a timeout toxic (522) and resetting
//! (200). The script checks each status itself.
//!
//! Without `python3` or the `toxiproxy` module the client test says "skipped: <why>" on stderr
//! and passes; CI (`.ci/run`) installs the module first, so there it runs.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::process::{Command, Stdio};

use serde_json::json;

use admin::{Edgecase, TIMEOUT_MS, array_of, json_of};
use support::binary::run_to_exit;
use support::origins::Origin;
use support::{GUARD, assert_error_page, assert_took, ms};

// ---------------------------------------------------------------------------------------------
// The Toxiproxy subset, raw JSON
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn toxiproxy_proxies_show_edgecase_as_one_enabled_proxy() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("toxi_proxies", origin.addr(), "", "").await;
    let version = edgecase.get("/version").await;
    assert_eq!(version.status(), 200, "{}", version.text());
    assert!(!version.body.is_empty());

    let proxies = edgecase.get("/proxies").await;
    assert_eq!(proxies.status(), 200, "{}", proxies.text());
    let proxies = json_of(&proxies);
    let object = proxies.as_object().expect("an object keyed by name");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["edgecase"], "{proxies}");
    let proxy = &proxies["edgecase"];
    assert_eq!(proxy["name"], "edgecase");
    assert_eq!(proxy["enabled"], true);
    assert_eq!(proxy["toxics"], json!([]));
    let listen = proxy["listen"].as_str().expect("listen is a string");
    assert!(
        listen.ends_with(&format!(":{}", edgecase.edge.port())),
        "{proxy}"
    );
    let upstream = proxy["upstream"].as_str().expect("upstream is a string");
    assert!(
        upstream.contains(&origin.addr().port().to_string()),
        "{proxy}"
    );

    let one = edgecase.get("/proxies/edgecase").await;
    assert_eq!(one.status(), 200);
    assert_eq!(json_of(&one), *proxy);
    assert_eq!(edgecase.get("/proxies/other").await.status(), 404);
    let res = edgecase
        .post("/proxies/other/toxics", r#"{"type": "timeout"}"#)
        .await;
    assert_eq!(res.status(), 404, "{}", res.text());
    edgecase.stop().await;
}

#[tokio::test]
async fn toxiproxy_toxics_are_added_listed_refused_and_removed() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("toxi_toxics", origin.addr(), "", "").await;
    let latency = r#"{"type": "latency", "attributes": {"latency": 2000}}"#;
    let added = edgecase.post("/proxies/edgecase/toxics", latency).await;
    assert!(added.status().is_success(), "{}", added.text());
    let toxic = json_of(&added);
    assert_eq!(
        toxic["name"], "latency_downstream",
        "the default name: {toxic}"
    );
    assert_eq!(toxic["type"], "latency");
    assert_eq!(toxic["attributes"]["latency"], 2000);

    // 2 s of latency before the head, over the 300 ms read timeout: a real 524.
    let res = edgecase.visit("/").await;
    assert_error_page(&res, 524);
    assert_took(res.elapsed, ms(TIMEOUT_MS), ms(400));

    let toxics = array_of(&edgecase.get("/proxies/edgecase/toxics").await);
    assert_eq!(toxics, std::slice::from_ref(&toxic));
    let one = edgecase
        .get("/proxies/edgecase/toxics/latency_downstream")
        .await;
    assert_eq!(json_of(&one), toxic);
    let duplicate = edgecase.post("/proxies/edgecase/toxics", latency).await;
    assert_eq!(duplicate.status(), 409, "{}", duplicate.text());
    let unknown = r#"{"name": "x", "type": "gremlins", "attributes": {}}"#;
    let res = edgecase.post("/proxies/edgecase/toxics", unknown).await;
    assert_eq!(res.status(), 400, "{}", res.text());
    assert_eq!(
        array_of(&edgecase.get("/proxies/edgecase/toxics").await).len(),
        1
    );

    // A fault rule that matches wins over the toxics.
    edgecase
        .add_fault(json!({"status": 521, "path_prefix": "/ruled"}))
        .await;
    assert_error_page(&edgecase.visit("/ruled").await, 521);

    let res = edgecase
        .delete("/proxies/edgecase/toxics/latency_downstream")
        .await;
    assert!(res.status().is_success(), "{}", res.text());
    assert!(array_of(&edgecase.get("/proxies/edgecase/toxics").await).is_empty());
    assert_eq!(edgecase.visit("/").await.status(), 200);
    let res = edgecase
        .get("/proxies/edgecase/toxics/latency_downstream")
        .await;
    assert_eq!(res.status(), 404, "{}", res.text());
    edgecase.stop().await;
}

#[tokio::test]
async fn toxiproxy_disable_answers_521_and_reset_restores_everything() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("toxi_disable", origin.addr(), "", "").await;
    let res = edgecase
        .post("/proxies/edgecase", r#"{"enabled": false}"#)
        .await;
    assert!(res.status().is_success(), "{}", res.text());
    assert_eq!(json_of(&res)["enabled"], false);
    assert_error_page(&edgecase.visit("/").await, 521);
    assert_eq!(
        json_of(&edgecase.get("/proxies").await)["edgecase"]["enabled"],
        false
    );

    let timeout = r#"{"name": "t", "type": "timeout", "attributes": {"timeout": 0}}"#;
    let res = edgecase.post("/proxies/edgecase/toxics", timeout).await;
    assert!(res.status().is_success(), "{}", res.text());
    let res = edgecase.post("/reset", "").await;
    assert!(res.status().is_success(), "{}", res.text());
    let proxy = json_of(&edgecase.get("/proxies/edgecase").await);
    assert_eq!(proxy["enabled"], true, "{proxy}");
    assert_eq!(proxy["toxics"], json!([]), "{proxy}");
    assert_eq!(edgecase.visit("/").await.status(), 200);

    let res = edgecase
        .post("/proxies/edgecase", r#"{"enabled": false}"#)
        .await;
    assert!(res.status().is_success());
    let res = edgecase
        .post("/proxies/edgecase", r#"{"enabled": true}"#)
        .await;
    assert_eq!(json_of(&res)["enabled"], true);
    assert_eq!(edgecase.visit("/").await.status(), 200);
    edgecase.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The real Python client
// ---------------------------------------------------------------------------------------------

/// The script the client test runs.
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/toxiproxy/drive_edgecase.py"
);

// The script's latency toxic (3 s) must outlast the read timeout, or it would not see a 524.
const _: () = assert!(TIMEOUT_MS < 3000);

/// Why the Python client cannot run here, if it cannot.
fn python_client_missing() -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import toxiproxy, requests, future"])
        .stdin(Stdio::null())
        .output();
    match probe {
        Err(error) => Some(format!("python3 cannot be run: {error}")),
        Ok(output) if !output.status.success() => Some(format!(
            "the toxiproxy Python client cannot be imported (python3 -m pip install \
             toxiproxy-python requests future): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => None,
    }
}

#[tokio::test]
async fn the_python_toxiproxy_client_drives_edgecase() {
    if let Some(why) = python_client_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("toxiproxy_python", origin.addr(), "", "").await;

    let (status, output) = run_to_exit(
        Command::new("python3")
            .arg(SCRIPT)
            .arg(edgecase.admin.port().to_string())
            .arg(edgecase.edge.port().to_string()),
        GUARD,
    )
    .await;
    assert!(status.success(), "the script failed ({status}):\n{output}");
    assert!(
        output.contains("ok: every step answered as expected"),
        "{output}"
    );
    assert!(
        origin.requests().len() >= 4,
        "the healthy steps reached the origin"
    );

    edgecase.stop().await;
}
