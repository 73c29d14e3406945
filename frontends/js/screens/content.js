// The content domain's screens: a cadre publishes on the community's page and
// withdraws; a resident reads the latest of their community.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

export const KINDS = { DISCLOSURE: "三务公开", NOTICE: "通知公告", NEWS: "村社新闻" };
export const CATEGORIES = {
  PARTY_AFFAIRS: "党务公开", VILLAGE_AFFAIRS: "村务公开", FINANCIAL_AFFAIRS: "财务公开",
};

const PUBLISH = `mutation Publish($input: PostPublishInput!) {
  postPublish(input: $input) { errors { field message code } post { id title } } }`;
const WITHDRAW = `mutation Withdraw($id: ID!) {
  postWithdraw(id: $id) { errors { message code } post { id withdrawnAt } } }`;
const POSTS = `query Posts($unitId: ID!) {
  posts(unitId: $unitId, includeWithdrawn: true, first: 20) {
    totalCount edges { node { id kind category title publishedAt withdrawnAt } } } }`;

const MESSAGES = {
  INVALID_TITLE: "请填写标题（1-100字）", INVALID_BODY: "请填写正文（1-5000字）",
  CATEGORY_REQUIRED: "请选择公开类别", CATEGORY_NOT_ALLOWED: "只有三务公开需要类别",
  NOT_A_COMMUNITY: "只能在村社发布",
};

export function postLine(post) {
  return h("li", { class: "post", dataset: { post: post.id } },
    h("div", {}, h("span", { class: `tag ${post.category || post.kind}` },
      post.category ? CATEGORIES[post.category] : KINDS[post.kind]), h("strong", {}, post.title)),
    h("div", { class: "muted" }, when(post.publishedAt), post.withdrawnAt ? " · 已撤回" : ""));
}

function publishForm(ctx, onDone) {
  const category = h("select", { name: "category", "aria-label": "公开类别" },
    ...Object.entries(CATEGORIES).map(([value, label]) => h("option", { value }, label)));
  const categoryRow = h("div", { hidden: true }, h("label", {}, "公开类别"), category);
  const kind = h("select", { name: "kind", "aria-label": "类型",
    onchange: () => { categoryRow.hidden = kind.value !== "DISCLOSURE"; } },
    ...Object.entries(KINDS).map(([value, label]) =>
      h("option", { value, selected: value === "NOTICE" }, label)));
  const title = h("input", { name: "title", maxlength: 100, "aria-label": "标题" });
  const body = h("textarea", { name: "body", maxlength: 5000, "aria-label": "正文" });
  const message = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "publish" },
    h("label", {}, "类型"), kind, categoryRow,
    h("label", {}, "标题"), title, h("label", {}, "正文"), body,
    h("button", { type: "submit" }, "发布"), message);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    message.textContent = "";
    const input = { communityId: ctx.grant.unit.id, kind: kind.value, title: title.value, body: body.value };
    if (kind.value === "DISCLOSURE") input.category = category.value;
    try {
      const result = (await gql(PUBLISH, { input })).postPublish;
      if (result.errors.length) {
        message.textContent = result.errors.map(e => MESSAGES[e.code] || e.message).join("；");
        return;
      }
      title.value = ""; body.value = "";
      message.className = "ok";
      message.textContent = "已发布";
      onDone();
    } catch (error) {
      message.className = "error";
      message.textContent = error.message;
    }
  });
  return form;
}

registerScreen({
  id: "content.publish",
  slot: "cadre.publish",
  title: "发布公开与公告",
  async render(ctx) {
    const list = h("ul", { class: "list posts" });
    async function reload() {
      const edges = (await gql(POSTS, { unitId: ctx.grant.unit.id })).posts.edges;
      list.replaceChildren(...edges.map(({ node }) => {
        const line = postLine(node);
        if (!node.withdrawnAt) {
          line.append(h("button", { class: "small secondary", type: "button", onclick: async () => {
            const result = (await gql(WITHDRAW, { id: node.id })).postWithdraw;
            if (!result.errors.length) reload();
          } }, "撤回"));
        }
        return line;
      }));
      if (!edges.length) list.append(h("li", { class: "muted" }, "尚未发布内容"));
    }
    await reload();
    return h("div", {}, publishForm(ctx, reload), h("h3", {}, "已发布"), list);
  },
});
