// The mini-app: one sign-in, then the home of the person's role (several roles:
// a switcher), registration by one-time code, display settings. Hash routes:
// #/ home, #/login, #/register?community=CODE, #/settings.
import "./prefs.js";
import "./screens/index.js";
import { ApiError, gql, keepPair, signIn, signOut } from "./api.js";
import { card, h } from "./dom.js";
import { HOMES, PRIORITY, ROLE_NAMES } from "./homes/index.js";
import { createLiveClient } from "./live.js";
import * as prefs from "./prefs.js";
import * as session from "./session.js";

const VIEWER = `query Viewer { viewer { isSignedIn
  person { id name phone
    households { relation isOwner household { id address community { id name code } } } }
  grants { role
    unit { id name code level kind }
    organization { id name kind estate { id name }
      managements { startsOn endsOn estate { id name address community { name } } } } } } }`;

const view = document.getElementById("view");
const roleSwitch = document.getElementById("role");
const live = createLiveClient();
window.yunshang = { live };

function params() {
  const [, query = ""] = location.hash.split("?");
  return new URLSearchParams(query);
}

function route() {
  return (location.hash.replace(/^#/, "").split("?")[0] || "/");
}

function go(path) {
  if (location.hash === "#" + path) render();
  else location.hash = path;
}

// -- sign-in ---------------------------------------------------------------------

function loginView() {
  const phone = h("input", { id: "phone", inputmode: "numeric", autocomplete: "username", required: true });
  const password = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert", id: "error" });
  const form = h("form", { id: "login" },
    h("label", { for: "phone" }, "手机号"), phone,
    h("label", { for: "password" }, "密码"), password,
    h("button", { type: "submit" }, "登录"), error);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.textContent = "";
    try {
      const errors = await signIn(phone.value.trim(), password.value);
      if (errors.length) {
        error.textContent = "手机号或密码错误";
        return;
      }
      live.reconnect();
      const next = params().get("next");
      // Only a path of this site: "//host" or "/\\host" would leave it.
      if (next && /^\/(?![\/\\])/.test(next)) location.href = next;
      else go("/");
    } catch (failure) {
      error.textContent = failure.code === "TOO_MANY_REQUESTS" ? "失败次数过多，请几分钟后再试" : failure.message;
    }
  });
  return h("div", { dataset: { screen: "login" } },
    card("登录", form),
    card("还没有账号？", h("p", {}, "居民可用手机号注册，选择所在村社。"),
      h("a", { href: "#/register" }, "居民注册 →")));
}

// -- registration ------------------------------------------------------------------

const CODE_REQUEST = `mutation Code($phone: String!) { authCodeRequest(phone: $phone) {
  sent developmentCode errors { field message code } } }`;
const REGISTER = `mutation Register($input: ResidentRegisterInput!) { residentRegister(input: $input) {
  accessToken refreshToken expiresAt errors { field message code } } }`;
const COMMUNITY = `query Community($code: String!) { communityPage(code: $code) { community { id name } } }`;
const SEARCH = `query Search($search: String!) { orgUnits(level: COMMUNITY, search: $search, first: 10) {
  edges { node { id name code parent { name } } } } }`;
const REGISTER_ERRORS = {
  INVALID_PHONE: "请输入11位手机号", PHONE_TAKEN: "该手机号已注册，请直接登录",
  CODE_EXPIRED: "验证码已失效，请重新获取", CODE_WRONG: "验证码错误",
  INVALID_NAME: "请填写姓名", WEAK_PASSWORD: "密码至少8位", NOT_A_COMMUNITY: "请选择村社",
};

async function registerView() {
  const fixed = params().get("community");
  let communityId = null;
  const chosen = h("p", { id: "community-chosen" });
  const results = h("ul", { class: "list" });
  const search = h("input", { id: "community-search", placeholder: "输入村社名称搜索" });
  if (fixed) {
    const page = (await gql(COMMUNITY, { code: fixed })).communityPage;
    communityId = page.community.id;
    chosen.textContent = `注册到：${page.community.name}`;
  }
  search.addEventListener("input", async () => {
    const text = search.value.trim();
    if (!text) return results.replaceChildren();
    const edges = (await gql(SEARCH, { search: text })).orgUnits.edges;
    results.replaceChildren(...edges.map(({ node }) => h("li", {}, h("button", {
      type: "button", class: "secondary", onclick: () => {
        communityId = node.id;
        chosen.textContent = `注册到：${node.name}（${node.parent?.name || ""}）`;
        results.replaceChildren();
      } }, `${node.name} · ${node.parent?.name || ""}`))));
  });

  const phone = h("input", { id: "reg-phone", inputmode: "numeric", required: true });
  const code = h("input", { id: "reg-code", inputmode: "numeric", required: true });
  const name = h("input", { id: "reg-name", required: true });
  const password = h("input", { id: "reg-password", type: "password", autocomplete: "new-password", required: true });
  const hint = h("p", { class: "muted", id: "code-hint" });
  const error = h("p", { class: "error", role: "alert" });
  const sendCode = h("button", { type: "button", class: "secondary", id: "send-code", onclick: async () => {
    error.textContent = "";
    try {
      const result = (await gql(CODE_REQUEST, { phone: phone.value.trim() })).authCodeRequest;
      if (result.errors.length) error.textContent = REGISTER_ERRORS[result.errors[0].code] || result.errors[0].message;
      else hint.textContent = result.developmentCode ? `验证码已发送（演示环境：${result.developmentCode}）` : "验证码已发送";
      if (result.developmentCode) code.value = result.developmentCode;
    } catch (failure) {
      error.textContent = failure.code === "TOO_MANY_REQUESTS" ? "请一分钟后再获取" : failure.message;
    }
  } }, "获取验证码");
  const form = h("form", { id: "register" },
    fixed ? null : [h("label", { for: "community-search" }, "所在村社"), search, results],
    chosen,
    h("label", { for: "reg-phone" }, "手机号"), phone, sendCode, hint,
    h("label", { for: "reg-code" }, "验证码"), code,
    h("label", { for: "reg-name" }, "姓名"), name,
    h("label", { for: "reg-password" }, "密码（至少8位）"), password,
    h("button", { type: "submit" }, "注册"), error);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.textContent = "";
    const input = { phone: phone.value.trim(), code: code.value.trim(), name: name.value.trim(),
      password: password.value, communityId: communityId || "" };
    if (!communityId) return void (error.textContent = REGISTER_ERRORS.NOT_A_COMMUNITY);
    try {
      const result = (await gql(REGISTER, { input })).residentRegister;
      if (result.errors.length) {
        error.textContent = result.errors.map(e => REGISTER_ERRORS[e.code] || e.message).join("；");
        return;
      }
      keepPair(result);
      live.reconnect();
      go("/");
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return h("div", { dataset: { screen: "register" } }, card("居民注册", form));
}

// -- settings ----------------------------------------------------------------------

function settingsView() {
  const current = prefs.load();
  const toggle = (name, label) => h("label", { class: "switch" },
    h("input", { type: "checkbox", id: `pref-${name}`, checked: current[name],
      onchange: event => prefs.set(name, event.target.checked) }), label);
  return h("div", { dataset: { screen: "settings" } },
    card("显示设置", toggle("large", "大字体"), toggle("contrast", "高对比度"),
      h("p", { class: "muted" }, "设置保存在本机，下次打开仍然有效。")),
    h("button", { type: "button", class: "secondary", onclick: () => go("/") }, "返回"));
}

// -- home --------------------------------------------------------------------------

function chooseRole(grants) {
  const held = new Set(grants.map(g => g.role));
  const stored = session.load()?.role;
  if (stored && held.has(stored)) return stored;
  return PRIORITY.find(role => held.has(role)) || null;
}

function showRoles(grants, current) {
  const roles = [...new Set(grants.map(g => g.role))].filter(role => HOMES[role]);
  roleSwitch.hidden = roles.length < 2;
  roleSwitch.replaceChildren(...roles.map(role =>
    h("option", { value: role, selected: role === current }, ROLE_NAMES[role])));
}

async function homeView() {
  const viewer = (await gql(VIEWER)).viewer;
  if (!viewer.person) {
    session.clear();
    return loginView();
  }
  document.getElementById("who").textContent = viewer.person.name;
  const role = chooseRole(viewer.grants);
  showRoles(viewer.grants, role);
  if (!role) return card("欢迎", h("p", {}, "您的账号还没有角色，请联系所在村社。"));
  const grant = viewer.grants.find(g => g.role === role);
  return HOMES[role].render({ viewer, grant, gql, live });
}

// -- the shell ---------------------------------------------------------------------

async function render() {
  const signedIn = session.isSignedIn();
  document.getElementById("signed-in").hidden = !signedIn;
  document.getElementById("who").textContent = "";
  roleSwitch.hidden = true;
  const path = route();
  let content;
  try {
    if (path === "/register") content = await registerView();
    else if (path === "/settings") content = settingsView();
    else if (!signedIn || path === "/login") content = loginView();
    else content = await homeView();
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") content = loginView();
    else content = card("出错了", h("p", { class: "error" }, error.message),
      h("button", { type: "button", onclick: render }, "重试"));
  }
  view.replaceChildren(content);
  document.body.dataset.ready = path;
}

roleSwitch.addEventListener("change", () => {
  session.save({ role: roleSwitch.value });
  render();
});
document.getElementById("logout").addEventListener("click", async () => {
  await signOut();
  live.close();
  go("/login");
});
document.getElementById("settings").addEventListener("click", () => go("/settings"));
session.onEnd(() => go("/login"));
addEventListener("hashchange", render);
render();
