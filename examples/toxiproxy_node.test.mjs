// A Toxiproxy test suite, as a Toxiproxy user writes one with toxiproxy-node-client and
// node:test, run against edgecase. The only change from a suite written for Toxiproxy is the
// API's address: edgecase's control API ([admin] listen) instead of Toxiproxy's 8474. Every
// proxy made here is a Cloudflare-like edge in front of the origin.
//
//   npm install --prefix examples --no-save toxiproxy-node-client@4.1.0
//   edgecase --config edgecase.toml          # with [admin] listen = "127.0.0.1:8081"
//   TOXIPROXY_URL=http://127.0.0.1:8081 node --test examples/toxiproxy_node.test.mjs
//
// tests/toxiproxy_suites.rs runs it against a fresh edgecase (timeouts of a few hundred ms).

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, afterEach, before, beforeEach, test } from "node:test";

import pkg from "toxiproxy-node-client";

const { Toxiproxy, ToxiproxyError } = pkg;
const toxiproxy = new Toxiproxy(process.env.TOXIPROXY_URL ?? "http://127.0.0.1:8474");
const BIG = "x".repeat(20000);

let origin;
let upstream;
let shop;

/** The service under test: `/` answers "hello", `/big` 20,000 bytes. */
before(async () => {
  origin = http.createServer((req, res) => {
    const body = req.url === "/big" ? BIG : "hello";
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  upstream = `127.0.0.1:${origin.address().port}`;
});

after(() => origin.close());

beforeEach(async () => {
  shop = await toxiproxy.createProxy({ name: "shop", listen: "127.0.0.1:0", upstream });
});

afterEach(async () => {
  const all = await toxiproxy.getAll();
  if (all.shop) await all.shop.remove();
});

/** GET path through proxy: { status, headers, body, ms }. A fresh connection each time. */
async function visit(proxy, path = "/") {
  const started = performance.now();
  const res = await fetch(`http://${proxy.listen}${path}`, {
    headers: { connection: "close" },
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
}

test("a request gets the origin's answer through Cloudflare", async () => {
  const res = await visit(shop);
  assert.equal(res.status, 200);
  assert.equal(res.body, "hello");
  assert.equal(res.headers.get("server"), "cloudflare");
  assert.ok(res.headers.get("cf-ray"));
});

test("latency holds the answer back", async () => {
  await shop.addToxic({ type: "latency", attributes: { latency: 300, jitter: 0 } });
  const res = await visit(shop);
  assert.equal(res.status, 200);
  assert.ok(res.ms >= 300, `${res.ms} ms`);
});

test("a timeout ends in Cloudflare's timeout page", async () => {
  // Toxiproxy would hold the connection forever; edgecase answers as Cloudflare would.
  await shop.addToxic({ type: "timeout", attributes: { timeout: 0 } });
  const res = await visit(shop);
  assert.ok([522, 524].includes(res.status), `${res.status}`);
  assert.ok(res.headers.get("cf-ray"));
});

test("bandwidth slows the body", async () => {
  await shop.addToxic({ type: "bandwidth", attributes: { rate: 40 } });
  const res = await visit(shop, "/big");
  assert.equal(res.body, BIG);
  assert.ok(res.ms >= 400, `${res.ms} ms`);
});

test("slicer delivers the body in pieces, whole", async () => {
  const attributes = { average_size: 2000, size_variation: 100, delay: 50000 };
  await shop.addToxic({ type: "slicer", attributes });
  const res = await visit(shop, "/big");
  assert.equal(res.body, BIG);
  assert.ok(res.ms >= 400, `${res.ms} ms`);
});

test("limit_data cuts the body", async () => {
  await shop.addToxic({ type: "limit_data", attributes: { bytes: 1000 } });
  await assert.rejects(visit(shop, "/big"));
});

test("a disabled proxy answers 521 until enabled", async () => {
  await shop.update({ enabled: false });
  assert.equal((await visit(shop)).status, 521);
  await shop.update({ enabled: true });
  assert.equal((await visit(shop)).status, 200);
});

test("a removed toxic stops acting", async () => {
  const toxic = await shop.addToxic({ name: "slow", type: "latency", attributes: { latency: 1000 } });
  await toxic.remove();
  const res = await visit(shop);
  assert.equal(res.status, 200);
  assert.ok(res.ms < 900, `${res.ms} ms`);
});

test("creating a proxy twice is the client's error", async () => {
  await assert.rejects(
    toxiproxy.createProxy({ name: "shop", listen: "127.0.0.1:0", upstream }),
    (error) => error instanceof ToxiproxyError && /409/.test(error.message),
  );
});

test("a removed proxy refuses connections", async () => {
  const [host, port] = [shop.listen.split(":")[0], Number(shop.listen.split(":")[1])];
  await shop.remove();
  assert.equal((await toxiproxy.getAll()).shop, undefined);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(socket.end()));
      socket.on("error", reject);
    }),
    { code: "ECONNREFUSED" },
  );
});

test("populate makes two proxies", async () => {
  const made = await toxiproxy.populate([
    { name: "one", listen: "127.0.0.1:0", upstream },
    { name: "two", listen: "127.0.0.1:0", upstream },
  ]);
  try {
    assert.deepEqual(Object.keys(made).sort(), ["one", "two"]);
    for (const proxy of Object.values(made)) {
      assert.equal((await visit(proxy)).body, "hello");
    }
  } finally {
    for (const proxy of Object.values(made)) await proxy.remove();
  }
});

test("reset enables and clears every proxy", async () => {
  await shop.addToxic({ type: "latency", attributes: { latency: 1000 } });
  await shop.update({ enabled: false });
  await toxiproxy.reset();
  const res = await visit(shop);
  assert.equal(res.status, 200);
  assert.ok(res.ms < 900, `${res.ms} ms`);
});
