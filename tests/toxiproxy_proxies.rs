//! Proxies made through Toxiproxy's API (`POST /proxies`, `/populate`, `DELETE`), on real
//! sockets: each is a Cloudflare-like edge of its own on the port it was given (0: the kernel
//! picks), with its own toxics and enabled switch; names are unique, bad addresses and busy
//! ports are 400s naming the key, a proxy can be rebound and pointed elsewhere, and deleting
//! one lets its request in flight finish while new connections are refused. Every request's
//! record names its proxy.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpStream;

use admin::{Edgecase, array_of, error_of, json_of};
use support::GUARD;
use support::origins::Origin;
use support::visitor::{Response, get, within};

/// `POST /proxies` that must succeed (201): the proxy as answered.
async fn create(edgecase: &Edgecase, proxy: Value) -> Value {
    let res = edgecase.post("/proxies", &proxy.to_string()).await;
    assert_eq!(res.status(), 201, "POST /proxies {proxy}: {}", res.text());
    json_of(&res)
}

fn listen_of(proxy: &Value) -> SocketAddr {
    let listen = proxy["listen"].as_str().expect("listen is a string");
    listen.parse().expect("listen is the bound address")
}

async fn visit(addr: SocketAddr) -> Response {
    within(GUARD, get(addr, "/")).await
}

async fn refuses(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn a_proxy_made_by_the_api_forwards_like_the_edge_and_is_listed() {
    let origin = Origin::ok("shop origin").await;
    let edgecase = Edgecase::start("proxy_made", origin.addr(), "", "").await;
    let upstream = origin.addr().to_string();
    let shop = create(
        &edgecase,
        json!({"name": "shop", "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true}),
    )
    .await;
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["upstream"], upstream);
    assert_eq!(shop["enabled"], true);
    assert_eq!(shop["toxics"], json!([]));
    let listen = listen_of(&shop);
    assert_ne!(
        listen.port(),
        0,
        "the answer gives the port the kernel picked"
    );

    let res = visit(listen).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "shop origin");
    assert_eq!(res.header("server"), Some("cloudflare"));
    assert!(res.header("cf-ray").is_some());

    let all = json_of(&edgecase.get("/proxies").await);
    let names: Vec<&String> = all.as_object().expect("by name").keys().collect();
    assert_eq!(names, ["edgecase", "shop"], "{all}");
    assert_eq!(all["shop"], shop);
    assert_eq!(json_of(&edgecase.get("/proxies/shop").await), shop);

    // Which proxy served each request: /requests, the metrics label.
    assert_eq!(edgecase.visit("/").await.status(), 200);
    let records = array_of(&edgecase.get("/requests").await);
    let proxies: Vec<&str> = records.iter().filter_map(|r| r["proxy"].as_str()).collect();
    assert_eq!(proxies, ["edgecase", "shop"], "newest first: {records:?}");
    let metrics = edgecase.get("/metrics").await;
    let metrics = metrics.text();
    assert!(metrics.contains("proxy=\"shop\""), "{metrics}");
    assert!(metrics.contains("proxy=\"edgecase\""), "{metrics}");
    edgecase.stop().await;
}

#[tokio::test]
async fn names_are_unique_and_bad_addresses_name_their_key() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("proxy_refused", origin.addr(), "", "").await;
    let upstream = origin.addr().to_string();
    let shop = json!({"name": "shop", "listen": "127.0.0.1:0", "upstream": upstream});
    create(&edgecase, shop.clone()).await;
    let again = edgecase.post("/proxies", &shop.to_string()).await;
    assert!(error_of(&again, 409).contains("already exists"));
    let own = json!({"name": "edgecase", "listen": "127.0.0.1:0", "upstream": upstream});
    let again = edgecase.post("/proxies", &own.to_string()).await;
    assert!(error_of(&again, 409).contains("already exists"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let busy = busy.local_addr().expect("its address");
    for (body, key, named) in [
        (
            json!({"name": "a", "listen": busy.to_string(), "upstream": upstream}),
            "listen:",
            busy.to_string(),
        ),
        (
            json!({"name": "b", "listen": "nowhere", "upstream": upstream}),
            "listen:",
            "nowhere".to_owned(),
        ),
        (
            json!({"name": "c", "listen": "127.0.0.1:0", "upstream": "http://x:1"}),
            "upstream:",
            "http://x:1".to_owned(),
        ),
        (
            json!({"listen": "127.0.0.1:0", "upstream": upstream}),
            "name:",
            String::new(),
        ),
    ] {
        let res = edgecase.post("/proxies", &body.to_string()).await;
        let why = error_of(&res, 400);
        assert!(
            why.starts_with(key) && why.contains(&named),
            "{body}: {why}"
        );
    }
    let all = json_of(&edgecase.get("/proxies").await);
    assert_eq!(all.as_object().map(|o| o.len()), Some(2), "{all}");
    edgecase.stop().await;
}

#[tokio::test]
async fn each_proxy_has_its_own_switch_and_toxics_and_reset_clears_all() {
    let origin = Origin::ok("origin").await;
    let edgecase = Edgecase::start("proxy_own_toxics", origin.addr(), "", "").await;
    let upstream = origin.addr().to_string();
    let shop = create(
        &edgecase,
        json!({"name": "shop", "listen": "127.0.0.1:0", "upstream": upstream, "enabled": false}),
    )
    .await;
    let shop = listen_of(&shop);
    assert_eq!(visit(shop).await.status(), 521, "made disabled");
    assert_eq!(
        edgecase.visit("/").await.status(),
        200,
        "the own proxy is untouched"
    );
    let res = edgecase.post("/proxies/shop", r#"{"enabled": true}"#).await;
    assert_eq!(json_of(&res)["enabled"], true);
    assert_eq!(visit(shop).await.status(), 200);

    let toxic = r#"{"type": "timeout", "attributes": {"timeout": 0}}"#;
    let res = edgecase.post("/proxies/shop/toxics", toxic).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(visit(shop).await.status(), 522);
    assert_eq!(edgecase.visit("/").await.status(), 200);
    let toxics = array_of(&edgecase.get("/proxies/shop/toxics").await);
    assert_eq!(toxics.len(), 1);
    assert!(array_of(&edgecase.get("/proxies/edgecase/toxics").await).is_empty());

    edgecase
        .post("/proxies/edgecase", r#"{"enabled": false}"#)
        .await;
    assert_eq!(edgecase.visit("/").await.status(), 521);
    assert_eq!(edgecase.post("/reset", "").await.status(), 204);
    assert_eq!(visit(shop).await.status(), 200, "reset removed the toxic");
    assert_eq!(edgecase.visit("/").await.status(), 200, "reset enabled it");
    edgecase.stop().await;
}

#[tokio::test]
async fn a_proxy_is_rebound_and_pointed_at_another_origin() {
    let first = Origin::ok("first").await;
    let second = Origin::ok("second").await;
    let edgecase = Edgecase::start("proxy_rebind", first.addr(), "", "").await;
    let upstream = first.addr().to_string();
    let shop = create(
        &edgecase,
        json!({"name": "shop", "listen": "127.0.0.1:0", "upstream": upstream}),
    )
    .await;
    let old = listen_of(&shop);
    let toxic = r#"{"name": "slow", "type": "latency", "attributes": {"latency": 1}}"#;
    edgecase.post("/proxies/shop/toxics", toxic).await;

    let change = json!({"listen": "127.0.0.1:0", "upstream": second.addr().to_string()});
    let res = edgecase.post("/proxies/shop", &change.to_string()).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let moved = json_of(&res);
    let new = listen_of(&moved);
    assert_ne!(new, old);
    assert_eq!(moved["upstream"], second.addr().to_string());
    assert_eq!(
        moved["toxics"].as_array().map(Vec::len),
        Some(1),
        "toxics stay: {moved}"
    );
    assert!(refuses(old).await, "the old port is closed");
    assert_eq!(visit(new).await.text(), "second");

    let res = edgecase
        .post("/proxies/shop", r#"{"listen": "nowhere"}"#)
        .await;
    assert!(error_of(&res, 400).starts_with("listen:"));
    assert_eq!(
        visit(new).await.status(),
        200,
        "a refused change changes nothing"
    );
    edgecase.stop().await;
}

#[tokio::test]
async fn deleting_a_proxy_lets_its_request_finish_and_refuses_new_ones() {
    let origin = Origin::delayed(Duration::from_millis(150), "slow answer").await;
    let edgecase = Edgecase::start("proxy_delete", origin.addr(), "", "").await;
    let upstream = origin.addr().to_string();
    let shop = create(
        &edgecase,
        json!({"name": "shop", "listen": "127.0.0.1:0", "upstream": upstream}),
    )
    .await;
    let shop = listen_of(&shop);
    let in_flight = tokio::spawn(visit(shop));
    within(GUARD, origin.request_seen()).await;
    assert_eq!(edgecase.delete("/proxies/shop").await.status(), 204);
    let res = in_flight.await.expect("the visitor task");
    assert_eq!(res.status(), 200, "the request in flight finished");
    assert_eq!(res.text(), "slow answer");
    assert!(refuses(shop).await, "new connections are refused");
    let all = json_of(&edgecase.get("/proxies").await);
    assert!(all.get("shop").is_none(), "{all}");
    assert_eq!(edgecase.get("/proxies/shop").await.status(), 404);
    assert_eq!(edgecase.delete("/proxies/shop").await.status(), 404);

    let own = edgecase.delete("/proxies/edgecase").await;
    assert!(error_of(&own, 409).contains("cannot be deleted"));
    edgecase.stop().await;
}

#[tokio::test]
async fn populate_makes_keeps_and_replaces_proxies() {
    let origin = Origin::ok("origin").await;
    let other = Origin::ok("other").await;
    let edgecase = Edgecase::start("proxy_populate", origin.addr(), "", "").await;
    let upstream = origin.addr().to_string();
    let two = json!([
        {"name": "one", "listen": "127.0.0.1:0", "upstream": upstream},
        {"name": "two", "listen": "127.0.0.1:0", "upstream": upstream, "enabled": false},
    ]);
    let res = edgecase.post("/populate", &two.to_string()).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    let made = json_of(&res)["proxies"]
        .as_array()
        .cloned()
        .expect("proxies");
    assert_eq!(made.len(), 2);
    let one = listen_of(&made[0]);
    assert_eq!(visit(one).await.status(), 200);
    assert_eq!(visit(listen_of(&made[1])).await.status(), 521);

    // The same listen and upstream: kept, toxics and all. Another upstream: replaced.
    edgecase
        .post("/proxies/one/toxics", r#"{"type": "latency"}"#)
        .await;
    let again = json!([
        {"name": "one", "listen": one.to_string(), "upstream": upstream},
        {"name": "two", "listen": "127.0.0.1:0", "upstream": other.addr().to_string()},
    ]);
    let res = edgecase.post("/populate", &again.to_string()).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    let kept = json_of(&res)["proxies"]
        .as_array()
        .cloned()
        .expect("proxies");
    assert_eq!(listen_of(&kept[0]), one);
    assert_eq!(kept[0]["toxics"].as_array().map(Vec::len), Some(1));
    assert_eq!(visit(listen_of(&kept[1])).await.text(), "other");

    let res = edgecase.post("/populate", r#"[{"name": "x"}]"#).await;
    assert!(error_of(&res, 400).contains("upstream"));
    edgecase.stop().await;
}

/// `[[proxy]]` tables for a proxy `shop` in front of `origin`.
fn proxy_table(origin: SocketAddr) -> String {
    format!("[[proxy]]\nname = \"shop\"\nlisten = \"127.0.0.1:0\"\nupstream = \"{origin}\"\n")
}

#[tokio::test]
async fn config_proxies_start_with_the_edge_and_api_ones_do_not_outlive_it() {
    let origin = Origin::ok("from the config").await;
    let tables = proxy_table(origin.addr());
    let edgecase = Edgecase::start("proxy_config", origin.addr(), "", &tables).await;
    let all = json_of(&edgecase.get("/proxies").await);
    let shop = listen_of(&all["shop"]);
    assert_eq!(all["shop"]["upstream"], origin.addr().to_string());
    assert_eq!(visit(shop).await.text(), "from the config");
    let upstream = origin.addr().to_string();
    create(
        &edgecase,
        json!({"name": "api", "listen": "127.0.0.1:0", "upstream": upstream}),
    )
    .await;
    edgecase.stop().await;
    assert!(refuses(shop).await, "the proxy stops with the process");

    let restarted = Edgecase::start("proxy_config_again", origin.addr(), "", &tables).await;
    let all = json_of(&restarted.get("/proxies").await);
    let names: Vec<&String> = all.as_object().expect("by name").keys().collect();
    assert_eq!(
        names,
        ["edgecase", "shop"],
        "the API's proxy is gone: {all}"
    );
    restarted.stop().await;
}

#[test]
fn config_proxy_problems_are_reported_together_by_key() {
    let text = "[[proxy]]\nname = \"edgecase\"\nlisten = \"nowhere\"\nupstream = \"x:1\"\n\
                [[proxy]]\nname = \"a\"\nupstream = \"http://x\"\n\
                [[proxy]]\nname = \"a\"\nlisten = \"127.0.0.1:0\"\nupstream = \"x:1\"\n";
    let err = edgecase::config::Config::from_toml_str(text).expect_err("bad proxies");
    let err = err.to_string();
    for key in [
        "proxy[0].name",
        "proxy[0].listen",
        "proxy[1].listen",
        "proxy[1].upstream",
        "proxy[2].name",
    ] {
        assert!(err.contains(key), "{key} in {err}");
    }
}
