//! `edgecase diagnose` and what it is told: DNS through the static map (a missing name, one
//! name on two addresses with one dead), ORIGIN, `--host` and routes over the config file, a
//! route's own timeouts, ray seeds, IPv6, no route to the origin (in a network namespace of
//! its own), and the arguments that exit 2 with one clear line.
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;

use support::assert_took;
use support::binary::{EXIT_BAD_CONFIG, Outcome, assert_exit_code, assert_no_panic, run};
use support::diagnose::{
    DiagnoseConfig, Diagnosed, LONG_MS, SHORT_MS, SLACK, assert_proxy_agrees, diagnose,
    diagnose_without_config, millis,
};
use support::ms;
use support::origins::Origin;
use support::pki::TempDir;

/// The Host of a config's `[origin]` given as an IP address: the address itself.
const LOOPBACK: &str = "127.0.0.1";

/// Diagnoses `origin` (the config's `[origin] address`), no other argument.
async fn diagnose_origin(config: &DiagnoseConfig) -> Diagnosed {
    diagnose(config, &[]).await
}

// ---------------------------------------------------------------------------------------------
// DNS, through the static map
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn name_missing_from_the_static_map_fails_the_dns_stage_with_530_1016() {
    let config = DiagnoseConfig::new("missing.test:80").host("other.test", &["127.0.0.1"]);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("dns", 530, Some(1016), "dns_error");
    let dns = &d.stage("dns")["details"];
    assert_eq!(dns["name"], "missing.test", "{}", d.both());
    assert_eq!(dns["addresses"], Value::Array(Vec::new()), "{}", d.both());
    assert!(
        d.row("dns").seen_text().contains("missing.test"),
        "{}",
        d.both()
    );
    assert_eq!(d.result("connect"), "skipped");
    assert_proxy_agrees(&config, "missing.test", "/", &d).await;
}

#[tokio::test]
async fn name_in_the_static_map_resolves_from_it() {
    let origin = Origin::ok("mapped").await;
    let port = origin.addr().port();
    let config =
        DiagnoseConfig::new(format!("origin.test:{port}")).host("origin.test", &[LOOPBACK]);

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    let dns = &d.stage("dns")["details"];
    assert_eq!(dns["source"], "static", "{}", d.both());
    assert_eq!(
        dns["addresses"],
        serde_json::json!([LOOPBACK]),
        "{}",
        d.both()
    );
    assert!(
        d.row("dns").seen_text().contains("[dns] hosts"),
        "{}",
        d.both()
    );
    assert_eq!(d.json["subject"]["host"], "origin.test");
}

/// A working origin on `127.0.0.2` and a refusing port on `127.0.0.3`, both on the same port
/// number (for one name resolving to both), or `None` if that port is taken on `127.0.0.3`.
async fn two_addresses() -> (Origin, Origin) {
    for _ in 0..20 {
        let ok = Origin::ok_at(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0),
            "second",
        )
        .await
        .expect("bind 127.0.0.2:0 (all of 127/8 is loopback on Linux)");
        let port = ok.addr().port();
        let refusing_at = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), port);
        if let Ok(refusing) = Origin::refusing_at(refusing_at) {
            return (ok, refusing);
        }
    }
    panic!("no port free on both 127.0.0.2 and 127.0.0.3 in 20 tries");
}

/// The [`two_addresses`] origins behind the name `multi.test`, which the static map resolves
/// to `order` (`127.0.0.2` works, `127.0.0.3` refuses), and the config that says so:
/// `(working, refusing, config)`.
async fn multi_test_on_two_addresses(order: &[&str]) -> (Origin, Origin, DiagnoseConfig) {
    let (ok, refusing) = two_addresses().await;
    let port = ok.addr().port();
    let config = DiagnoseConfig::new(format!("multi.test:{port}")).host("multi.test", order);
    (ok, refusing, config)
}

/// The connect stage's details in `d`, and the `addresses` it lists (one per address tried).
#[track_caller]
fn connect_attempts(d: &Diagnosed) -> (&Value, &[Value]) {
    let connect = &d.stage("connect")["details"];
    let attempts = connect["addresses"].as_array().expect("addresses");
    (connect, attempts)
}

/// Asserts one entry of the connect stage's `addresses`: the address tried, how it went, and
/// whether the edge's own connect tried it (`false`: checked on the side). `all` is the
/// diagnosis, for the failure message.
#[track_caller]
fn assert_attempt(
    attempt: &Value,
    address: SocketAddr,
    outcome: &str,
    tried_by_edge: bool,
    all: &str,
) {
    assert_eq!(attempt["address"], address.to_string(), "{all}");
    assert_eq!(attempt["outcome"], outcome, "{all}");
    assert_eq!(attempt["tried_by_edge"], tried_by_edge, "{all}");
}

#[tokio::test]
async fn first_address_refusing_and_second_working_warns_at_the_connect_stage() {
    let (ok, refusing, config) = multi_test_on_two_addresses(&["127.0.0.3", "127.0.0.2"]).await;

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_warning("connect");
    let all = d.both();
    let (connect, attempts) = connect_attempts(&d);
    assert_eq!(connect["connected"], ok.addr().to_string(), "{all}");
    assert_eq!(attempts.len(), 2, "{all}");
    assert_attempt(&attempts[0], refusing.addr(), "refused", true, &all);
    assert_eq!(attempts[0]["status"], 521, "{all}");
    assert_attempt(&attempts[1], ok.addr(), "connected", true, &all);
    assert_eq!(attempts[1]["status"], Value::Null, "{all}");
    let seen = d.row("connect").seen_text();
    assert!(seen.contains(&refusing.addr().to_string()), "{all}");
    assert!(seen.contains(&ok.addr().to_string()), "{all}");
    let dns = &d.stage("dns")["details"]["addresses"];
    assert_eq!(dns, &serde_json::json!(["127.0.0.3", "127.0.0.2"]), "{all}");
    assert_proxy_agrees(&config, "multi.test", "/", &d).await;
}

#[tokio::test]
async fn second_address_refusing_is_checked_on_the_side_and_warns() {
    let (ok, refusing, config) = multi_test_on_two_addresses(&["127.0.0.2", "127.0.0.3"]).await;

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    d.assert_warning("connect");
    let all = d.both();
    let (connect, attempts) = connect_attempts(&d);
    assert_eq!(connect["connected"], ok.addr().to_string(), "{all}");
    assert_eq!(attempts.len(), 2, "{all}");
    assert_attempt(&attempts[0], ok.addr(), "connected", true, &all);
    assert_attempt(&attempts[1], refusing.addr(), "refused", false, &all);
    assert_eq!(attempts[1]["status"], 521, "{all}");
    assert!(
        d.row("connect").seen_text().contains("checked on the side"),
        "{all}"
    );
}

#[tokio::test]
async fn first_address_unanswered_uses_up_the_connect_timeout_and_the_second_is_checked_aside() {
    // One connect budget for all the addresses: the edge never gets to the second, which
    // works; the diagnosis shows it on the side.
    let blackhole = Origin::blackhole().await;
    let port = blackhole.addr().port();
    let second = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), port);
    let Ok(ok) = Origin::ok_at(second, "second").await else {
        eprintln!("skipped: port {port} is taken on 127.0.0.2");
        return;
    };
    let config = DiagnoseConfig::new(format!("multi.test:{port}"))
        .host("multi.test", &["127.0.0.1", "127.0.0.2"])
        .connect_ms(SHORT_MS);

    let d = diagnose_origin(&config).await;

    d.assert_edge_error("connect", 522, None, "connect_timeout");
    let all = d.both();
    assert_took(millis(&d.stage("connect")["ms"]), ms(SHORT_MS), SLACK);
    let (_, attempts) = connect_attempts(&d);
    assert_eq!(attempts.len(), 2, "{all}");
    assert_attempt(
        &attempts[0],
        blackhole.addr(),
        "connect_timeout",
        true,
        &all,
    );
    assert_attempt(&attempts[1], ok.addr(), "connected", false, &all);
    assert!(
        d.row("connect").seen_text().contains("checked on the side"),
        "{all}"
    );
    assert_proxy_agrees(&config, "multi.test", "/", &d).await;
}

// ---------------------------------------------------------------------------------------------
// ORIGIN and routes over the config file
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn origin_argument_replaces_the_configs_origin() {
    let refusing = Origin::refusing().await;
    let origin = Origin::ok("from the argument").await;
    let config = DiagnoseConfig::new(refusing.addr());
    let address = origin.addr().to_string();

    let d = diagnose(&config, &[&address]).await;

    d.assert_origin_answer(200);
    assert_eq!(d.json["subject"]["origin"], address, "{}", d.both());
    origin.requests_seen(2).await;
}

#[tokio::test]
async fn host_picks_the_route_and_its_origin() {
    let refusing = Origin::refusing().await;
    let origin = Origin::ok("default origin").await;
    let config = DiagnoseConfig::new(origin.addr()).tail(&format!(
        "[[route]]\nhost = \"api.test\"\norigin = \"{}\"\n",
        refusing.addr()
    ));

    let routed = diagnose(&config, &["--host", "api.test"]).await;
    let unrouted = diagnose(&config, &["--host", "www.test"]).await;

    routed.assert_edge_error("connect", 521, None, "refused");
    assert_eq!(routed.json["subject"]["route"], 0, "{}", routed.both());
    assert_eq!(routed.json["subject"]["host"], "api.test");
    assert!(routed.table.contains("route #1"), "{}", routed.table);
    assert_proxy_agrees(&config, "api.test", "/", &routed).await;
    unrouted.assert_origin_answer(200);
    assert_eq!(unrouted.json["subject"]["route"], Value::Null);
    assert_proxy_agrees(&config, "www.test", "/", &unrouted).await;
}

#[tokio::test]
async fn ray_seed_makes_the_ray_ids_reproducible() {
    let origin = Origin::ok("seeded").await;
    let config = DiagnoseConfig::new(origin.addr()).edge("ray_seed", "42");

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    let ray = d.json["ray"].as_str().expect("a ray ID");
    assert!(
        d.table.contains(&format!("· ray {ray}")),
        "the table run, seeded alike, shows the same ray {ray}:\n{}",
        d.table
    );
    origin.requests_seen(4).await;
    let first_rays = origin
        .requests()
        .iter()
        .filter(|r| r.header("cf-ray") == Some(ray))
        .count();
    assert_eq!(first_rays, 2, "both runs sent the seeded ray first");
}

#[tokio::test]
async fn origin_without_a_config_file_is_diagnosed_with_the_defaults() {
    let origin = Origin::ok("no config").await;
    let address = origin.addr().to_string();

    let d = diagnose_without_config(&[&address]).await;

    d.assert_origin_answer(200);
    // Automatic SSL/TLS, Cloudflare's default: the probe finds a port that does not speak TLS,
    // so the HTTPS visitor's request goes in plain.
    assert_eq!(d.json["subject"]["ssl"], "automatic:flexible");
    assert_eq!(d.json["subject"]["visitor_scheme"], "https");
    // The classic profile's timeouts, as for the proxy.
    let timeouts = &d.json["subject"]["timeouts_ms"];
    assert_eq!(timeouts["connect"], 15_000);
    assert_eq!(timeouts["read"], 100_000);
    let url = format!("http://{address}/");
    let d = diagnose_without_config(&[&url]).await;
    d.assert_origin_answer(200);
    assert_eq!(d.json["subject"]["visitor_scheme"], "http");
}

// ---------------------------------------------------------------------------------------------
// Bad arguments: exit 2, one clear line on stderr, nothing on stdout
// ---------------------------------------------------------------------------------------------

/// Asserts `edgecase diagnose args...` is refused: exit 2, no panic, nothing on stdout, and
/// stderr holding `needle`.
#[track_caller]
fn assert_refused(outcome: &Outcome, needle: &str) {
    assert_exit_code(outcome, EXIT_BAD_CONFIG);
    assert_no_panic(outcome);
    assert!(
        outcome.stdout.trim().is_empty(),
        "nothing on stdout: {}",
        outcome.stdout
    );
    assert!(
        outcome.stderr.contains(needle),
        "stderr should say {needle:?}:\n{}",
        outcome.stderr
    );
}

#[tokio::test]
async fn no_origin_and_no_config_is_refused() {
    let outcome = run(&["diagnose"]).await;
    assert_refused(
        &outcome,
        "edgecase diagnose: name the origin to check (HOST:PORT or a URL), or give --config FILE",
    );
}

#[tokio::test]
async fn unknown_ssl_mode_is_refused() {
    let outcome = run(&["diagnose", "127.0.0.1:1", "--ssl", "bogus"]).await;
    assert_refused(&outcome, "bogus");
    assert!(outcome.stderr.contains("--ssl"), "{}", outcome.stderr);
}

#[tokio::test]
async fn path_without_a_slash_is_refused() {
    let outcome = run(&["diagnose", "127.0.0.1:1", "--path", "nope"]).await;
    assert_refused(
        &outcome,
        "edgecase diagnose: --path \"nope\" must be a path",
    );
}

#[tokio::test]
async fn bad_host_is_refused() {
    let outcome = run(&["diagnose", "127.0.0.1:1", "--host", "a b"]).await;
    assert_refused(
        &outcome,
        "edgecase diagnose: --host \"a b\" is not a host name",
    );
}

#[tokio::test]
async fn origin_without_a_port_is_refused() {
    let outcome = run(&["diagnose", "localhost"]).await;
    assert_refused(
        &outcome,
        "edgecase diagnose: \"localhost\" is not an origin",
    );
    assert!(outcome.stderr.contains("port"), "{}", outcome.stderr);
}

#[tokio::test]
async fn ftp_url_is_refused() {
    let outcome = run(&["diagnose", "ftp://x/"]).await;
    assert_refused(&outcome, "only http:// and https:// URLs can be checked");
}

#[tokio::test]
async fn invalid_config_file_is_refused_naming_the_key() {
    let dir = TempDir::new("diagnose-bad-config");
    let file = dir.write(
        "edgecase.toml",
        "[origin]\naddress = \"127.0.0.1:1\"\n[timeouts]\nread = \"soon\"\n",
    );
    let outcome = run(&["diagnose", "--config", file.to_str().expect("UTF-8")]).await;
    assert_refused(&outcome, "timeouts.read");
    assert!(
        outcome.stderr.contains(&file.display().to_string()),
        "names the file: {}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .lines()
            .all(|line| line.starts_with("edgecase diagnose: ")),
        "{}",
        outcome.stderr
    );
}

#[tokio::test]
async fn missing_config_file_is_refused() {
    let dir = TempDir::new("diagnose-missing-config");
    let file = dir.path().join("nowhere.toml");
    let outcome = run(&["diagnose", "--config", file.to_str().expect("UTF-8")]).await;
    assert_refused(&outcome, &file.display().to_string());
    assert!(outcome.stderr.contains("cannot read"), "{}", outcome.stderr);
}

#[tokio::test]
async fn unknown_flag_is_refused() {
    let outcome = run(&["diagnose", "127.0.0.1:1", "--colour"]).await;
    assert_refused(&outcome, "--colour");
}

// ---------------------------------------------------------------------------------------------
// Routes' timeouts, IPv6, no route to the origin
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn route_for_the_path_brings_its_own_read_timeout() {
    let origin = Origin::silent().await;
    let config = DiagnoseConfig::new(origin.addr()).tail(&format!(
        "[[route]]\npath_prefix = \"/slow/\"\ntimeouts = {{ read = \"{SHORT_MS}ms\" }}\n"
    ));

    let d = diagnose(&config, &["--path", "/slow/report"]).await;

    d.assert_edge_error("http", 524, None, "read_timeout");
    assert_eq!(d.json["subject"]["route"], 0, "{}", d.both());
    assert_eq!(d.json["subject"]["timeouts_ms"]["read"], SHORT_MS);
    assert_took(millis(&d.stage("http")["ms"]), ms(SHORT_MS), SLACK);
}

#[tokio::test]
async fn ipv6_literal_origin_is_diagnosed_with_a_bracketed_host() {
    let any = SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 0);
    let origin = match Origin::ok_at(any, "over IPv6").await {
        Ok(origin) => origin,
        Err(e) => {
            eprintln!("skipped: this machine has no IPv6 loopback ([::1]): {e}");
            return;
        }
    };
    let address = origin.addr().to_string();
    let config = DiagnoseConfig::new(&address);

    let d = diagnose_origin(&config).await;

    d.assert_origin_answer(200);
    let subject = &d.json["subject"];
    assert_eq!(subject["host"], "[::1]", "{}", d.both());
    assert_eq!(subject["url"], "http://[::1]/", "{}", d.both());
    assert_eq!(subject["origin"], address, "{}", d.both());
    assert_eq!(
        origin
            .last_request()
            .and_then(|r| r.header("host").map(str::to_owned)),
        Some("[::1]".to_owned())
    );
}

/// Runs `edgecase diagnose args...` to its end in a network namespace of its own, where even
/// loopback is down (so every connect fails with "network unreachable"); `Err` when this
/// process may not make one (not root).
async fn run_without_a_network(args: Vec<String>) -> std::io::Result<Outcome> {
    use std::os::unix::process::CommandExt;
    let run = move || {
        let mut command = std::process::Command::new(support::binary::BIN);
        command
            .args(&args)
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::null());
        // SAFETY: between fork and exec the closure only calls unshare(2), which is
        // async-signal-safe, and reads errno.
        unsafe {
            command.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNET) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        command.output()
    };
    let output = support::visitor::within(support::GUARD, tokio::task::spawn_blocking(run))
        .await
        .expect("the blocking task ran")?;
    Ok(Outcome {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[tokio::test]
async fn no_route_to_the_origin_fails_the_connect_stage_with_523() {
    let config = DiagnoseConfig::new("127.0.0.1:1");
    let path = config.write();
    let args = |json: bool| {
        let mut args: Vec<String> = ["diagnose", "--config"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        args.push(path.display().to_string());
        if json {
            args.push("--json".to_owned());
        }
        args
    };
    let table_run = match run_without_a_network(args(false)).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("skipped: 523 needs a private network namespace (root on Linux): {e}");
            return;
        }
    };
    let json_run = run_without_a_network(args(true))
        .await
        .expect("the namespace worked once");
    assert_no_panic(&table_run);
    assert_no_panic(&json_run);
    let d = Diagnosed {
        json: support::diagnose::parse_json(&json_run),
        table: table_run.stdout.clone(),
        table_run,
        json_run,
    };

    d.assert_edge_error("connect", 523, None, "unreachable");
    assert!(
        millis(&d.stage("connect")["ms"]) < ms(LONG_MS / 2),
        "no route is known at once, not after the connect timeout: {}",
        d.both()
    );
}
