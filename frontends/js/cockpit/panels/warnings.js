// Open warnings under the unit, by kind; live as they are raised or cured.
import { h, when } from "../../dom.js";
import { WARNING_KINDS } from "../../screens/warning.js";
import { TEXT } from "./common.js";

const KINDS = Object.keys(WARNING_KINDS);
const OPEN = `query Warnings($unitId: ID!) {
  latest: warnings(unitId: $unitId, first: 6) { totalCount
    edges { node { id kind raisedAt unit { name } } } }
  ${KINDS.map(kind => `${kind}: warnings(unitId: $unitId, kinds: [${kind}], first: 1) { totalCount }`).join("\n  ")} }`;
const LIVE = `subscription Warnings($unitId: ID!) { warningsUnder(unitId: $unitId) { id kind isOpen } }`;

export default {
  id: "warnings",
  title: "预警",
  live: ctx => [{ query: LIVE, variables: { unitId: ctx.unit.id } }],
  async load(ctx) {
    return ctx.gql(OPEN, { unitId: ctx.unit.id });
  },
  render(element, data, ctx, state) {
    if (!state.chart) {
      state.box = h("div", { class: "chart", style: "min-height:160px;height:55%" });
      state.list = h("ul", { class: "feed" });
      element.replaceChildren(state.box, state.list);
      state.chart = ctx.charts.make(state.box);
    }
    state.chart.setOption({
      textStyle: TEXT,
      grid: { left: 80, right: 16, top: 8, bottom: 20 },
      xAxis: { type: "value", minInterval: 1, axisLabel: TEXT, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      yAxis: { type: "category", data: KINDS.map(kind => WARNING_KINDS[kind]), axisLabel: TEXT },
      series: [{ type: "bar", data: KINDS.map(kind => data[kind].totalCount), itemStyle: { color: "#ffb020" } }],
    });
    state.list.replaceChildren(...data.latest.edges.map(({ node }) => h("li", {},
      `${WARNING_KINDS[node.kind] || node.kind} · ${node.unit?.name || ""}`, h("small", {}, when(node.raisedAt)))));
    if (!data.latest.totalCount) state.list.append(h("li", {}, "暂无待处理的预警"));
    element.dataset.open = String(data.latest.totalCount);
  },
};
