// Visit coverage (走访覆盖率) and visit warnings, from careCoverage: the share
// of beneficiaries visited on time under the unit and under each unit below
// (click one to drill down); live by careChanges and warningsUnder.
import { h } from "../../dom.js";
import { MUTED, TEXT } from "./common.js";

const FIGURES = "beneficiaries covered overdue neverVisited warnings coverageRate";
const COVERAGE = `query Coverage($unitId: ID!) { careCoverage(unitId: $unitId) {
  ${FIGURES} below { unit { id name level } ${FIGURES} } } }`;
const CHANGES = `subscription Care($unitId: ID!) { careChanges(unitId: $unitId) { kind at } }`;
const WARNINGS = `subscription Warnings($unitId: ID!) { warningsUnder(unitId: $unitId) { id isOpen } }`;

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

export default {
  id: "care",
  title: "走访覆盖与预警",
  live: ctx => [CHANGES, WARNINGS].map(query => ({ query, variables: { unitId: ctx.unit.id } })),
  async load(ctx) {
    return (await ctx.gql(COVERAGE, { unitId: ctx.unit.id })).careCoverage;
  },
  render(element, coverage, ctx, state) {
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
    state.head.replaceChildren(...[["覆盖率", percent(coverage.coverageRate)], ["对象", coverage.beneficiaries],
      ["超期", coverage.overdue], ["未走访", coverage.neverVisited], ["预警", coverage.warnings]]
      .map(([label, value]) => h("div", { class: "kpi" }, h("b", {}, String(value)), h("span", {}, label))));
    element.dataset.coverage = percent(coverage.coverageRate);
    // A community's beneficiaries are not on its grids: it shows itself.
    const rows = state.rows = coverage.below.some(r => r.beneficiaries) ? coverage.below : [{ ...coverage, unit: ctx.unit }];
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "axis" },
      legend: { data: ["按时走访", "超期", "预警"], textStyle: TEXT },
      grid: { left: 40, right: 16, top: 36, bottom: 48 },
      xAxis: { type: "category", data: rows.map(r => r.unit.name),
        axisLabel: { ...MUTED, rotate: rows.length > 8 ? 35 : 0, interval: 0 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: MUTED, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      series: [
        { name: "按时走访", type: "bar", stack: "people", data: rows.map(r => r.covered), itemStyle: { color: "#3ddc84" } },
        { name: "超期", type: "bar", stack: "people", data: rows.map(r => r.overdue), itemStyle: { color: "#ff7a45" } },
        { name: "预警", type: "line", data: rows.map(r => r.warnings), itemStyle: { color: "#ffb020" } },
      ],
    });
  },
};
