"""Drives edgecase with the real Toxiproxy Python client (PyPI: toxiproxy-python), unchanged.

    python3 drive_edgecase.py ADMIN_PORT EDGE_PORT

edgecase must run with its control API on 127.0.0.1:ADMIN_PORT, its edge on
127.0.0.1:EDGE_PORT, a working origin behind it and a read timeout well under 3 s. Each step
changes the "edgecase" proxy through the client, then requests / through the edge with urllib
and checks the status. Prints every step; exits 1 at the first surprise. Run by
tests/toxiproxy_client.rs.
"""

import os
import sys
import urllib.error
import urllib.request

# Loopback only: never through an HTTP proxy named in the environment (requests honours them).
for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(variable, None)
    os.environ.pop(variable.lower(), None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from toxiproxy import Toxiproxy  # noqa: E402  (after the proxy variables are cleared)

ADMIN_PORT = int(sys.argv[1])
EDGE_PORT = int(sys.argv[2])
EDGE = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status_of(path):
    """The status of GET path through the edge (an error status is an answer too)."""
    try:
        with EDGE.open("http://127.0.0.1:%d%s" % (EDGE_PORT, path), timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def check(step, condition, detail):
    print("%s: %s" % (step, detail), flush=True)
    if not condition:
        print("FAILED at %s" % step, flush=True)
        sys.exit(1)


def expect_status(step, expected):
    got = status_of("/")
    check(step, got == expected, "GET / -> %d (expected %d)" % (got, expected))


server = Toxiproxy()
server.update_api_consumer("127.0.0.1", ADMIN_PORT)
check("running", server.running(), "control API reachable on port %d" % ADMIN_PORT)
proxy = server.get_proxy("edgecase")
check("get_proxy", proxy is not None, "proxies: %s" % sorted(server.proxies()))
check("enabled", proxy.enabled is True, "edgecase enabled=%r" % proxy.enabled)
expect_status("healthy", 200)

# Latency before the response head, longer than the read timeout: a real 524.
proxy.add_toxic(type="latency", attributes={"latency": 3000})
toxics = proxy.toxics()
check("add_toxic", "latency_downstream" in toxics, "toxics: %s" % sorted(toxics))
expect_status("latency 3000 ms", 524)
check("destroy_toxic", proxy.destroy_toxic("latency_downstream"), "latency removed")
check("toxics empty", proxy.toxics() == {}, "toxics: %s" % sorted(proxy.toxics()))
expect_status("no toxic", 200)

# A disabled proxy refuses every connection: 521.
proxy.disable()
check("disable", server.get_proxy("edgecase").enabled is False, "proxy disabled")
expect_status("disabled", 521)
proxy.enable()
expect_status("enabled again", 200)

# The timeout toxic holds the connection without an answer, as an unanswered SYN: 522.
proxy.add_toxic(type="timeout", attributes={"timeout": 0})
expect_status("timeout toxic", 522)

# reset() re-enables the proxy and removes every toxic.
proxy.disable()
check("reset", server.reset(), "POST /reset accepted")
proxy = server.get_proxy("edgecase")
check("after reset", proxy.enabled is True and proxy.toxics() == {}, "enabled, no toxics")
expect_status("after reset", 200)
print("ok: every step answered as expected", flush=True)
