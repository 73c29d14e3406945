// The cadre's home: their community's figures, publishing on its page, and the
// places for duty check-in, assignments, visits and warnings.
import { MESSAGES, card, cockpitFigures, cockpitLink, h, home, slots, unitFigures } from "./common.js";

export const SLOTS = [
  MESSAGES,
  { id: "cadre.duty", title: "今日值班签到", soon: "用手机定位签到（即将上线）" },
  { id: "cadre.assignments", title: "我的任务", soon: "接收、提交上级下发的任务（即将上线）" },
  { id: "cadre.visits", title: "民情走访", soon: "待走访对象与走访记录（即将上线）" },
  { id: "cadre.requests", title: "社区诉求", soon: "本村社诉求的派单、确认和退回重办" },
  { id: "cadre.warnings", title: "预警", soon: "超期未走访、新增、失管、新亡预警（即将上线）" },
  { id: "cadre.publish", title: "发布公开与公告" },
  { id: "cadre.imports", title: "不动产登记簿导入" },
];

export default {
  role: "CADRE",
  title: "村社干部",
  async render(ctx) {
    const unit = ctx.grant.unit;
    const figures = await cockpitFigures(unit.id);
    return home("CADRE",
      card(unit.name,
        h("p", { class: "muted" }, `${unit.kind === "VILLAGE" ? "村" : "社区"} · 代码 ${unit.code}`),
        unitFigures(figures, "COMMUNITY"),
        h("p", {}, h("a", { href: `/c/${unit.code}` }, "村社主页"), " · ",
          h("a", { href: `/c/${unit.code}/poster`, target: "_blank" }, "打印一村一码海报"), " · ",
          cockpitLink(unit.id))),
      ...await slots(SLOTS, ctx));
  },
};
