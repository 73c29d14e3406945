// A community's estates and their buildings.
import { h } from "../../dom.js";
import { orgLive } from "./common.js";

const ESTATES = `query Estates($unitId: ID!) { estates(unitId: $unitId, first: 50) {
  totalCount edges { node { id name address buildings { id } } } } }`;

export default {
  id: "estates",
  title: "小区",
  levels: ["COMMUNITY"],
  live: orgLive,
  async load(ctx) {
    return (await ctx.gql(ESTATES, { unitId: ctx.unit.id })).estates;
  },
  render(element, estates) {
    const items = estates.edges.map(({ node }) => h("li", {}, node.name,
      h("small", {}, `${node.buildings.length} 幢 · ${node.address || ""}`)));
    element.replaceChildren(h("ul", { class: "feed" }, ...items),
      items.length ? null : h("p", {}, "本村社没有小区"));
  },
};
