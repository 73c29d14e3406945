// The live feed: every change under the unit as it arrives.
import { h, when } from "../../dom.js";
import { ORG_CHANGES, POST_CHANGES } from "./common.js";

const KINDS = {
  POST_PUBLISHED: "发布", POST_WITHDRAWN: "撤回", PERSON_CREATED: "新增人员",
  ORG_UNIT_CREATED: "新增单位", RESIDENT_REGISTERED: "居民注册", ROLE_ASSIGNED: "授予角色",
  ROLE_REVOKED: "撤销角色",
};

export default {
  id: "changes",
  title: "实时动态",
  live: ctx => [
    { query: ORG_CHANGES, variables: { unitId: ctx.unit.id } },
    { query: POST_CHANGES, variables: { unitId: ctx.unit.id } },
  ],
  onEvent(payload, ctx, state) {
    const change = payload.data?.postChanges || payload.data?.orgChanges;
    if (!change) return;
    state.feed = [change, ...(state.feed || [])].slice(0, 20);
  },
  async load() {
    return null;
  },
  render(element, _data, _ctx, state) {
    const feed = state.feed || [];
    element.replaceChildren(feed.length
      ? h("ul", { class: "feed" }, ...feed.map(change => h("li", {},
          `${KINDS[change.kind] || change.kind}${change.post ? "：" + change.post.title : ""}`,
          h("small", {}, `${change.post?.community?.name || change.subjectType || ""} · ${when(change.at)}`))))
      : h("p", {}, "等待新的变化…"));
  },
};
