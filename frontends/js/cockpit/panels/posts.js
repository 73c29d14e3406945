// What the communities below published lately, by kind; live.
import { h, when } from "../../dom.js";
import { CATEGORIES, KINDS } from "../../screens/content.js";
import { POST_CHANGES, TEXT } from "./common.js";

const POSTS = `query Posts($unitId: ID!) {
  latest: posts(unitId: $unitId, first: 8) { totalCount
    edges { node { id kind category title publishedAt community { name } } } }
  disclosures: posts(unitId: $unitId, kind: DISCLOSURE, first: 1) { totalCount }
  notices: posts(unitId: $unitId, kind: NOTICE, first: 1) { totalCount }
  news: posts(unitId: $unitId, kind: NEWS, first: 1) { totalCount } }`;

export default {
  id: "posts",
  title: "三务公开与公告",
  live: ctx => [{ query: POST_CHANGES, variables: { unitId: ctx.unit.id } }],
  async load(ctx) {
    return ctx.gql(POSTS, { unitId: ctx.unit.id });
  },
  render(element, data, ctx, state) {
    if (!state.chart) {
      state.box = h("div", { class: "chart", style: "min-height:200px" });
      state.list = h("ul", { class: "feed latest" });
      element.replaceChildren(h("div", { style: "display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1.6fr);gap:12px;height:100%" },
        state.box, h("div", { style: "overflow:auto" }, state.list)));
      state.chart = ctx.charts.make(state.box);
    }
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["40%", "70%"], label: { color: "#e6f0ff" }, data: [
        { name: KINDS.DISCLOSURE, value: data.disclosures.totalCount },
        { name: KINDS.NOTICE, value: data.notices.totalCount },
        { name: KINDS.NEWS, value: data.news.totalCount },
      ] }],
    });
    state.list.replaceChildren(...data.latest.edges.map(({ node }) => h("li", { dataset: { post: node.id } },
      `【${node.category ? CATEGORIES[node.category] : KINDS[node.kind]}】${node.title}`,
      h("small", {}, `${node.community?.name || ""} · ${when(node.publishedAt)}`))));
    element.dataset.total = String(data.latest.totalCount);
  },
};
