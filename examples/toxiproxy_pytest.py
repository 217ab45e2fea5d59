"""A Toxiproxy test suite, as a Toxiproxy user writes one, run against edgecase.

The only change from a suite written for Toxiproxy is the API port: point the client at
edgecase's control API ([admin] listen) instead of Toxiproxy's 8474. Every proxy made here is
a Cloudflare-like edge in front of the origin: answers carry `server: cloudflare` and `cf-ray`,
and a broken origin link ends in Cloudflare's 52x pages.

    pip install toxiproxy-python requests future pytest
    edgecase --config edgecase.toml           # with [admin] listen = "127.0.0.1:8081"
    TOXIPROXY_PORT=8081 python3 -m pytest examples/toxiproxy_pytest.py

tests/toxiproxy_suites.rs runs it against a fresh edgecase (timeouts of a few hundred ms).
"""

import http.client
import http.server
import os
import socket
import threading
import time
import urllib.error
import urllib.request

# Loopback only: never through an HTTP proxy named in the environment.
for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(variable, None)
    os.environ.pop(variable.lower(), None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import pytest  # noqa: E402
from toxiproxy import Toxiproxy  # noqa: E402
from toxiproxy.exceptions import ProxyExists  # noqa: E402

API_HOST = os.environ.get("TOXIPROXY_HOST", "127.0.0.1")
API_PORT = int(os.environ.get("TOXIPROXY_PORT", "8474"))
BIG = b"x" * 20000
VISITOR = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Origin(http.server.BaseHTTPRequestHandler):
    """The service under test: `/` answers "hello", `/big` 20,000 bytes."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = BIG if self.path == "/big" else b"hello"
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="session")
def toxiproxy():
    server = Toxiproxy()
    server.update_api_consumer(API_HOST, API_PORT)
    assert server.running(), "no Toxiproxy API on %s:%d" % (API_HOST, API_PORT)
    return server


@pytest.fixture
def shop(toxiproxy, origin):
    """A proxy named shop in front of the origin, removed after the test."""
    proxy = toxiproxy.create(name="shop", listen="127.0.0.1:0", upstream=origin)
    yield proxy
    if toxiproxy.get_proxy("shop") is not None:
        proxy.destroy()


def fetch(proxy, path="/"):
    """(status, headers, body, seconds) of GET path through proxy."""
    started = time.monotonic()
    try:
        with VISITOR.open("http://%s%s" % (proxy.listen, path), timeout=30) as response:
            body = response.read()
            return response.status, response.headers, body, time.monotonic() - started
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, error.headers, body, time.monotonic() - started


def test_a_request_gets_the_origins_answer_through_cloudflare(shop):
    status, headers, body, _ = fetch(shop)
    assert (status, body) == (200, b"hello")
    assert headers["server"] == "cloudflare"
    assert headers["cf-ray"]


def test_latency_holds_the_answer_back(shop):
    shop.add_toxic(type="latency", attributes={"latency": 300})
    status, _, body, seconds = fetch(shop)
    assert (status, body) == (200, b"hello")
    assert seconds >= 0.3


def test_a_timeout_ends_in_cloudflares_timeout_page(shop):
    # Toxiproxy would hold the connection forever; edgecase answers as Cloudflare would.
    shop.add_toxic(type="timeout", attributes={"timeout": 0})
    status, headers, _, _ = fetch(shop)
    assert status in (522, 524)
    assert headers["cf-ray"]


def test_bandwidth_slows_the_body(shop):
    shop.add_toxic(type="bandwidth", attributes={"rate": 40})
    status, _, body, seconds = fetch(shop, "/big")
    assert (status, body) == (200, BIG)
    assert seconds >= 0.4


def test_slicer_delivers_the_body_in_pieces_whole(shop):
    shop.add_toxic(
        type="slicer", attributes={"average_size": 2000, "size_variation": 100, "delay": 50000}
    )
    status, _, body, seconds = fetch(shop, "/big")
    assert (status, body) == (200, BIG)
    assert seconds >= 0.4


def test_limit_data_cuts_the_body(shop):
    shop.add_toxic(type="limit_data", attributes={"bytes": 1000})
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        fetch(shop, "/big")


def test_a_disabled_proxy_answers_521_until_enabled(shop):
    shop.disable()
    assert fetch(shop)[0] == 521
    shop.enable()
    assert fetch(shop)[0] == 200


def test_a_deleted_toxic_stops_acting(shop):
    shop.add_toxic(name="slow", type="latency", attributes={"latency": 1000})
    shop.destroy_toxic("slow")
    status, _, _, seconds = fetch(shop)
    assert status == 200
    assert seconds < 0.9


def test_creating_a_proxy_twice_raises_proxy_exists(toxiproxy, shop, origin):
    with pytest.raises(ProxyExists):
        toxiproxy.create(name="shop", listen="127.0.0.1:0", upstream=origin)


def test_a_destroyed_proxy_refuses_connections(toxiproxy, shop):
    host, port = shop.listen.rsplit(":", 1)
    shop.destroy()
    assert toxiproxy.get_proxy("shop") is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()


def test_populate_makes_two_proxies(toxiproxy, origin):
    made = toxiproxy.populate(
        [
            {"name": "one", "listen": "127.0.0.1:0", "upstream": origin},
            {"name": "two", "listen": "127.0.0.1:0", "upstream": origin},
        ]
    )
    try:
        assert sorted(p.name for p in made) == ["one", "two"]
        for proxy in made:
            assert fetch(proxy)[:3:2] == (200, b"hello")
    finally:
        for proxy in made:
            proxy.destroy()


def test_reset_enables_and_clears_every_proxy(toxiproxy, shop):
    shop.add_toxic(type="latency", attributes={"latency": 1000})
    shop.disable()
    toxiproxy.reset()
    status, _, _, seconds = fetch(shop)
    assert status == 200
    assert seconds < 0.9
