// The official's home: their unit's figures and the units below, the cockpit,
// and the place for the task board.
import { LEVELS, MESSAGES, card, cockpitFigures, cockpitLink, h, home, slots, unitFigures } from "./common.js";

export const SLOTS = [
  MESSAGES,
  { id: "official.tasks", title: "任务看板", soon: "下发任务、审核核销、逾期提醒（即将上线）" },
  { id: "official.reports", title: "最多报一次", soon: "报表模板与填报进度（即将上线）" },
  { id: "official.imports", title: "帮扶对象名单导入" },
];

export default {
  role: "OFFICIAL",
  title: "镇街/区干部",
  async render(ctx) {
    const unit = ctx.grant.unit;
    const cockpit = await cockpitFigures(unit.id);
    return home(ctx.grant.role,
      card(unit.name,
        h("p", { class: "muted" }, `${LEVELS[unit.level] || ""}${ctx.grant.organization ? " · " + ctx.grant.organization.name : ""}`),
        unitFigures(cockpit, unit.level),
        h("p", {}, cockpitLink(unit.id))),
      card("下辖单位",
        h("ul", { class: "list below" }, ...cockpit.below.map(b => h("li", { class: "row" },
          h("a", { href: `/cockpit.html?unit=${encodeURIComponent(b.unit.id)}` }, b.unit.name),
          h("span", { class: "muted" }, [
            b.unit.level === "COMMUNITY" ? `${b.estates} 小区` : `${b.communities} 村社`,
            `${b.households} 户`, `${b.people} 人`].join(" · "))))),
        cockpit.below.length ? null : h("p", { class: "muted" }, "没有下辖单位")),
      ...await slots(SLOTS, ctx));
  },
};
