// Task completion and overdue (任务完成与逾期), from the task board: the units
// below as stacked bars by state (click one to drill down), live through
// taskBoardChanged, so a verified assignment shows within the settle time.
import { h } from "../../dom.js";
import { MUTED, TEXT } from "./common.js";

const ENTRY = "unit { id name level } total issued accepted submitted verified returned overdue completionRate";
const BOARD = `query TaskBoard($unitId: ID!) { taskBoard(unitId: $unitId) {
  totals { ${ENTRY} } children { ${ENTRY} } communities { ${ENTRY} } } }`;
const LIVE = `subscription TaskBoard($unitId: ID!) { taskBoardChanged(unitId: $unitId) { at entry { unit { name } } } }`;
const SERIES = [
  ["issued", "待接收", "#8fb0d6"], ["accepted", "办理中", "#37c2ff"], ["returned", "已退回", "#ff7a45"],
  ["submitted", "待审核", "#ffb020"], ["verified", "已核销", "#3ddc84"],
];

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

export default {
  id: "tasks",
  title: "任务完成与逾期",
  size: "wide",
  live: ctx => [{ query: LIVE, variables: { unitId: ctx.unit.id } }],
  async load(ctx) {
    return (await ctx.gql(BOARD, { unitId: ctx.unit.id })).taskBoard;
  },
  render(element, board, ctx, state) {
    const rows = board.children.length ? board.children : board.communities;
    if (!state.chart) {
      state.head = h("div", { class: "kpis strip" });
      const box = h("div", { class: "chart below-strip" });
      element.replaceChildren(state.head, box);
      state.chart = ctx.charts.make(box);
      state.chart.on("click", params => {
        const unit = state.rows?.[params.dataIndex]?.unit;
        if (unit && unit.id !== ctx.unit.id) ctx.drill(unit.id);
      });
    }
    state.rows = rows;
    const t = board.totals;
    state.head.replaceChildren(...[["任务", t.total], ["已核销", t.verified], ["待审核", t.submitted],
      ["逾期", t.overdue], ["完成率", percent(t.completionRate)]].map(([label, value]) =>
      h("div", { class: "kpi" }, h("b", {}, String(value)), h("span", {}, label))));
    element.dataset.verified = String(t.verified);
    element.dataset.overdue = String(t.overdue);
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "axis" },
      legend: { data: [...SERIES.map(s => s[1]), "逾期"], textStyle: TEXT },
      grid: { left: 40, right: 16, top: 36, bottom: 56 },
      xAxis: { type: "category", data: rows.map(r => r.unit?.name || ""),
        axisLabel: { ...MUTED, rotate: rows.length > 8 ? 35 : 0, interval: 0 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: MUTED, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      series: [
        ...SERIES.map(([key, name, color]) => ({ name, type: "bar", stack: "state",
          data: rows.map(r => r[key]), itemStyle: { color } })),
        { name: "逾期", type: "line", data: rows.map(r => r.overdue), itemStyle: { color: "#ff4d4f" } },
      ],
    }, { notMerge: false });
  },
};
