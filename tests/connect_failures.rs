//! Failures before a single request byte reaches the origin, over real loopback sockets: a
//! refused connect (521), a connect that never completes (522), no route to the origin (523,
//! in a private network namespace), a name that does not resolve (530 with error 1016), static
//! `[dns] hosts` names and their address order, and the ray ID every answer carries.
mod support;

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use edgecase::config::Config;
use edgecase::demo::netns::{Loopback, isolate_this_thread};
use tokio::sync::oneshot;

use support::origins::Origin;
use support::visitor::{Response, get_with_host, raw_exchange, within};
use support::{CONNECT_MS, GUARD, assert_error_page, assert_took, ms, spawn_edge, test_config};

/// The Host every page test sends; the page shows it in its title and host box.
const HOST: &str = "shop.example.test";

/// Well under the connect timeout ([`CONNECT_MS`]): what "at once" means for a failure the
/// kernel reports without waiting on any timer.
const AT_ONCE: Duration = Duration::from_millis(500);

/// Replaces `config`'s `[dns]` with the given table body, parsed as the config file would be.
fn with_dns(mut config: Config, dns_table: &str) -> Config {
    let parsed =
        Config::from_toml_str(&format!("[dns]\n{dns_table}\n")).expect("the [dns] table is valid");
    config.dns = parsed.dns;
    config
}

/// Asserts `res` is the branded page for `status` with `title`, for [`HOST`], with the Host hop
/// failing and the ray's hex in the footer.
#[track_caller]
fn assert_branded_host_error(res: &Response, status: u16, title: &str) {
    support::assert_branded_host_error(res, HOST, status, title);
}

/// A request that asks the edge to close the connection after its answer, for [`raw_exchange`].
fn raw_get(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn refusing_origin_yields_521_at_once_with_the_host_marked_down() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    assert_branded_host_error(&res, 521, "Web server is down");
    assert!(
        res.elapsed < AT_ONCE,
        "a refused connect is answered at once, not after the {CONNECT_MS} ms connect \
         timeout: took {:?}",
        res.elapsed
    );
}

#[tokio::test]
async fn refused_521_status_line_says_origin_down() {
    let origin = Origin::refusing().await;
    let edge = spawn_edge(test_config(origin.addr())).await;

    let outcome = within(GUARD, raw_exchange(edge.addr(), &raw_get(HOST))).await;

    let status_line = outcome
        .bytes
        .split(|&b| b == b'\n')
        .next()
        .map(String::from_utf8_lossy)
        .expect("a status line");
    assert_eq!(status_line, "HTTP/1.1 521 Origin Down\r");
    assert!(outcome.is_clean_eof(), "ended with {:?}", outcome.end);
}

#[tokio::test]
async fn blackholed_origin_yields_522_after_the_connect_timeout_not_the_read_timeout() {
    let origin = Origin::blackhole().await;
    let mut config = test_config(origin.addr());
    config.timeouts.connect = ms(200);
    config.timeouts.read = ms(1_000);
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    assert_branded_host_error(&res, 522, "Connection timed out");
    // Upper bound well below the read timeout: the edge gave up at the connect timeout.
    assert_took(res.elapsed, ms(200), ms(150));
}

#[tokio::test]
async fn unreachable_origin_in_a_private_namespace_yields_523_at_once() {
    // A refusing origin: if the edge reached it at all, the answer would be 521, not 523.
    let origin = Origin::refusing().await;
    let config = test_config(origin.addr());
    // Bound here, in the test's own network namespace, before the edge thread leaves it: the
    // visitor connects from this namespace.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the edge on loopback");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener for tokio");
    let edge_addr = listener
        .local_addr()
        .expect("a bound listener has an address");

    let (isolated, isolation) = oneshot::channel::<io::Result<()>>();
    let (stop, stopped) = oneshot::channel::<()>();
    let edge_thread = std::thread::spawn(move || -> io::Result<()> {
        if let Err(e) = isolate_this_thread(Loopback::Down) {
            let _ = isolated.send(Err(e));
            return Ok(());
        }
        let _ = isolated.send(Ok(()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            edgecase::edge::serve(listener, config, async move {
                let _ = stopped.await;
            })
            .await
        })
    });
    let join_edge = || async move {
        let joined = tokio::task::spawn_blocking(move || edge_thread.join());
        within(GUARD, joined)
            .await
            .expect("the join task ran")
            .expect("the edge thread did not panic")
    };

    let isolated = within(GUARD, isolation)
        .await
        .expect("the edge thread reports whether it left the namespace");
    if let Err(e) = isolated {
        eprintln!("skipped: 523 needs a private network namespace (root on Linux): {e}");
        join_edge().await.expect("the edge thread gave up cleanly");
        return;
    }

    let res = within(GUARD, get_with_host(edge_addr, HOST, "/")).await;
    assert_branded_host_error(&res, 523, "Origin is unreachable");
    assert!(
        res.elapsed < AT_ONCE,
        "no route is known at once, not after the {CONNECT_MS} ms connect timeout: took {:?}",
        res.elapsed
    );

    let outcome = within(GUARD, raw_exchange(edge_addr, &raw_get(HOST))).await;
    assert!(
        outcome
            .bytes
            .starts_with(b"HTTP/1.1 523 Origin Unreachable\r\n"),
        "status line: {:?}",
        String::from_utf8_lossy(&outcome.bytes[..outcome.bytes.len().min(40)])
    );

    let _ = stop.send(());
    join_edge().await.expect("serve returned cleanly");
}

#[tokio::test]
async fn origin_name_missing_from_static_hosts_yields_530_error_1016() {
    let mut config = test_config("127.0.0.1:9".parse().expect("a socket address"));
    config.origin.address = "nowhere.test:80".parse().expect("a host:port");
    let config = with_dns(
        config,
        "system = false\nhosts = { \"origin.test\" = \"127.0.0.1\" }",
    );
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    let ray = assert_error_page(&res, 530);
    let page = res.text();
    assert!(
        page.contains(&format!(
            "<title>Origin DNS error | {HOST} | Cloudflare</title>"
        )),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"cf-error-code\">1016</span></h1>"),
        "{page}"
    );
    assert!(page.contains(&format!("Ray ID: {}", &ray[..16])));
    assert!(
        !page.contains("cf-host-status"),
        "the 1xxx layout has no diagram"
    );
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn origin_name_in_static_hosts_passes_through_with_the_visitors_host() {
    let origin = Origin::ok("resolved").await;
    let mut config = test_config(origin.addr());
    config.origin.address = format!("origin.test:{}", origin.addr().port())
        .parse()
        .expect("a host:port");
    let config = with_dns(
        config,
        "system = false\nhosts = { \"origin.test\" = \"127.0.0.1\" }",
    );
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/page")).await;

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "resolved");
    assert_eq!(res.header("server"), Some("cloudflare"));
    let seen = origin.last_request().expect("the origin saw the request");
    assert_eq!(seen.header("host"), Some(HOST));
    assert_eq!(seen.uri, "/page");
    assert_eq!(seen.header("cf-ray"), res.header("cf-ray"));
}

#[tokio::test]
async fn second_static_address_is_tried_when_the_first_refuses() {
    let origin = Origin::ok("second address").await;
    let port = origin.addr().port();
    let mut config = test_config(origin.addr());
    config.origin.address = format!("multi.test:{port}").parse().expect("a host:port");
    // Nothing listens on 127.0.0.2 (the origin is bound to 127.0.0.1 only): refused at once.
    let config = with_dns(
        config,
        "system = false\nhosts = { \"multi.test\" = [\"127.0.0.2\", \"127.0.0.1\"] }",
    );
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    assert_eq!(res.status(), 200, "body: {}", res.text());
    assert_eq!(res.text(), "second address");
    assert_eq!(origin.connections(), 1);
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn every_static_address_refusing_yields_521() {
    let origin = Origin::refusing().await;
    let port = origin.addr().port();
    let mut config = test_config(origin.addr());
    config.origin.address = format!("multi.test:{port}").parse().expect("a host:port");
    let config = with_dns(
        config,
        "system = false\nhosts = { \"multi.test\" = [\"127.0.0.1\", \"127.0.0.2\"] }",
    );
    let edge = spawn_edge(config).await;

    let res = within(GUARD, get_with_host(edge.addr(), HOST, "/")).await;

    assert_branded_host_error(&res, 521, "Web server is down");
    assert!(res.elapsed < AT_ONCE, "took {:?}", res.elapsed);
}

#[tokio::test]
async fn every_answer_carries_its_own_ray_id_ending_in_the_configured_colo() {
    const REQUESTS: usize = 20;
    let working = Origin::ok("fine").await;
    let refusing = Origin::refusing().await;
    let mut config = test_config(working.addr());
    config.edge.colo = "LHR".parse().expect("a colo");
    config.routes = Config::from_toml_str(&format!(
        "[[route]]\npath_prefix = \"/down\"\norigin = \"{}\"\n",
        refusing.addr()
    ))
    .expect("the route is valid")
    .routes;
    let edge = spawn_edge(config).await;

    let mut rays = HashSet::new();
    for i in 0..REQUESTS {
        let (path, status) = if i % 2 == 0 {
            ("/up", 200)
        } else {
            ("/down", 521)
        };
        let res = within(GUARD, get_with_host(edge.addr(), HOST, path)).await;
        let ray = if status == 200 {
            assert_eq!(res.status(), 200, "body: {}", res.text());
            let ray = res
                .header("cf-ray")
                .expect("cf-ray on a passthrough")
                .to_owned();
            support::assert_ray_format(&ray);
            ray
        } else {
            assert_error_page(&res, status)
        };
        assert!(ray.ends_with("-LHR"), "{ray}");
        assert!(rays.insert(ray.clone()), "ray {ray} was handed out twice");
    }
    assert_eq!(rays.len(), REQUESTS);
    assert_eq!(working.requests().len(), REQUESTS / 2);
}
