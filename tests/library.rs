//! The library's control API choice: an edge started from a config file serves the control API
//! only where the file names `[admin] listen` itself, so in-process edges never fight over the
//! default port 8081, and one that asks for it gets a working control API.
mod support;

use edgecase::EdgeBuilder;

use support::GUARD;
use support::origins::Origin;
use support::visitor::{get, within};

fn config_text(origin: &Origin, admin: &str) -> String {
    format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\n[origin]\naddress = \"{}\"\n\
         [dns]\nsystem = false\n{admin}",
        origin.addr()
    )
}

#[tokio::test]
async fn edges_from_config_files_leave_the_default_admin_port_alone() {
    let origin = Origin::ok("origin body").await;
    let mut edges = Vec::new();
    for _ in 0..3 {
        let builder = EdgeBuilder::from_toml(&config_text(&origin, "")).expect("valid config");
        let edge = within(GUARD, builder.start()).await.expect("starts");
        assert_eq!(edge.admin_addr(), None, "no control API unless asked for");
        let res = within(GUARD, get(edge.addr(), "/")).await;
        assert_eq!(res.status(), 200);
        edges.push(edge);
    }
    for edge in edges {
        within(GUARD, edge.shutdown())
            .await
            .expect("clean shutdown");
    }
}

#[tokio::test]
async fn an_admin_listen_in_the_file_starts_the_control_api() {
    let origin = Origin::ok("origin body").await;
    let text = config_text(&origin, "[admin]\nlisten = \"127.0.0.1:0\"\n");
    let builder = EdgeBuilder::from_toml(&text).expect("valid config");
    let edge = within(GUARD, builder.start()).await.expect("starts");
    let admin = edge.admin_addr().expect("the control API was asked for");
    let health = within(GUARD, get(admin, "/healthz")).await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text(), r#"{"status":"ok"}"#);
    let faults = within(GUARD, get(admin, "/faults")).await;
    assert_eq!(faults.text(), "[]");
    within(GUARD, edge.shutdown())
        .await
        .expect("clean shutdown");
}
