// A community's public page (/c/CODE), what its QR code opens: disclosures,
// notices and news. A signed-in resident of the community is greeted as one;
// anyone else is offered registration to this community.
import "./prefs.js";
import { gql } from "./api.js";
import { h, when } from "./dom.js";
import { CATEGORIES, KINDS } from "./screens/content.js";
import * as session from "./session.js";

const code = decodeURIComponent(location.pathname.split("/")[2] || "");
const PAGE = `query Page($code: String!, $kind: PostKind, $category: DisclosureCategory, $after: String) {
  communityPage(code: $code) {
    community { id name kind parent { name } }
    pagePath qrPngPath qrSvgPath posterPath viewerIsResident
    posts(kind: $kind, category: $category, first: 10, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id kind category title body publishedAt } } } } }`;
const ME = `query Me { viewer { person { name } } }`;

const TABS = [
  { label: "全部" },
  { label: "党务公开", kind: "DISCLOSURE", category: "PARTY_AFFAIRS" },
  { label: "村务公开", kind: "DISCLOSURE", category: "VILLAGE_AFFAIRS" },
  { label: "财务公开", kind: "DISCLOSURE", category: "FINANCIAL_AFFAIRS" },
  { label: "通知公告", kind: "NOTICE" },
  { label: "村社新闻", kind: "NEWS" },
];
let tab = TABS[0];
let cursor = null;

function postItem(post) {
  const label = post.category ? CATEGORIES[post.category] : KINDS[post.kind];
  const body = h("div", { class: "body", hidden: true }, post.body);
  return h("li", { class: "post", dataset: { kind: post.kind } },
    h("div", {}, h("span", { class: `tag ${post.category || post.kind}` }, label),
      h("a", { href: "#", onclick: event => { event.preventDefault(); body.hidden = !body.hidden; } },
        h("strong", {}, post.title))),
    h("div", { class: "muted" }, when(post.publishedAt)),
    body);
}

async function welcome(page) {
  const box = document.getElementById("welcome");
  const name = page.community.name;
  if (page.viewerIsResident) {
    const me = (await gql(ME)).viewer.person;
    box.dataset.state = "resident";
    box.replaceChildren(h("h2", {}, `${me.name}，您好`),
      h("p", {}, `您是${name}的居民，已登录。`),
      h("a", { href: "/#/" }, "进入我的主页 →"));
  } else if (session.isSignedIn()) {
    box.dataset.state = "signed-in";
    box.replaceChildren(h("h2", {}, `欢迎来到${name}`),
      h("p", {}, "您已登录，但还不是本村社登记的住户。如需核实住户，请联系村社干部。"),
      h("a", { href: "/#/" }, "进入我的主页 →"));
  } else {
    box.dataset.state = "visitor";
    box.replaceChildren(h("h2", {}, `欢迎来到${name}`),
      h("p", {}, "本村社居民注册后，可提交诉求、参与测评和协商。"),
      h("a", { href: `/#/register?community=${encodeURIComponent(code)}`, id: "register-here" },
        `注册为${name}居民 →`),
      h("p", { class: "muted" }, h("a", { href: `/#/login?next=${encodeURIComponent(location.pathname)}` }, "已有账号？登录")));
  }
}

async function load(append = false) {
  const variables = { code, kind: tab.kind || null, category: tab.category || null, after: append ? cursor : null };
  const page = (await gql(PAGE, variables)).communityPage;
  const list = document.getElementById("posts");
  const items = page.posts.edges.map(e => postItem(e.node));
  if (append) list.append(...items);
  else list.replaceChildren(...items);
  if (!list.children.length) list.append(h("li", { class: "muted" }, "暂无内容"));
  cursor = page.posts.pageInfo.endCursor;
  document.getElementById("more").hidden = !page.posts.pageInfo.hasNextPage;
  return page;
}

function tabs() {
  const bar = document.getElementById("tabs");
  bar.replaceChildren(...TABS.map(item => h("button", {
    type: "button", "aria-pressed": String(item === tab),
    onclick: () => { tab = item; tabs(); load(); },
  }, item.label)));
}

async function start() {
  tabs();
  const page = await load();
  document.title = `${page.community.name} · 云上村社`;
  document.getElementById("name").textContent = page.community.name;
  document.getElementById("above").textContent = page.community.parent?.name || "";
  document.getElementById("qr").src = page.qrPngPath;
  document.getElementById("poster").href = page.posterPath;
  document.getElementById("svg").href = page.qrSvgPath;
  document.getElementById("png").href = page.qrPngPath;
  await welcome(page);
  document.body.dataset.ready = "community";
}

document.getElementById("more").addEventListener("click", () => load(true));
start().catch(error => {
  document.getElementById("welcome").replaceChildren(h("p", { class: "error" }, error.message));
  document.body.dataset.ready = "error";
});
