//! Tests of the whole config pipeline, text to [`Config`]: defaults, profiles, every validation
//! rule, error reporting, routing, overrides and the shipped files. Syntax details of durations
//! and addresses are tested beside their parsers.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::normalize::Normalized;

const DURATION_HINT: &str = "write it with a unit, like \"15s\", \"250ms\" or \"1m30s\"";

fn load(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|error| panic!("should load, got:\n{error}"))
}

fn problems(text: &str) -> Vec<Problem> {
    match Config::from_toml_str(text) {
        Ok(config) => panic!("should be refused, loaded {config:?}"),
        Err(error) => {
            assert_eq!(error.file, None);
            assert!(!error.problems.is_empty());
            error.problems
        }
    }
}

/// The one problem with `text`, as `key: why`.
fn problem(text: &str) -> String {
    let problems = problems(text);
    assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
    problems[0].to_string()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn config_empty_text_gives_classic_defaults() {
    let config = load("");
    assert_eq!(config, Config::default());
    assert_eq!(
        config.edge.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.edge.colo.as_str(), "CDG");
    assert_eq!(config.edge.shutdown_grace, secs(10));
    assert_eq!(config.origin.address.to_string(), "127.0.0.1:3000");
    assert_eq!(config.origin.ssl, SslMode::Automatic);
    assert_eq!(config.origin.ssl_probe_interval, secs(3600));
    assert_eq!(config.profile, Profile::Classic);
    let expected = OriginTimeouts {
        connect: secs(15),
        ack: secs(90),
        write: secs(30),
        read: secs(100),
    };
    assert_eq!(config.timeouts, expected);
    assert_eq!(config.limits.origin_header_bytes, 16384);
    assert!(config.dns.system);
    assert!(config.dns.hosts.is_empty());
    assert!(config.routes.is_empty());
    assert_eq!(Config::defaults_with(&Overrides::default()), Ok(config));
}

#[test]
fn config_empty_tables_give_defaults_too() {
    let text = "[edge]\n[origin]\n[timeouts]\n[limits]\n[dns]\n";
    assert_eq!(load(text), Config::default());
}

#[test]
fn config_current_profile_sets_2026_values() {
    let config = load("[timeouts]\nprofile = \"current\"\n");
    assert_eq!(config.profile, Profile::Current);
    let expected = OriginTimeouts {
        connect: secs(19),
        ack: secs(90),
        write: secs(30),
        read: secs(125),
    };
    assert_eq!(config.timeouts, expected);
    assert_eq!(config.limits.origin_header_bytes, 131072);
    assert_eq!(
        load("[timeouts]\nprofile = \"classic\"\n"),
        Config::default()
    );
}

#[test]
fn config_explicit_keys_override_either_profile() {
    let text = "[timeouts]\nprofile = \"current\"\nread = \"5s\"\n\
                [limits]\norigin_header_bytes = 2048\n";
    let config = load(text);
    assert_eq!(config.timeouts.read, secs(5));
    assert_eq!(
        config.timeouts.connect,
        secs(19),
        "the profile still supplies the rest"
    );
    assert_eq!(config.limits.origin_header_bytes, 2048);

    let config = load("[timeouts]\nconnect = \"1m30s\"\nack = \"2m\"\nwrite = \"1h\"\n");
    assert_eq!(config.profile, Profile::Classic);
    assert_eq!(config.timeouts.connect, secs(90));
    assert_eq!(config.timeouts.ack, secs(120));
    assert_eq!(config.timeouts.write, secs(3600));
    assert_eq!(config.timeouts.read, secs(100));
}

#[test]
fn config_every_key_loads() {
    let text = r#"
        [edge]
        listen = "[::1]:0"
        colo = "SJC"
        shutdown_grace = "0s"
        [origin]
        address = "Origin.Test:80"
        ssl = "flexible"
        [timeouts]
        profile = "classic"
        connect = "250ms"
        ack = "1s500ms"
        write = "1h"
        read = "6000s"
        [limits]
        origin_header_bytes = 1048576
        [dns]
        system = false
        hosts = { "Origin.Test" = "127.0.0.1", "v6.test" = ["::1", "127.0.0.2"] }
        [[route]]
        host = "API.example.test"
        path_prefix = "/api/"
        origin = "[::1]:3001"
        timeouts = { connect = "1ms", ack = "2ms", write = "3ms", read = "4ms" }
        [[route]]
    "#;
    let config = load(text);
    assert_eq!(
        config.edge.listen,
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
    );
    assert_eq!(config.edge.colo.as_str(), "SJC");
    assert_eq!(config.edge.shutdown_grace, Duration::ZERO);
    assert_eq!(config.origin.address.host, "origin.test");
    assert_eq!(config.origin.ssl, SslMode::Flexible);
    assert_eq!(config.timeouts.connect, ms(250));
    assert_eq!(config.timeouts.ack, ms(1500));
    assert_eq!(config.timeouts.read, secs(6000));
    assert_eq!(config.limits.origin_header_bytes, 1048576);
    assert!(!config.dns.system);
    assert_eq!(
        config.dns.hosts["origin.test"],
        vec![IpAddr::from([127, 0, 0, 1])]
    );
    assert_eq!(
        config.dns.hosts["v6.test"],
        vec![
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::from([127, 0, 0, 2])
        ]
    );
    let route = &config.routes[0];
    assert_eq!(route.host.as_deref(), Some("api.example.test"));
    assert_eq!(route.path_prefix.as_deref(), Some("/api/"));
    assert_eq!(
        route.origin.as_ref().map(ToString::to_string).as_deref(),
        Some("[::1]:3001")
    );
    let expected = PartialTimeouts {
        connect: Some(ms(1)),
        ack: Some(ms(2)),
        write: Some(ms(3)),
        read: Some(ms(4)),
    };
    assert_eq!(route.timeouts, expected);
    assert_eq!(
        config.routes[1],
        Route::default(),
        "an empty [[route]] is allowed"
    );
}

#[test]
fn config_each_duration_form_loads() {
    let cases = [
        ("15s", secs(15)),
        ("250ms", ms(250)),
        ("1m30s", secs(90)),
        ("2m", secs(120)),
        ("1h", secs(3600)),
        ("1h2m3s500ms", ms(3_723_500)),
        ("1ms", ms(1)),
    ];
    for (text, expected) in cases {
        let config = load(&format!("[timeouts]\nread = {text:?}\n"));
        assert_eq!(config.timeouts.read, expected, "{text:?}");
    }
}

#[test]
fn config_bare_number_and_unitless_string_name_the_key() {
    assert_eq!(
        problem("[timeouts]\nread = \"15\"\n"),
        format!("timeouts.read: \"15\" is not a duration; {DURATION_HINT}")
    );
    assert_eq!(
        problem("[timeouts]\nread = 15\n"),
        format!("timeouts.read: 15 is not a duration; {DURATION_HINT}")
    );
    assert_eq!(
        problem("[timeouts]\nread = 1.5\n"),
        format!("timeouts.read: 1.5 is not a duration; {DURATION_HINT}")
    );
    assert_eq!(
        problem("[timeouts]\nread = \"\"\n"),
        format!("timeouts.read: \"\" is not a duration; {DURATION_HINT}")
    );
}

#[test]
fn config_each_bad_duration_is_refused_with_its_key() {
    for bad in ["1.5s", "-1s", "1 s", "15sec", "30s1m", "s", "1m30"] {
        let found = problem(&format!("[edge]\nshutdown_grace = {bad:?}\n"));
        let prefix = format!("edge.shutdown_grace: {bad:?} is not a duration; {DURATION_HINT}");
        assert!(found.starts_with(&prefix), "{found}");
    }
    let found = problem("[timeouts]\nconnect = \"99999999999999999999s\"\n");
    assert_eq!(
        found,
        "timeouts.connect: \"99999999999999999999s\" is too long to be a duration"
    );
}

#[test]
fn config_duration_of_wrong_type_is_a_type_error() {
    let found = problem("[timeouts]\nread = true\n");
    assert!(
        found.starts_with("timeouts.read: invalid type: boolean `true`"),
        "{found}"
    );
    assert!(
        found.contains("expected a duration with its unit"),
        "{found}"
    );
    assert!(found.ends_with("(line 2)"), "{found}");
}

#[test]
fn config_timeouts_must_be_positive_and_bounded() {
    assert_eq!(
        problem("[timeouts]\nconnect = \"0s\"\n"),
        "timeouts.connect: \"0s\" is zero; a timeout must be at least 1ms"
    );
    assert_eq!(
        problem("[timeouts]\nread = \"0ms\"\n"),
        "timeouts.read: \"0ms\" is zero; a timeout must be at least 1ms"
    );
    assert_eq!(
        problem("[timeouts]\nread = \"6000s1ms\"\n"),
        "timeouts.read: \"6000s1ms\" is more than 6000s, Cloudflare's Enterprise maximum for \
         the read timeout"
    );
    assert_eq!(
        load("[timeouts]\nread = \"1h40m\"\n").timeouts.read,
        secs(6000)
    );
    for phase in ["connect", "ack", "write"] {
        assert_eq!(
            problem(&format!("[timeouts]\n{phase} = \"1h1ms\"\n")),
            format!(
                "timeouts.{phase}: \"1h1ms\" is more than 1h, the longest connect, ack or write \
                 timeout edgecase accepts"
            )
        );
        let config = load(&format!("[timeouts]\n{phase} = \"60m\"\n"));
        assert_eq!(
            config.target(&Normalized::new("a", "/")).timeouts,
            config.timeouts
        );
    }
    assert_eq!(
        load("[timeouts]\nread = \"1ms\"\n").timeouts.read,
        ms(1),
        "below 1s is allowed"
    );
}

#[test]
fn config_shutdown_grace_may_be_zero_but_not_over_an_hour() {
    assert_eq!(
        load("[edge]\nshutdown_grace = \"0s\"\n")
            .edge
            .shutdown_grace,
        Duration::ZERO
    );
    assert_eq!(
        problem("[edge]\nshutdown_grace = \"61m\"\n"),
        "edge.shutdown_grace: \"61m\" is more than 1h, the longest shutdown grace edgecase accepts"
    );
}

#[test]
fn config_origin_header_bytes_must_be_between_1k_and_1m() {
    for good in [1024, 16384, 1048576] {
        let config = load(&format!("[limits]\norigin_header_bytes = {good}\n"));
        assert_eq!(config.limits.origin_header_bytes, good);
    }
    for bad in ["1023", "1048577", "0", "-1"] {
        assert_eq!(
            problem(&format!("[limits]\norigin_header_bytes = {bad}\n")),
            format!(
                "limits.origin_header_bytes: {bad} is not between 1024 and 1048576 (1 KiB and \
                 1 MiB)"
            )
        );
    }
}

#[test]
fn config_ssl_accepts_the_six_modes_and_explains_the_rest() {
    for mode in SslMode::ALL {
        let text = format!("[origin]\nssl = \"{mode}\"\n");
        assert_eq!(load(&text).origin.ssl, mode);
        let text = format!("[[route]]\nhost = \"a.test\"\nssl = \"{mode}\"\n");
        assert_eq!(load(&text).routes[0].ssl, Some(mode));
    }
    for word in ["Full", "tls", ""] {
        assert_eq!(
            problem(&format!("[origin]\nssl = {word:?}\n")),
            format!(
                "origin.ssl: {word:?} is not an SSL mode; choose one of \"automatic\" (the \
                 default), \"off\", \"flexible\", \"full\", \"full_strict\" or \"strict\""
            )
        );
    }
}

#[test]
fn config_modes_display_as_their_config_words() {
    let words: Vec<String> = SslMode::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(
        words,
        [
            "automatic",
            "off",
            "flexible",
            "full",
            "full_strict",
            "strict"
        ]
    );
    for mode in SslMode::ALL {
        assert_eq!(mode.to_string().parse::<SslMode>(), Ok(mode));
    }
    assert_eq!(Profile::Classic.to_string(), "classic");
    assert_eq!(Profile::Current.to_string(), "current");
    assert_eq!("current".parse::<Profile>(), Ok(Profile::Current));
}

#[test]
fn config_unknown_profile_is_named() {
    assert_eq!(
        problem("[timeouts]\nprofile = \"modern\"\n"),
        "timeouts.profile: \"modern\" is not a profile; choose \"classic\" or \"current\""
    );
}

#[test]
fn config_colo_uses_colo_parsing() {
    assert_eq!(
        problem("[edge]\ncolo = \"cdg\"\n"),
        "edge.colo: must be three uppercase letters (an IATA code such as \"CDG\"), not \"cdg\""
    );
}

#[test]
fn config_listen_must_be_a_socket_address() {
    let cases = [
        (
            "localhost:8080",
            "\"localhost:8080\": \"localhost\" is not an IP address",
        ),
        ("127.0.0.1", "\"127.0.0.1\" has no port"),
        (
            "::1:8080",
            "\"::1:8080\" is an IPv6 address without a port; write it in brackets",
        ),
        (
            "fe80::1:99999",
            "\"fe80::1:99999\": an IPv6 address goes in brackets",
        ),
        ("127.0.0.1:http", "\"127.0.0.1:http\" has port \"http\""),
    ];
    for (text, start) in cases {
        let found = problem(&format!("[edge]\nlisten = {text:?}\n"));
        assert!(
            found.starts_with(&format!("edge.listen: {start}")),
            "{found}"
        );
    }
}

#[test]
fn config_origin_addresses_are_checked_in_origin_and_routes() {
    let found = problem("[origin]\naddress = \"127.0.0.1\"\n");
    assert!(
        found.starts_with("origin.address: \"127.0.0.1\" has no port"),
        "{found}"
    );
    let found = problem("[[route]]\n[[route]]\norigin = \"a:0\"\n");
    assert_eq!(
        found,
        "route[1].origin: \"a:0\" has port \"0\"; a port is a number from 1 to 65535"
    );
    let found = problem("[origin]\naddress = \"::1:3000\"\n");
    assert!(
        found.contains("an IPv6 address goes in brackets"),
        "{found}"
    );
    let config = load("[origin]\naddress = \"[::1]:3000\"\n");
    assert_eq!(
        config.origin.address.ip(),
        Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
    );
}

#[test]
fn config_dns_hosts_are_lowercased_and_parsed() {
    let config = load("[dns]\nhosts = { \"Origin.TEST\" = \"10.0.0.1\" }\n");
    assert_eq!(
        config.dns.hosts["origin.test"],
        vec![IpAddr::from([10, 0, 0, 1])]
    );

    assert_eq!(
        problem("[dns]\nhosts = { \"origin.test\" = [] }\n"),
        "dns.hosts.\"origin.test\": is an empty list; give at least one IP address, or remove \
         the name"
    );
    assert_eq!(
        problem("[dns]\nhosts = { \"origin.test\" = \"localhost\" }\n"),
        "dns.hosts.\"origin.test\": \"localhost\" is not an IP address, like \"127.0.0.1\" or \
         \"::1\""
    );
    assert_eq!(
        problem("[dns]\nhosts = { single = [\"127.0.0.1\", \"[::1]\"] }\n"),
        "dns.hosts.single[1]: \"[::1]\" is not an IP address, like \"127.0.0.1\" or \"::1\""
    );
    assert_eq!(
        problem("[dns]\nhosts = { \"bad name\" = \"127.0.0.1\" }\n"),
        "dns.hosts.\"bad name\": \"bad name\" is not a host name"
    );
    assert_eq!(
        problem("[dns.hosts]\n\"a.test\" = \"127.0.0.1\"\n\"A.test\" = \"127.0.0.2\"\n"),
        "dns.hosts.\"a.test\": \"a.test\" is the same name as \"A.test\" (names are not \
         case-sensitive)"
    );
}

#[test]
fn config_dns_value_of_wrong_type_is_a_type_error_with_its_path() {
    let found = problem("[dns]\nhosts = { \"a.test\" = [\"127.0.0.1\", 7] }\n");
    assert!(
        found.starts_with("dns.hosts.\"a.test\"[1]: invalid type: integer `7`"),
        "{found}"
    );
    let found = problem("[dns]\nhosts = { \"a.test\" = 7 }\n");
    assert!(
        found.starts_with("dns.hosts.\"a.test\": invalid type: integer `7`"),
        "{found}"
    );
    assert!(
        found.contains("expected an IP address string or a list of them"),
        "{found}"
    );
    let found = problem("[dns]\nsystem = \"yes\"\n");
    assert!(
        found.starts_with("dns.system: invalid type: string \"yes\""),
        "{found}"
    );
}

#[test]
fn config_route_rules_are_checked() {
    assert_eq!(
        problem("[[route]]\npath_prefix = \"api/\"\n"),
        "route[0].path_prefix: \"api/\" does not start with \"/\"; write it like \"/api/\""
    );
    assert_eq!(
        problem("[[route]]\npath_prefix = \"//%61pi/\"\n"),
        "route[0].path_prefix: \"//%61pi/\" can never match: rules see the normalized path; \
         write it as \"/api/\""
    );
    assert_eq!(
        problem("[[route]]\nhost = \"a.test:8080\"\n"),
        "route[0].host: \"a.test:8080\" has a port; write the name alone (the port in the Host \
         header is ignored)"
    );
    assert_eq!(
        problem("[[route]]\nhost = \"\"\n"),
        "route[0].host: is empty; leave `host` out to match every host"
    );
    assert_eq!(
        problem("[[route]]\ntimeouts = { read = \"7000s\" }\n"),
        "route[0].timeouts.read: \"7000s\" is more than 6000s, Cloudflare's Enterprise maximum \
         for the read timeout"
    );
}

#[test]
fn config_reports_every_problem_at_once_in_file_order() {
    let text = r#"
        [edge]
        listen = "nowhere"
        colo = "Paris"
        [origin]
        address = "origin.test"
        ssl = "fully"
        [timeouts]
        profile = "fast"
        read = "15"
        [limits]
        origin_header_bytes = 10
        [dns]
        hosts = { "origin.test" = [] }
        [[route]]
        host = "ok.test"
        [[route]]
        path_prefix = "slow"
        timeouts = { read = "0s", connect = "2h" }
    "#;
    let keys: Vec<String> = problems(text)
        .into_iter()
        .map(|problem| problem.key)
        .collect();
    assert_eq!(
        keys,
        [
            "edge.listen",
            "edge.colo",
            "origin.address",
            "origin.ssl",
            "timeouts.profile",
            "timeouts.read",
            "limits.origin_header_bytes",
            "dns.hosts.\"origin.test\"",
            "route[1].path_prefix",
            "route[1].timeouts.connect",
            "route[1].timeouts.read",
        ]
    );
    let error = Config::from_toml_str(text).expect_err("invalid");
    let shown = error.to_string();
    assert_eq!(shown.lines().count(), 11, "one line per problem:\n{shown}");
    assert!(
        shown
            .lines()
            .nth(5)
            .unwrap()
            .starts_with("timeouts.read: \"15\" is not a duration")
    );
}

#[test]
fn config_unknown_key_is_named_with_its_path_and_line() {
    assert_eq!(
        problem("[edge]\nlisten = \"127.0.0.1:8080\"\nlisen = \"x\"\n"),
        "edge.lisen: unknown key \"lisen\"; did you mean \"listen\"? (line 3)"
    );
    assert_eq!(
        problem("[[route]]\n[[route]]\ntimeouts = { profile = \"current\" }\n"),
        "route[1].timeouts.profile: unknown key \"profile\"; the keys here are \"connect\", \
         \"ack\", \"write\", \"read\" (line 3)"
    );
    assert_eq!(
        problem("colo = \"CDG\"\n"),
        "colo: unknown key \"colo\"; the keys here are \"edge\", \"origin\", \"timeouts\", \
         \"limits\", \"dns\", \"route\", \"fault\", \"emulation\", \"railgun\", \"admin\", \
         \"log\", \"analytics\", \"capture\", \"pages\", \"proxy\", \"scenario\" (line 1)"
    );
    assert_eq!(
        problem("[routes]\n"),
        "routes: unknown key \"routes\"; did you mean \"route\"? (line 1)"
    );
    assert_eq!(
        problem("[timeout]\nread = \"5s\"\n"),
        "timeout: unknown key \"timeout\"; did you mean \"timeouts\"? (line 1)"
    );
}

#[test]
fn config_every_problem_comes_at_once_in_file_order() {
    let found: Vec<String> = problems(
        "[edge]\ncolo = 5\n[origin]\nadress = \"x:1\"\nssl = \"fulll\"\n\
         ca = \"/nonexistent/ca.pem\"\ncrl = \"/nonexistent/crl.pem\"\n\
         [timeout]\nconnect = \"1s\"\n\
         [[route]]\nhots = \"a.test\"\npath_prefix = \"/x/\"\ntls_port = \"x\"\n\
         [capture]\nstatuses = [\"5xx\", 7]\n[limits]\norigin_header_bytes = \"16k\"\n",
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    let keys: Vec<&str> = found
        .iter()
        .map(|line| line.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        keys,
        [
            "edge.colo",
            "origin.adress",
            "timeout",
            "route[0].hots",
            "route[0].tls_port",
            "capture.statuses[1]",
            "limits.origin_header_bytes",
            "origin.ssl",
            "origin.ca",
            "origin.crl",
        ],
        "{found:#?}"
    );
    assert!(
        found[1].contains("did you mean \"address\"?"),
        "{}",
        found[1]
    );
    assert!(found[0].ends_with("(line 2)"), "{}", found[0]);
    // A table written as a plain value is one problem, the rest read on.
    let found = problems("edge = 5\n");
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .to_string()
            .starts_with("edge: invalid type: integer `5`"),
        "{}",
        found[0]
    );
}

#[test]
fn config_toml_syntax_error_is_one_line_with_its_line() {
    let problems = problems("[edge]\ncolo = \"CDG\"\nlisten = \n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "");
    assert!(
        problems[0].why.starts_with("not valid TOML at line 3: "),
        "{:?}",
        problems[0]
    );
    assert!(!problems[0].why.contains('\n'));
    let found = problem("[edge]\n[edge]\n");
    assert!(found.starts_with("not valid TOML at line 2"), "{found}");
}

#[test]
fn config_error_display_names_the_file_on_every_line() {
    let error = ConfigError {
        file: Some(PathBuf::from("conf/edge.toml")),
        problems: vec![
            Problem::new("timeouts.read", "is wrong"),
            Problem::new("", "whole file is wrong"),
        ],
    };
    assert_eq!(
        error.to_string(),
        "conf/edge.toml: timeouts.read: is wrong\nconf/edge.toml: whole file is wrong"
    );
    let error = ConfigError {
        file: None,
        problems: vec![Problem::new("edge.colo", "is wrong")],
    };
    assert_eq!(error.to_string(), "edge.colo: is wrong");
    let _: &dyn std::error::Error = &error;
}

#[test]
fn config_load_reads_a_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("edgecase-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.toml");
    std::fs::write(&good, "[edge]\ncolo = \"AMS\"\n").expect("write good.toml");
    let config = Config::load(&good, &Overrides::default()).expect("good.toml loads");
    assert_eq!(config.edge.colo.as_str(), "AMS");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[edge]\ncolo = \"ams\"\n").expect("write bad.toml");
    let error = Config::load(&bad, &Overrides::default()).expect_err("bad colo");
    assert_eq!(error.file.as_deref(), Some(bad.as_path()));
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: edge.colo: ", bad.display()))
    );

    let missing = dir.join("missing.toml");
    let error = Config::load(&missing, &Overrides::default()).expect_err("no such file");
    assert_eq!(error.file.as_deref(), Some(missing.as_path()));
    assert_eq!(error.problems.len(), 1);
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display()))
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn config_overrides_replace_file_values() {
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        origin: Some("Origin.test:4000".into()),
        admin: Some("127.0.0.1:0".into()),
    };
    let text = "[edge]\nlisten = \"127.0.0.1:9\"\n[origin]\naddress = \"127.0.0.1:9\"\n";
    let config = Config::from_toml_str_with(text, &overrides).expect("overrides are valid");
    assert_eq!(config.edge.listen, SocketAddr::from(([127, 0, 0, 1], 0)));
    assert_eq!(config.origin.address.to_string(), "origin.test:4000");
    let admin = config.admin.expect("the control API is on by default");
    assert_eq!(admin.listen, SocketAddr::from(([127, 0, 0, 1], 0)));
    assert!(!admin.default_listen);
    let config = Config::defaults_with(&overrides).expect("overrides are valid");
    assert_eq!(config.edge.listen.port(), 0);
    assert_eq!(config.origin.address.port, 4000);
}

#[test]
fn config_invalid_overrides_name_the_key_and_the_flag() {
    let overrides = Overrides {
        listen: Some("localhost".into()),
        origin: Some("http://x:1".into()),
        admin: None,
    };
    // The file's own listen value is fine; the flag replaces it before validation.
    let text = "[edge]\nlisten = \"127.0.0.1:9\"\n";
    let error = Config::from_toml_str_with(text, &overrides).expect_err("bad flags");
    assert_eq!(
        error.to_string(),
        "edge.listen: \"localhost\" has no port; write an IP address and port, like \
         \"127.0.0.1:8080\" (from --listen)\n\
         origin.address: \"http://x:1\" is a URL; write only host:port, like \
         \"127.0.0.1:3000\" (from --origin)"
    );
    let error = Config::defaults_with(&overrides).expect_err("bad flags");
    assert_eq!(error.problems[0].key, "edge.listen");
}

fn routed() -> Config {
    load(
        r#"
        [origin]
        address = "127.0.0.1:3000"
        [timeouts]
        read = "50s"
        [[route]]
        host = "API.example.test"
        path_prefix = "/slow/"
        origin = "127.0.0.1:3001"
        timeouts = { read = "5s" }
        [[route]]
        host = "api.example.test"
        origin = "127.0.0.1:3002"
        [[route]]
        path_prefix = "/static/"
        timeouts = { connect = "1s" }
    "#,
    )
}

#[test]
fn config_target_first_matching_route_wins() {
    let config = routed();
    let slow = config.target(&Normalized::new("api.example.test", "/slow/report"));
    assert_eq!(slow.route, Some(0));
    assert_eq!(slow.address.to_string(), "127.0.0.1:3001");
    assert_eq!(slow.timeouts.read, secs(5));
    assert_eq!(slow.timeouts.connect, secs(15));

    let api = config.target(&Normalized::new("api.example.test", "/fast"));
    assert_eq!(api.route, Some(1));
    assert_eq!(api.address.port, 3002);
    assert_eq!(api.timeouts, config.timeouts);

    // Route 1 matches every path of its host, so route 2 never sees api.example.test.
    assert_eq!(
        config
            .target(&Normalized::new("api.example.test", "/static/a.css"))
            .route,
        Some(1)
    );
    let other = config.target(&Normalized::new("www.example.test", "/static/a.css"));
    assert_eq!(other.route, Some(2));
    assert_eq!(
        other.address, &config.origin.address,
        "no origin: [origin] is used"
    );
    assert_eq!(other.timeouts.connect, secs(1));
    assert_eq!(other.timeouts.read, secs(50));
}

#[test]
fn config_target_host_ignores_case_and_port() {
    let config = routed();
    assert_eq!(
        config
            .target(&Normalized::new("API.Example.Test:8080", "/slow/"))
            .route,
        Some(0)
    );
    assert_eq!(
        config
            .target(&Normalized::new("api.example.test:443", "/"))
            .route,
        Some(1)
    );
    assert_eq!(
        config
            .target(&Normalized::new("api.example.test.evil", "/"))
            .route,
        None
    );
    assert_eq!(
        config.target(&Normalized::new("api.example", "/")).route,
        None
    );
}

#[test]
fn config_target_prefix_is_a_plain_prefix() {
    let config = routed();
    assert_eq!(
        config.target(&Normalized::new("x", "/static/")).route,
        Some(2)
    );
    assert_eq!(config.target(&Normalized::new("x", "/static")).route, None);
    assert_eq!(config.target(&Normalized::new("x", "/STATIC/")).route, None);
}

#[test]
fn config_target_matches_the_normalized_request() {
    let config = routed();
    let target = |host, path| config.target(&Normalized::new(host, path)).route;
    assert_eq!(target("API.Example.Test.:8080", "/slow/"), Some(0));
    assert_eq!(target("x", "/public/../static/a.css"), Some(2));
    assert_eq!(target("x", "/%73tatic/a.css"), Some(2));
    assert_eq!(target("x", "//static/a.css"), Some(2));
    assert_eq!(target("x", "/static\\a.css"), Some(2));
    assert_eq!(
        target("x", "/static%2Fa.css"),
        None,
        "%2F is reserved: not a slash"
    );
    assert_eq!(
        target("x", "/STATIC/a.css"),
        None,
        "paths are case-sensitive"
    );
}

#[test]
fn config_route_host_with_a_trailing_dot_is_the_same_host() {
    let config = load("[[route]]\nhost = \"Example.TEST.\"\n");
    assert_eq!(config.routes[0].host.as_deref(), Some("example.test"));
    assert_eq!(
        config.target(&Normalized::new("example.test", "/")).route,
        Some(0)
    );
    assert_eq!(
        config.target(&Normalized::new("EXAMPLE.test.", "/")).route,
        Some(0)
    );
}

#[test]
fn config_target_falls_back_to_origin() {
    let config = routed();
    let target = config.target(&Normalized::new("www.example.test", "/"));
    assert_eq!(target.route, None);
    assert_eq!(target.address, &config.origin.address);
    assert_eq!(target.ssl, SslMode::Automatic);
    assert_eq!(target.timeouts, config.timeouts);
    assert_eq!(
        load("").target(&Normalized::new("anything", "/")).route,
        None
    );
}

#[test]
fn config_target_reads_fields_at_call_time() {
    let mut config = routed();
    config.timeouts.read = ms(50);
    config.timeouts.ack = ms(60);
    config.origin.ssl = SslMode::Flexible;
    config.origin.address = "127.0.0.1:4000".parse().expect("address");
    let fallback = config.target(&Normalized::new("www.example.test", "/"));
    assert_eq!(fallback.timeouts.read, ms(50));
    assert_eq!(fallback.address.port, 4000);
    assert_eq!(fallback.ssl, SslMode::Flexible);
    let slow = config.target(&Normalized::new("api.example.test", "/slow/"));
    assert_eq!(slow.timeouts.read, secs(5), "the route's own value stays");
    assert_eq!(slow.timeouts.ack, ms(60), "the rest follows the globals");
    assert_eq!(
        config
            .target(&Normalized::new("x", "/static/"))
            .address
            .port,
        4000
    );
}

#[test]
fn config_ipv6_route_host_matches_bracketed_host_header() {
    let config = load("[[route]]\nhost = \"::1\"\n");
    assert_eq!(
        config.target(&Normalized::new("[::1]:8080", "/")).route,
        Some(0)
    );
    assert_eq!(config.target(&Normalized::new("[::1]", "/")).route, Some(0));
    assert_eq!(
        config.target(&Normalized::new("127.0.0.1", "/")).route,
        None
    );
}

#[test]
fn config_shipped_default_file_loads_as_the_defaults() {
    let config = load(include_str!("../../config/edgecase.toml"));
    assert_eq!(config, Config::default());
}

#[test]
fn config_shipped_routes_example_loads() {
    let config = load(include_str!("../../config/example-routes.toml"));
    assert_eq!(config.edge.colo.as_str(), "LHR");
    assert_eq!(config.profile, Profile::Current);
    assert!(!config.dns.system);
    assert_eq!(
        config.dns.hosts["app.test"],
        vec![IpAddr::from([127, 0, 0, 1])]
    );
    assert_eq!(config.dns.hosts["api.test"].len(), 2);
    assert_eq!(config.routes.len(), 3);

    let admin = config.target(&Normalized::new("www.example.test", "/admin/users"));
    assert_eq!(admin.route, Some(2));
    assert_eq!(admin.ssl, SslMode::Strict);
    assert_eq!(
        (admin.sni, admin.tls_port),
        (Some("admin.app.test"), Some(3443))
    );

    let api = config.target(&Normalized::new("api.example.test", "/v1/users"));
    assert_eq!(api.route, Some(0));
    assert_eq!(api.address.to_string(), "api.test:3001");
    assert_eq!(api.timeouts.read, secs(5));
    assert_eq!(api.timeouts.connect, secs(19));

    let reports = config.target(&Normalized::new("www.example.test", "/reports/2026"));
    assert_eq!(reports.route, Some(1));
    assert_eq!(reports.address.to_string(), "app.test:3000");
    assert_eq!(reports.timeouts.read, secs(600));
    assert_eq!(reports.timeouts.write, secs(60));

    assert_eq!(
        config
            .target(&Normalized::new("www.example.test", "/"))
            .timeouts
            .read,
        secs(125)
    );
}

#[test]
fn config_default_file_mentions_every_key() {
    let text = include_str!("../../config/edgecase.toml");
    let keys = [
        "listen",
        "colo",
        "shutdown_grace",
        "tls_listen",
        "tls_cert",
        "tls_key",
        "address",
        "ssl",
        "sni",
        "tls_port",
        "ca",
        "crl",
        "profile",
        "connect",
        "ack",
        "write",
        "read",
        "origin_header_bytes",
        "system",
        "hosts",
        "host",
        "path_prefix",
        "origin",
        "timeouts",
        "ray_seed",
        "structured_errors",
        "seed",
        "header_faults",
        "explain",
        "enabled",
        "lan_timeout",
        "token",
        "status",
        "percent",
        "count",
        "for",
        "delay",
        "code",
        "edge",
        "latency",
        "refuse",
        "blackhole",
        "reset_after_bytes",
        "bandwidth",
        "close_before_headers",
        "slow_close",
        "method",
        "header",
        "format",
        "access",
        "timestamps",
        "queue",
        "sample",
        "har",
        "statuses",
        "body_bytes",
        "dir",
        "request_header_bytes",
        "request_header_field_bytes",
        "url_bytes",
        "request_body_bytes",
        "client_header_timeout",
        "max_connections",
        "h2_max_concurrent_streams",
        "max_idle",
        "idle_timeout",
        "workers",
        "name",
        "upstream",
    ];
    for key in keys {
        let written = format!("{key} =");
        let found = text
            .lines()
            .any(|line| line.trim_start_matches(['#', ' ']).starts_with(&written));
        assert!(found, "{key} is missing from config/edgecase.toml");
    }
}

#[test]
fn config_ssl_probe_interval_takes_milliseconds_up_to_a_week() {
    let interval = |text: &str| {
        load(&format!("[origin]\n{text}\n"))
            .origin
            .ssl_probe_interval
    };
    assert_eq!(
        interval("ssl_probe_interval = \"250ms\""),
        Duration::from_millis(250)
    );
    assert_eq!(interval("ssl_probe_interval = \"168h\""), secs(168 * 3600));
    assert_eq!(
        problem("[origin]\nssl_probe_interval = \"0s\"\n"),
        "origin.ssl_probe_interval: \"0s\" is zero; a timeout must be at least 1ms"
    );
    assert_eq!(
        problem("[origin]\nssl_probe_interval = \"169h\"\n"),
        "origin.ssl_probe_interval: \"169h\" is more than 168h, the longest Automatic SSL/TLS \
         probe interval edgecase accepts (a week)"
    );
}

#[test]
fn config_a_list_item_with_a_problem_of_shape_is_not_also_called_incomplete() {
    assert_eq!(
        problems("[[route]]\nhots = \"a.test\"\n[[route]]\nssl = \"fulll\"\n")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "route[0].hots: unknown key \"hots\"; did you mean \"host\"? (line 2)".to_owned(),
            problem("[[route]]\nhost = \"b.test\"\nssl = \"fulll\"\n").replace("[0]", "[1]"),
        ]
    );
}
