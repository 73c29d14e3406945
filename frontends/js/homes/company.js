// Property company staff: the estates their company manages, and the places for
// the request board and their evaluation.
import { MESSAGES, card, h, home, slots } from "./common.js";

export const SLOTS = [
  MESSAGES,
  { id: "company.requests", title: "诉求工单", soon: "所管小区居民诉求的接单、处理和回复（即将上线）" },
  { id: "company.evaluation", title: "服务测评", soon: "业主和各方对物业服务的评分（即将上线）" },
  { id: "company.coordination", title: "三方协调", soon: "物业公司的履职事项和检查记录" },
];

export default {
  role: "PROPERTY_COMPANY",
  title: "物业公司",
  async render(ctx) {
    const organization = ctx.grant.organization;
    // Managed today (in China Standard Time): begun, and not ended.
    const today = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date());
    const managed = (organization?.managements || [])
      .filter(m => m.startsOn <= today && (!m.endsOn || m.endsOn > today));
    return home("PROPERTY_COMPANY",
      card(organization?.name || "物业公司",
        h("p", { class: "muted" }, `在管小区 ${managed.length} 个`),
        h("ul", { class: "list estates" }, ...managed.map(m => h("li", {},
          h("strong", {}, m.estate?.name || ""),
          h("div", { class: "muted" }, `${m.estate?.community?.name || ""} · ${m.estate?.address || ""} · 自 ${m.startsOn} 起`))))),
      ...await slots(SLOTS, ctx));
  },
};
