// Owners' committee: its estate, and the places for its evaluation and the
// three-party coordination.
import { MESSAGES, card, h, home, slots } from "./common.js";

export const SLOTS = [
  MESSAGES,
  { id: "committee.evaluation", title: "业委会测评", soon: "业主和各方对业委会的评分（即将上线）" },
  { id: "committee.coordination", title: "三方协调", soon: "居委会、业委会、物业公司协同事项（即将上线）" },
];

export default {
  role: "OWNERS_COMMITTEE",
  title: "业委会",
  async render(ctx) {
    const organization = ctx.grant.organization;
    return home("OWNERS_COMMITTEE",
      card(organization?.name || "业委会",
        h("p", {}, `小区：${organization?.estate?.name || "—"}`),
        h("p", { class: "muted" }, ctx.grant.unit.name)),
      ...await slots(SLOTS, ctx));
  },
};
