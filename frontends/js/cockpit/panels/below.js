// The units below, as bars: click one to drill down into its cockpit.
import { h } from "../../dom.js";
import { COCKPIT, MUTED, TEXT, orgLive } from "./common.js";

export default {
  id: "below",
  title: "下辖单位",
  size: "wide",
  levels: ["PROVINCE", "CITY", "DISTRICT", "SUBDISTRICT"],
  live: orgLive,
  async load(ctx) {
    return (await ctx.gql(COCKPIT, { unitId: ctx.unit.id })).cockpit.below;
  },
  render(element, below, ctx, state) {
    if (!state.chart) {
      const box = h("div", { class: "chart" });
      element.replaceChildren(box);
      state.chart = ctx.charts.make(box);
      state.chart.on("click", params => {
        const unit = state.below?.[params.dataIndex]?.unit;
        if (unit) ctx.drill(unit.id);
      });
    }
    state.below = below;
    element.dataset.units = below.map(b => b.unit.name).join(",");
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "axis" },
      legend: { data: ["户", "登记人口", "小区"], textStyle: TEXT },
      grid: { left: 48, right: 16, top: 36, bottom: 64 },
      xAxis: { type: "category", data: below.map(b => b.unit.name),
        axisLabel: { ...MUTED, rotate: below.length > 8 ? 35 : 0, interval: 0 } },
      yAxis: { type: "value", axisLabel: MUTED, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      series: [
        { name: "户", type: "bar", data: below.map(b => b.households), itemStyle: { color: "#37c2ff" } },
        { name: "登记人口", type: "bar", data: below.map(b => b.people), itemStyle: { color: "#3ddc84" } },
        { name: "小区", type: "bar", data: below.map(b => b.estates), itemStyle: { color: "#ffb020" } },
      ],
    });
  },
};
