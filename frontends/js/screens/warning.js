// Warnings (预警) of the cadre's community: what needs attention, until cured.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

export const WARNING_KINDS = {
  VISIT_OVERDUE: "超期未走访", NEW_BENEFICIARY: "新增对象", UNATTENDED: "失管",
  DECEASED: "新亡", TASK_OVERDUE: "任务逾期", REQUEST_OVERDUE: "诉求超时",
};
const OPEN = `query Open($unitId: ID!) { warnings(unitId: $unitId, first: 20) {
  totalCount edges { node { id kind raisedAt unit { name } } } } }`;

registerScreen({
  id: "warning.open",
  slot: "cadre.warnings",
  title: "预警",
  async render(ctx) {
    const found = (await gql(OPEN, { unitId: ctx.grant.unit.id })).warnings;
    if (!found.totalCount) return h("p", { class: "muted" }, "暂无待处理的预警");
    return h("div", {},
      h("p", {}, `待处理 ${found.totalCount} 条`),
      h("ul", { class: "list" }, ...found.edges.map(({ node }) => h("li", {},
        h("span", { class: "tag" }, WARNING_KINDS[node.kind] || node.kind),
        node.unit?.name || "", h("div", { class: "muted" }, when(node.raisedAt))))));
  },
});
