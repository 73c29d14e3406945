// The graphql-transport-ws client (js/live.js) against a scripted socket: it
// authenticates in connection_init, subscribes after the ack, reconnects by
// itself with a growing delay, subscribes again after a reconnect, renews the
// token when the server closes with 4401, answers pings, and completes on
// unsubscribe. Run: node --test frontends/tests/
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

class FakeSocket {
  static made = [];
  static OPEN = 1;

  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.made.push(this);
  }

  send(text) { this.sent.push(JSON.parse(text)); }

  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code }));
  }

  // The server's side.
  async accept() {
    this.readyState = 1;
    await this.onopen?.();
    await tick();
  }
  push(message) { this.onmessage?.({ data: JSON.stringify(message) }); }
  drop(code = 1006) { this.close(code); }
  of(type) { return this.sent.filter(m => m.type === type); }
}

globalThis.WebSocket = FakeSocket;
const { createLiveClient } = await import("../js/live.js");

const tick = () => new Promise(resolve => setTimeout(resolve, 0));
const wait = ms => new Promise(resolve => setTimeout(resolve, ms));
const QUERY = { query: "subscription { postChanges(unitId: \"1\") { kind } }" };

async function until(check, ms = 1000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await wait(2);
  }
}

function client(options = {}) {
  let token = "t1";
  const renewed = [];
  const live = createLiveClient({
    url: "ws://test/graphql",
    getToken: async () => token,
    renewToken: async () => { token = `t${renewed.length + 2}`; renewed.push(token); return token; },
    firstDelayMs: 5,
    maxDelayMs: 40,
    ...options,
  });
  return { live, renewed };
}

beforeEach(() => { FakeSocket.made = []; });

test("authenticates in connection_init and subscribes after the ack", async () => {
  const { live } = client();
  const received = [];
  live.subscribe(QUERY, { next: payload => received.push(payload) });
  const socket = FakeSocket.made[0];
  assert.equal(socket.protocol, "graphql-transport-ws");

  await socket.accept();
  assert.deepEqual(socket.of("connection_init"), [
    { type: "connection_init", payload: { authorization: "Bearer t1" } },
  ]);
  assert.equal(socket.of("subscribe").length, 0, "nothing before the ack");

  socket.push({ type: "connection_ack" });
  const [subscribe] = socket.of("subscribe");
  assert.deepEqual(subscribe.payload, QUERY);
  socket.push({ id: subscribe.id, type: "next", payload: { data: { postChanges: { kind: "X" } } } });
  assert.deepEqual(received, [{ data: { postChanges: { kind: "X" } } }]);
  assert.equal(live.status, "open");
  live.close();
});

test("reconnects by itself and subscribes again to everything", async () => {
  const { live } = client();
  live.subscribe(QUERY, { next() {} });
  live.subscribe({ query: "subscription { orgChanges(unitId: \"1\") { kind } }" }, { next() {} });
  const first = FakeSocket.made[0];
  await first.accept();
  first.push({ type: "connection_ack" });
  const ids = first.of("subscribe").map(m => m.id);
  assert.equal(ids.length, 2);

  first.drop();
  await until(() => FakeSocket.made.length === 2);
  assert.equal(live.status, "connecting");
  const second = FakeSocket.made[1];
  await second.accept();
  second.push({ type: "connection_ack" });
  assert.deepEqual(second.of("subscribe").map(m => m.id), ids);
  live.close();
});

test("waits longer after each failed attempt, up to the cap", async () => {
  const { live } = client({ firstDelayMs: 5, maxDelayMs: 20 });
  live.subscribe(QUERY, { next() {} });
  const started = [];
  for (let attempt = 0; attempt < 8; attempt += 1) {
    await until(() => FakeSocket.made.length === attempt + 1);
    started.push(Date.now());
    FakeSocket.made[attempt].drop(); // refused before it opened
  }
  const gaps = started.slice(1).map((at, i) => at - started[i]);
  // Delays of 5, 10, 20, 20, ... ms, each jittered to between half and all of it;
  // uncapped, the last would be 320 to 640 ms. Timers may run late on a busy machine.
  const late = 100;
  assert.ok(gaps.slice(2).every(gap => gap >= 10), `grows: ${gaps}`);
  assert.ok(Math.max(...gaps) <= 20 + late, `capped: ${gaps}`);
  live.close();
});

test("renews the token when the server closes with 4401", async () => {
  const { live, renewed } = client();
  live.subscribe(QUERY, { next() {} });
  const first = FakeSocket.made[0];
  await first.accept();
  first.push({ type: "connection_ack" });

  first.drop(4401);
  await until(() => FakeSocket.made.length === 2);
  assert.deepEqual(renewed, ["t2"]);
  const second = FakeSocket.made[1];
  await second.accept();
  assert.equal(second.of("connection_init")[0].payload.authorization, "Bearer t2");
  live.close();
});

test("answers pings, and completes what it unsubscribes", async () => {
  const { live } = client();
  const stop = live.subscribe(QUERY, { next() {} });
  const socket = FakeSocket.made[0];
  await socket.accept();
  socket.push({ type: "connection_ack" });
  socket.push({ type: "ping" });
  assert.deepEqual(socket.of("pong"), [{ type: "pong" }]);

  const [{ id }] = socket.of("subscribe");
  stop();
  assert.deepEqual(socket.of("complete"), [{ id, type: "complete" }]);
  live.close();
});

test("does not reconnect after close", async () => {
  const { live } = client();
  live.subscribe(QUERY, { next() {} });
  const socket = FakeSocket.made[0];
  await socket.accept();
  socket.push({ type: "connection_ack" });
  live.close();
  await wait(60);
  assert.equal(FakeSocket.made.length, 1);
  assert.equal(live.status, "closed");
});
