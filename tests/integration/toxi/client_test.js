// client_test.js -- the real Toxiproxy Node client (toxiproxy-node-client from npm) driving
// `faultline proxy --api`, with real TCP traffic through the proxies it makes. Prints one JSON
// object of measurements; tests/integration/test_toxiproxy_api.c judges them.
//   node client_test.js http://127.0.0.1:8474
"use strict";
const net = require("net");
const { Toxiproxy } = require("toxiproxy-node-client");

const api = process.argv[2];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const deadline = setTimeout(() => { console.error("client_test: timed out"); process.exit(3); }, 60000);

function listen(server) {
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res(server.address().port)));
}
function connect(addr) {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  return new Promise((res, rej) => {
    const s = net.connect({ host, port }, () => { s.setNoDelay(true); res(s); });
    s.once("error", rej);
  });
}
// median (or with min, the fastest) round trip of n 64-byte pings on one connection (the
// upstream echoes). A baseline is the fastest: noise of a loaded machine only adds time, so an
// added latency is measured as a median over the floor.
async function rtt(sock, n, min) {
  const v = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await new Promise((res) => { sock.once("data", res); sock.write(Buffer.alloc(64, 120)); });
    v.push(now() - t0);
  }
  v.sort((a, b) => a - b);
  return min ? v[0] : v[Math.floor(n / 2)];
}
// bytes per second reading `total` bytes from a fresh connection
async function throughput(addr, total) {
  // timed from the first byte (what a rate cap shapes), as bytes after it over the time since
  const s = await connect(addr);
  let got = 0, first = 0, t0 = 0;
  await new Promise((res) => {
    s.on("data", (d) => {
      if (!t0) { t0 = now(); first = d.length; }
      got += d.length;
      if (got >= total) res();
    });
    s.on("close", res);
  });
  const secs = (now() - t0) / 1000;
  s.destroy();
  return { got, rate: (got - first) / secs };
}

async function main() {
  const out = {};
  const echo = net.createServer((c) => c.pipe(c));
  const src = net.createServer((c) => { c.end(Buffer.alloc(600000, 97)); });
  const echoPort = await listen(echo), srcPort = await listen(src);
  const tp = new Toxiproxy(api);
  out.version = await tp.getVersion();

  const p = await tp.createProxy({ name: "fl_node_echo", listen: "127.0.0.1:0", upstream: `127.0.0.1:${echoPort}` });
  out.listen = p.listen;
  const sock = await connect(p.listen);
  out.baseline_ms = await rtt(sock, 20, true);
  const lat = await p.addToxic({ type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 100, jitter: 0 } });
  out.toxic_name = lat.name;
  out.latency_ms = await rtt(sock, 10) - out.baseline_ms;
  const got = await p.getToxic("latency_downstream");
  out.toxic_attrs = got.attributes;
  await lat.remove();
  out.after_ms = await rtt(sock, 10);
  sock.destroy();

  // down: enabled false refuses connections; enabled true serves again on the same address
  await p.update({ enabled: false, listen: p.listen, upstream: `127.0.0.1:${echoPort}` });
  out.down_refused = await connect(p.listen).then((s) => { s.destroy(); return false; }, (e) => e.code === "ECONNREFUSED");
  const up = await p.update({ enabled: true, listen: p.listen, upstream: `127.0.0.1:${echoPort}` });
  out.reenabled = up.enabled;
  const s2 = await connect(up.listen);
  out.reenabled_rtt_ms = await rtt(s2, 5);
  s2.destroy();

  // bandwidth: 500 KB/s (Toxiproxy's KB: 1000 bytes)
  const q = await tp.createProxy({ name: "fl_node_bytes", listen: "127.0.0.1:0", upstream: `127.0.0.1:${srcPort}` });
  const bw = await q.addToxic({ type: "bandwidth", stream: "downstream", toxicity: 1, attributes: { rate: 500 } });
  // a cap: a loaded machine only slows a transfer, so the faster of two is the shaped rate
  const t1 = await throughput(q.listen, 600000), t2 = await throughput(q.listen, 600000);
  out.bw_bytes = Math.min(t1.got, t2.got);
  out.bw_rate = Math.max(t1.rate, t2.rate);
  out.bw_rates = [t1.rate, t2.rate];
  await bw.remove();

  // errors come back as Toxiproxy's client sees them: a rejected request
  out.bad_type = await q.addToxic({ type: "no_such_toxic", attributes: {} }).then(() => "accepted", (e) => e.message);
  out.bad_attr = await q.addToxic({ type: "latency", attributes: { latncy: 5 } }).then(() => "accepted", (e) => e.message);
  out.missing = await tp.get("no_such_proxy").then(() => "found", (e) => e.message);

  out.all = Object.keys(await tp.getAll()).sort();
  const pop = await tp.populate([{ name: "fl_node_pop", listen: "127.0.0.1:0", upstream: `127.0.0.1:${echoPort}` }]);
  out.populated = Object.keys(pop);
  await q.remove();
  await tp.reset();
  out.after_reset = Object.keys(await tp.getAll()).sort();
  echo.close();
  src.close();
  clearTimeout(deadline);
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error("client_test: " + (e && e.stack ? e.stack : e)); process.exit(2); });
