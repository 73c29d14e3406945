// What lies under the unit: communities, estates, households, people.
import { h } from "../../dom.js";
import { COCKPIT, orgLive } from "./common.js";

export default {
  id: "totals",
  title: "基本情况",
  live: orgLive,
  async load(ctx) {
    return (await ctx.gql(COCKPIT, { unitId: ctx.unit.id })).cockpit;
  },
  render(element, cockpit, ctx) {
    const shown = [["村社", cockpit.communities], ["小区", cockpit.estates],
      ["户", cockpit.households], ["登记人口", cockpit.people]];
    if (ctx.unit.level === "COMMUNITY") shown.shift();
    element.replaceChildren(h("div", { class: "kpis" }, ...shown.map(([label, value]) =>
      h("div", { class: "kpi", dataset: { figure: label } }, h("b", {}, value.toLocaleString("zh-CN")), h("span", {}, label)))));
  },
};
