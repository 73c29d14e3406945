// Subscriptions over graphql-transport-ws: one socket, opened on the first
// subscription; reconnects by itself with a capped, jittered backoff, subscribes
// again to everything after a reconnect, refreshes the token when the server
// closes with 4401, and pings to find a connection that died silently.
import { accessToken, refresh } from "./api.js";

const PROTOCOL = "graphql-transport-ws";
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 5_000;

export function createLiveClient({
  url = defaultUrl(),
  onStatus = () => {},
  // What to authenticate with, and how to renew it (tests pass their own).
  getToken = accessToken,
  renewToken = refresh,
  firstDelayMs = FIRST_DELAY_MS,
  maxDelayMs = MAX_DELAY_MS,
} = {}) {
  const subscriptions = new Map(); // id -> { payload, sink }
  let socket = null;
  let acknowledged = false;
  let attempts = 0;
  let closedOnPurpose = false;
  let reconnectTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let nextId = 1;

  function status(value) {
    client.status = value;
    onStatus(value);
  }

  function sendJson(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function start(id) {
    const entry = subscriptions.get(id);
    if (entry && acknowledged) sendJson({ id, type: "subscribe", payload: entry.payload });
  }

  async function connect() {
    if (socket || closedOnPurpose) return;
    clearTimeout(reconnectTimer);
    status("connecting");
    const ws = new WebSocket(url, PROTOCOL);
    socket = ws;
    ws.onopen = async () => {
      let token = null;
      try { token = await getToken(); } catch { token = null; }
      if (socket !== ws) return;
      ws.send(JSON.stringify({
        type: "connection_init",
        payload: token ? { authorization: `Bearer ${token}` } : {},
      }));
    };
    ws.onmessage = event => receive(ws, JSON.parse(event.data));
    ws.onclose = event => closed(ws, event);
    ws.onerror = () => {};
  }

  function receive(ws, message) {
    if (socket !== ws) return;
    const entry = subscriptions.get(message.id);
    switch (message.type) {
      case "connection_ack":
        acknowledged = true;
        attempts = 0;
        status("open");
        for (const id of subscriptions.keys()) start(id);
        keepAlive(ws);
        break;
      case "next":
        entry?.sink.next?.(message.payload);
        break;
      case "error":
        subscriptions.delete(message.id);
        entry?.sink.error?.(message.payload);
        break;
      case "complete":
        subscriptions.delete(message.id);
        entry?.sink.complete?.();
        break;
      case "ping":
        sendJson({ type: "pong" });
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
    }
  }

  function keepAlive(ws) {
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (socket !== ws) return clearInterval(pingTimer);
      sendJson({ type: "ping" });
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => ws.close(4000, "no pong"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  async function closed(ws, event) {
    if (socket !== ws) return;
    socket = null;
    acknowledged = false;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (closedOnPurpose) return status("closed");
    status("reconnecting");
    if (event.code === 4401 || event.code === 4403) {
      // The token ended (or was refused): a new pair first, then reconnect.
      try { await renewToken(); } catch { /* signed out: reconnect anonymously */ }
    }
    const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** attempts);
    attempts += 1;
    reconnectTimer = setTimeout(connect, delay * (0.5 + Math.random() / 2));
  }

  const client = {
    status: "idle",
    // sink: { next(payload), error(errors), complete() }; returns unsubscribe.
    subscribe(payload, sink) {
      const id = String(nextId++);
      subscriptions.set(id, { payload, sink });
      if (socket) start(id);
      else connect();
      return () => {
        if (subscriptions.delete(id) && acknowledged) sendJson({ id, type: "complete" });
      };
    },
    // Reconnect now (after the network came back, or a sign-in).
    reconnect() {
      closedOnPurpose = false;
      if (socket) socket.close(4000, "reconnect");
      else connect();
    },
    // For tests: drop the socket as a network failure would.
    drop() {
      socket?.close(4000, "dropped");
    },
    close() {
      closedOnPurpose = true;
      clearTimeout(reconnectTimer);
      socket?.close(1000, "bye");
    },
  };
  globalThis.addEventListener?.("online", () => { if (!socket && !closedOnPurpose) connect(); });
  return client;
}

function defaultUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}
