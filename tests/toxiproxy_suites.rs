//! The Toxiproxy suites of `examples/`, written as their users write them, run unchanged but for
//! the API port against the real `edgecase` binary: `examples/toxiproxy_pytest.py` with
//! pytest and `toxiproxy-python`, `examples/toxiproxy_node.test.mjs` with `node --test` and
//! `toxiproxy-node-client` 4.1.0 (installed in `examples/node_modules`). Each suite makes its
//! own origin and proxies and checks every effect through the proxy.
//!
//! Without the interpreter or the client library a test says "skipped: <why>" on stderr and
//! passes; CI (`.ci/run`) installs both first, so there they run.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use admin::Edgecase;
use support::binary::run_to_exit;

/// Both suites together take a few seconds; this is far beyond.
const SUITE_LIMIT: Duration = Duration::from_secs(120);

/// A config whose timeouts let the suites' 300 ms latency through, yet end a timeout toxic in
/// well under a second (522).
const CONFIG: &str = "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"0s\"\n\
                      [origin]\naddress = \"127.0.0.1:9\"\n\
                      [timeouts]\nconnect = \"300ms\"\nread = \"5s\"\n\
                      [dns]\nsystem = false\n\
                      [admin]\nlisten = \"127.0.0.1:0\"\n";

/// Why `program args` cannot run here (it is missing, or exits non-zero), if it cannot.
fn missing(program: &str, args: &[&str], install: &str) -> Option<String> {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Err(error) => Some(format!("{program} cannot be run: {error}")),
        Ok(output) if !output.status.success() => Some(format!(
            "{install}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// Runs `command` against a fresh edgecase, with `env` set to where its control API is; its
/// output, once it has exited successfully.
async fn run_suite(test: &str, mut command: Command, env: &str, url: bool) -> String {
    let edgecase = Edgecase::start_with(test, CONFIG).await;
    let admin = edgecase.admin;
    let value = match url {
        true => format!("http://{admin}"),
        false => admin.port().to_string(),
    };
    let (status, output) = run_to_exit(
        command
            .env(env, value)
            .env("TOXIPROXY_HOST", admin.ip().to_string())
            .current_dir(env!("CARGO_MANIFEST_DIR")),
        SUITE_LIMIT,
    )
    .await;
    assert!(status.success(), "the suite failed ({status}):\n{output}");
    edgecase.stop().await;
    output
}

#[tokio::test]
async fn the_pytest_suite_passes_against_edgecase() {
    let probe = ["-c", "import toxiproxy, requests, future, pytest"];
    let install = "python3 -m pip install toxiproxy-python requests future pytest";
    if let Some(why) = missing("python3", &probe, install) {
        eprintln!("skipped: {why}");
        return;
    }
    let mut pytest = Command::new("python3");
    pytest.args([
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "examples/toxiproxy_pytest.py",
    ]);
    let output = run_suite("suite_pytest", pytest, "TOXIPROXY_PORT", false).await;
    assert!(output.contains("12 passed"), "{output}");
}

#[tokio::test]
async fn the_node_test_suite_passes_against_edgecase() {
    if let Some(why) = missing("node", &["--version"], "install Node.js 18 or later") {
        eprintln!("skipped: {why}");
        return;
    }
    let client = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/node_modules/toxiproxy-node-client/package.json");
    if !client.exists() {
        eprintln!(
            "skipped: no toxiproxy-node-client in examples/node_modules (npm install --prefix \
             examples --no-save toxiproxy-node-client@4.1.0)"
        );
        return;
    }
    let mut node = Command::new("node");
    node.args(["--test", "examples/toxiproxy_node.test.mjs"]);
    let output = run_suite("suite_node", node, "TOXIPROXY_URL", true).await;
    assert!(output.contains("# pass 12"), "{output}");
    assert!(output.contains("# fail 0"), "{output}");
}
