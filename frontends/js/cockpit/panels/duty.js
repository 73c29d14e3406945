// Duty attendance (值班出勤) of the month, from dutyStatistics: the rate under
// the unit, and each community's (click one to open its cockpit). Attendance
// moves slowly, so it is re-read every minute rather than by subscription.
import { h } from "../../dom.js";
import { MUTED, TEXT } from "./common.js";

const STATS = `query Duty($unitId: ID!, $day: Date!) {
  dutyStatistics(period: MONTH, day: $day, unitId: $unitId) { startsOn endsOn
    totals { scheduled attended late missed attendanceRate }
    people { scheduled attended late missed unit { id name } } } }`;
const REFRESH_MS = 60_000;

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

export default {
  id: "duty",
  title: "值班出勤（本月）",
  async load(ctx) {
    return (await ctx.gql(STATS, { unitId: ctx.unit.id, day: today() })).dutyStatistics;
  },
  render(element, stats, ctx, state) {
    if (!state.chart) {
      state.head = h("div", { class: "kpis strip" });
      const box = h("div", { class: "chart below-strip" });
      element.replaceChildren(state.head, box);
      state.chart = ctx.charts.make(box);
      state.chart.on("click", params => {
        const unit = state.units?.[params.dataIndex];
        if (unit && unit.id !== ctx.unit.id) ctx.drill(unit.id);
      });
      state.timer = setInterval(async () => {
        if (!element.isConnected) { clearInterval(state.timer); return; }
        try { this.render(element, await this.load(ctx), ctx, state); } catch { /* next minute */ }
      }, REFRESH_MS);
    }
    const byUnit = new Map();
    for (const person of stats.people) {
      if (!person.unit) continue;
      const row = byUnit.get(person.unit.id) || { unit: person.unit, scheduled: 0, attended: 0, late: 0 };
      row.scheduled += person.scheduled; row.attended += person.attended; row.late += person.late;
      byUnit.set(person.unit.id, row);
    }
    const rows = [...byUnit.values()];
    state.units = rows.map(r => r.unit);
    const t = stats.totals;
    const rate = t.attendanceRate === null ? "—" : `${Math.round(t.attendanceRate * 100)}%`;
    state.head.replaceChildren(...[["出勤率", rate], ["应值班", t.scheduled], ["已签到", t.attended],
      ["迟到", t.late], ["缺勤", t.missed]].map(([label, value]) => h("div", { class: "kpi" }, h("b", {}, String(value)), h("span", {}, label))));
    element.dataset.rate = rate;
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 40 },
      xAxis: { type: "category", data: rows.map(r => r.unit.name), axisLabel: { ...MUTED, interval: 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { ...MUTED, formatter: "{value}%" }, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      series: [{ type: "bar", name: "出勤率",
        data: rows.map(r => (r.scheduled ? Math.round((100 * r.attended) / r.scheduled) : 0)),
        itemStyle: { color: "#37c2ff" }, label: { show: true, position: "top", color: "#e6f0ff", formatter: "{c}%" } }],
    });
    if (!rows.length) state.head.append(h("span", { class: "muted" }, "本级暂无值班安排"));
  },
};
