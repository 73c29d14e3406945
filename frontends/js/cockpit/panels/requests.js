// Requests (你说我做) by stage and the average time to close, for the unit and each
// unit below it (requestFigures, one grouped read); live by serviceRequestChanges.
// Click a unit's bar to drill down into its cockpit.
import { h } from "../../dom.js";
import { STAGES, STAGE_ORDER } from "../../screens/request-common.js";
import { MUTED, TEXT } from "./common.js";

const FIGURES = `query RequestFigures($unitId: ID!) { requestFigures(unitId: $unitId) {
  total open closed averageHoursToClose byStage { stage count }
  below { unit { id name level } total open closed averageHoursToClose byStage { stage count } } } }`;
const LIVE = `subscription Requests($unitId: ID!) { serviceRequestChanges(unitId: $unitId) { kind stage } }`;
const COLORS = { PUBLISHED: "#ff6b6b", DISPATCHED: "#ffb020", HANDLING: "#37c2ff", VERIFYING: "#b48cff", EVALUATED: "#3ddc84" };

export function hoursText(hours) {
  if (hours === null || hours === undefined) return "—";
  return hours >= 48 ? `${(hours / 24).toFixed(1)} 天` : `${hours.toFixed(1)} 小时`;
}

function counts(row) {
  return Object.fromEntries(row.byStage.map(s => [s.stage, s.count]));
}

export default {
  id: "requests",
  title: "诉求办理",
  live: ctx => [{ query: LIVE, variables: { unitId: ctx.unit.id } }],
  async load(ctx) {
    return (await ctx.gql(FIGURES, { unitId: ctx.unit.id })).requestFigures;
  },
  render(element, data, ctx, state) {
    if (!state.chart) {
      state.kpis = h("div", { class: "request-kpis" });
      state.box = h("div", { class: "chart", style: "min-height:180px;height:calc(100% - 64px)" });
      element.replaceChildren(state.kpis, state.box);
      state.chart = ctx.charts.make(state.box);
      state.chart.on("click", params => {
        const unit = state.rows?.[params.dataIndex]?.unit;
        if (unit && unit.id !== ctx.unit.id) ctx.drill(unit.id);
      });
    }
    element.dataset.total = String(data.total);
    element.dataset.open = String(data.open);
    state.kpis.replaceChildren(
      h("span", {}, "诉求 ", h("b", {}, String(data.total))),
      h("span", {}, "在办 ", h("b", {}, String(data.open))),
      h("span", {}, "办结 ", h("b", {}, String(data.closed))),
      h("span", {}, "平均办结用时 ", h("b", {}, hoursText(data.averageHoursToClose))));
    // Below a community there are only grids: show the unit's own stages.
    const rows = data.below.some(b => b.total) ? data.below : [{ ...data, unit: ctx.unit }];
    state.rows = rows;
    const names = rows.map(r => r.unit.name);
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        formatter: items => {
          const row = rows[items[0].dataIndex];
          return [`${row.unit.name}：${row.total} 件，平均办结 ${hoursText(row.averageHoursToClose)}`,
            ...items.map(i => `${i.marker}${i.seriesName} ${i.value}`)].join("<br>");
        } },
      legend: { data: STAGE_ORDER.map(s => STAGES[s]), textStyle: TEXT, top: 0 },
      grid: { left: 40, right: 12, top: 32, bottom: rows.length > 6 ? 56 : 24 },
      xAxis: { type: "category", data: names,
        axisLabel: { ...MUTED, rotate: rows.length > 6 ? 35 : 0, interval: 0 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: MUTED, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      series: STAGE_ORDER.map(stage => ({
        name: STAGES[stage], type: "bar", stack: "stage", barMaxWidth: 48, data: rows.map(r => counts(r)[stage] || 0),
        itemStyle: { color: COLORS[stage] },
      })),
    }, true);
  },
};
