// The resident's home: their village's page, their household and properties, and
// the places for raising requests and rating their estate.
import { gql } from "../api.js";
import { postLine } from "../screens/content.js";
import { MESSAGES, card, h, home, slots } from "./common.js";

export const SLOTS = [
  MESSAGES,
  { id: "resident.properties", title: "我的房产", soon: "暂无已认证房产（不动产认证即将上线）" },
  { id: "resident.requests", title: "你说我做 · 我的诉求", soon: "提交诉求并跟踪办理进度（即将上线）" },
  { id: "resident.evaluation", title: "小区测评", soon: "为物业服务和业委会打分（即将上线）" },
  { id: "resident.consultation", title: "码上协商", soon: "参与社区议事投票（即将上线）" },
];

const LATEST = `query Latest($code: String!) { communityPage(code: $code) {
  pagePath posts(first: 3) { edges { node { id kind category title publishedAt } } } } }`;

export default {
  role: "RESIDENT",
  title: "居民",
  async render(ctx) {
    const person = ctx.viewer.person;
    const community = ctx.grant.unit;
    const memberships = person.households || [];
    const page = (await gql(LATEST, { code: community.code })).communityPage;
    return home("RESIDENT",
      card(`${community.name} · 村社主页`,
        h("ul", { class: "list" }, ...page.posts.edges.map(e => postLine(e.node))),
        page.posts.edges.length ? null : h("p", { class: "muted" }, "暂无公开内容"),
        h("a", { href: page.pagePath, class: "community-link" }, "查看全部公开、公告和新闻 →")),
      card("我的住户",
        memberships.length
          ? h("ul", { class: "list households" }, ...memberships.map(m => h("li", {},
              h("strong", {}, m.household?.address || "—"),
              h("div", { class: "muted" }, `${m.household?.community?.name || ""} · ${m.relation || "成员"}`))))
          : h("p", { class: "muted" }, "尚未登记住户，请联系村社干部核实。")),
      ...await slots(SLOTS, ctx));
  },
};
