// The cockpit (数据驾驶舱) of one unit: panels, each a module (panels/index.js),
// drawn from queries, redrawn when one of its subscriptions reports a change,
// with drill-down from a unit to the units below it (?unit=ID in the address).
import { accessToken, gql } from "../api.js";
import { h } from "../dom.js";
import { createLiveClient } from "../live.js";
import * as session from "../session.js";
import { PANELS } from "./panels/index.js";

const UNIT = `query Unit($id: ID!) { orgUnit(id: $id) { id name level kind
  parent { id name level parent { id name level parent { id name level } } } } }`;
const GRANTS = `query Grants { viewer { grants { role unit { id name level } } } }`;
const STAFF = new Set(["ADMIN", "OFFICIAL", "CADRE"]);
// How long a burst of events is gathered into one redraw.
const SETTLE_MS = 150;

const live = createLiveClient({ onStatus: status => {
  const badge = document.getElementById("live");
  badge.dataset.status = status;
  badge.textContent = { open: "实时", connecting: "连接中", reconnecting: "重连中", closed: "已断开" }[status] || "实时";
} });
window.yunshang = { live };

let mounted = []; // what the current unit set up: { dispose() }
let grantUnits = new Set();

function unitFromAddress() {
  return new URLSearchParams(location.search).get("unit");
}

function trail(unit) {
  const chain = [];
  for (let node = unit; node; node = node.parent) {
    chain.unshift(node);
    if (grantUnits.has(node.id)) break;
  }
  return chain.map(node => node.id === unit.id
    ? h("span", { class: "here" }, node.name)
    : h("a", { href: `?unit=${node.id}`, onclick: event => { event.preventDefault(); drill(node.id); } }, node.name + " ›"));
}

function charts() {
  const made = [];
  return {
    make(element) {
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      made.push(chart);
      return chart;
    },
    resize() { for (const chart of made) chart.resize(); },
    dispose() { for (const chart of made) chart.dispose(); },
  };
}

function mountPanel(panel, ctx, container) {
  const stamp = h("small", {}, "");
  const body = h("div", { class: "body" });
  const element = h("section", { class: `panel ${panel.size || ""}`, dataset: { panel: panel.id } },
    h("h2", {}, panel.title, stamp), body);
  container.append(element);
  let state = { redraws: 0 };
  let timer = null;
  let disposed = false;

  async function draw() {
    if (disposed) return;
    try {
      const data = await panel.load(ctx);
      if (disposed) return;
      await panel.render(body, data, ctx, state);
      state.redraws += 1;
      element.dataset.redraws = String(state.redraws);
      stamp.textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
    } catch (error) {
      body.replaceChildren(h("p", { class: "error" }, error.message));
    }
  }

  function changed(payload) {
    panel.onEvent?.(payload, ctx, state);
    element.classList.add("flash");
    setTimeout(() => element.classList.remove("flash"), 600);
    clearTimeout(timer);
    timer = setTimeout(draw, SETTLE_MS);
  }

  const stops = (panel.live?.(ctx) || []).map(operation => live.subscribe(operation, {
    next: changed,
    error: errors => console.warn("subscription refused", panel.id, errors),
  }));
  draw();
  return { dispose() { disposed = true; clearTimeout(timer); stops.forEach(stop => stop()); } };
}

async function show(unitId) {
  for (const part of mounted) part.dispose();
  mounted = [];
  const container = document.getElementById("panels");
  container.replaceChildren();
  const unit = (await gql(UNIT, { id: unitId })).orgUnit;
  if (!unit) throw new Error("没有这个单位");
  document.getElementById("title").textContent = `${unit.name} · 数据驾驶舱`;
  document.getElementById("trail").replaceChildren(...trail(unit));
  document.title = `${unit.name} · 数据驾驶舱`;
  const chartSet = charts();
  mounted.push(chartSet);
  const ctx = { unit, gql, live, drill, charts: chartSet };
  for (const panel of PANELS) {
    if (panel.levels && !panel.levels.includes(unit.level)) continue;
    mounted.push(mountPanel(panel, ctx, container));
  }
  document.body.dataset.unit = unit.id;
  document.body.dataset.ready = "cockpit";
}

export function drill(unitId) {
  history.pushState({ unit: unitId }, "", `?unit=${encodeURIComponent(unitId)}`);
  return show(unitId);
}

function clock() {
  const format = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "medium" });
  const tick = () => { document.getElementById("clock").textContent = format.format(new Date()); };
  tick();
  setInterval(tick, 1000);
}

async function start() {
  clock();
  if (!session.isSignedIn() || !(await accessToken().catch(() => null))) {
    location.href = `/#/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  const grants = (await gql(GRANTS)).viewer.grants.filter(g => STAFF.has(g.role));
  grantUnits = new Set(grants.map(g => g.unit.id));
  const unitId = unitFromAddress() || grants[0]?.unit.id;
  if (!unitId) {
    document.getElementById("panels").replaceChildren(h("p", { class: "error" }, "驾驶舱仅向干部开放"));
    return;
  }
  await show(unitId);
}

addEventListener("popstate", () => show(unitFromAddress()));
addEventListener("resize", () => mounted.forEach(part => part.resize?.()));
start().catch(error => {
  document.getElementById("panels").replaceChildren(h("p", { class: "error" }, error.message));
  document.body.dataset.ready = "error";
});
