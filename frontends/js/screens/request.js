// Service requests (你说我做): a resident raises one and follows it (live), confirms
// and rates it, and joins the small needs of their community; the property
// company's board of its estates by stage (accept, post an update, resolve), live;
// the cadre's requests of the community to dispatch, confirm or send back.
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";
import {
  ACTIONS, HANDLERS, STAGES, attempt, gql, history, onRequestChange, stageTag, uploadAll,
} from "./request-common.js";

const FIELDS = `id text stage address createdAt dueAt closedAt rating comment joinCount isPublic handlerKind
  category { name } estate { name } community { name } handler { name } raisedBy { name }
  photos { id url } history { action note at }`;
const CATEGORIES = `query Categories($unitId: ID!) {
  requestCategories { id name group }
  estates(unitId: $unitId, first: 50) { edges { node { id name } } } }`;
const CREATE = `mutation Create($input: ServiceRequestCreateInput!) {
  serviceRequestCreate(input: $input) { errors { field code message } serviceRequest { id stage } } }`;
const MINE = `query Mine { serviceRequests(mine: true, first: 30) { totalCount edges { node { ${FIELDS} } } } }`;
const NEEDS = `query Needs($unitId: ID!) { microNeeds(unitId: $unitId, first: 10) {
  totalCount edges { node { id text joinCount createdAt category { name } estate { name } } } } }`;
const BOARD = `query Board($unitId: ID, $stages: [RequestStage!]) {
  serviceRequests(unitId: $unitId, stages: $stages, first: 100) { totalCount edges { node { ${FIELDS} } } } }`;

const STEP = "errors { field code message } serviceRequest { id stage }";
const DOCS = {
  accept: `mutation($id: ID!, $note: String!) { r: serviceRequestAccept(id: $id, note: $note) { ${STEP} } }`,
  update: `mutation($id: ID!, $note: String!, $photoIds: [ID!]) {
    r: serviceRequestUpdate(id: $id, note: $note, photoIds: $photoIds) { ${STEP} } }`,
  resolve: `mutation($id: ID!, $note: String!, $photoIds: [ID!]) {
    r: serviceRequestResolve(id: $id, note: $note, photoIds: $photoIds) { ${STEP} } }`,
  confirm: `mutation($id: ID!, $note: String!) { r: serviceRequestConfirm(id: $id, note: $note) { ${STEP} } }`,
  evaluate: `mutation($id: ID!, $rating: Int!, $comment: String!) {
    r: serviceRequestEvaluate(id: $id, rating: $rating, comment: $comment) { ${STEP} } }`,
  reopen: `mutation($id: ID!, $note: String!) { r: serviceRequestReopen(id: $id, note: $note) { ${STEP} } }`,
  return: `mutation($id: ID!, $note: String!) { r: serviceRequestReturn(id: $id, note: $note) { ${STEP} } }`,
  dispatch: `mutation($id: ID!, $note: String!) { r: serviceRequestDispatch(id: $id, note: $note) { ${STEP} } }`,
  join: `mutation($id: ID!) { r: serviceRequestJoin(id: $id) { ${STEP} } }`,
};

async function step(name, variables) {
  return (await gql(DOCS[name], variables)).r.errors;
}

function place(node) {
  const where = node.estate?.name || node.community?.name;
  return [where, node.address !== where ? node.address : ""].filter(Boolean).join(" · ");
}

// The handler's latest word: the newest step after raising that says something.
function latest(node) {
  const said = (node.history || []).filter(s => s.note && !["PUBLISH", "DISPATCH", "EVALUATE"].includes(s.action));
  const last = said[said.length - 1];
  return last ? h("div", { class: "latest" }, h("b", {}, `${ACTIONS[last.action] || last.action}：`),
    last.note, h("span", { class: "muted" }, ` ${when(last.at)}`)) : null;
}

// The requests whose history is open, and what is being typed on them: kept when
// a live update redraws the list.
const opened = new Set();
const drafts = new Map();

function kept(element, key) {
  if (drafts.has(key)) element.value = drafts.get(key);
  element.addEventListener("input", () => drafts.set(key, element.value));
  element.addEventListener("change", () => drafts.set(key, element.value));
  return element;
}

function forget(id) {
  for (const key of [...drafts.keys()]) if (key.startsWith(`${id}:`)) drafts.delete(key);
}

// The request's photos as thumbnails, each opening the full image: signed URLs,
// because an <img> cannot send the Authorization header.
function photoStrip(node) {
  const photos = (node.photos || []).filter(p => p.url);
  return photos.length ? h("div", { class: "photos" }, ...photos.map((photo, i) =>
    h("a", { href: photo.url, target: "_blank", rel: "noopener" },
      h("img", { src: photo.url, alt: `诉求照片 ${i + 1}`, loading: "lazy", dataset: { photo: photo.id } })))) : null;
}

// One request: what, where, its stage and history; `actions` below it.
function item(node, ...actions) {
  return h("li", { class: "request", dataset: { request: node.id, stage: node.stage } },
    h("div", {}, stageTag(node.stage), h("strong", {}, node.category?.name || "诉求")),
    h("div", { class: "text" }, node.text),
    photoStrip(node),
    h("div", { class: "muted" }, [place(node), when(node.createdAt),
      node.handler?.name || (node.handlerKind ? HANDLERS[node.handlerKind] : ""),
      node.photos?.length ? `照片 ${node.photos.length} 张` : ""].filter(Boolean).join(" · ")),
    node.rating ? h("div", { class: "rating", dataset: { rating: node.rating } },
      "★".repeat(node.rating) + "☆".repeat(5 - node.rating), node.comment ? ` ${node.comment}` : "") : null,
    latest(node),
    h("details", { open: opened.has(node.id),
      ontoggle: event => { if (event.target.open) opened.add(node.id); else opened.delete(node.id); } },
      h("summary", {}, `办理记录（${node.history?.length || 0}）`), history(node.history)),
    ...actions);
}

// A note, optional photos, and buttons that each take one step with them.
function stepForm(node, reload, buttons, { photos = false, placeholder = "说明（可选）" } = {}) {
  const note = kept(h("input", { name: "note", placeholder, "aria-label": "说明", maxlength: 1000 }),
    `${node.id}:note:${buttons.map(b => b[1]).join()}`);
  const files = photos ? h("input", { type: "file", name: "photos", accept: "image/*", multiple: true,
    "aria-label": "照片" }) : null;
  const line = h("p", { class: "error", role: "alert" });
  const row = h("div", { class: "row actions" }, ...buttons.map(([label, name, needsNote]) =>
    h("button", { type: "button", class: "small", dataset: { step: name }, onclick: async () => {
      if (needsNote && !note.value.trim()) {
        line.className = "error";
        line.textContent = "请填写说明";
        return;
      }
      const ok = await attempt(line, async () => {
        const variables = { id: node.id, note: note.value.trim() };
        if (files && (name === "update" || name === "resolve")) {
          variables.photoIds = await uploadAll(files);
        }
        return step(name, variables);
      }, "已更新");
      if (ok) { forget(node.id); reload(); }
    } }, label)));
  return h("div", { class: "step" }, note, files, row, line);
}

function stars(name) {
  return h("select", { name, "aria-label": "评分" },
    ...[5, 4, 3, 2, 1].map(n => h("option", { value: n }, `${"★".repeat(n)} ${n} 星`)));
}

function evaluateForm(node, reload) {
  const rating = kept(stars("rating"), `${node.id}:rating`);
  const comment = kept(h("input", { name: "comment", placeholder: "说说办理得怎么样（可选）", maxlength: 1000,
    "aria-label": "评价" }), `${node.id}:comment`);
  const line = h("p", { class: "error", role: "alert" });
  return h("div", { class: "step evaluate" }, h("label", {}, "满意度"), rating, comment,
    h("button", { type: "button", dataset: { step: "evaluate" }, onclick: async () => {
      if (await attempt(line, () => step("evaluate",
        { id: node.id, rating: Number(rating.value), comment: comment.value.trim() }), "感谢评价")) {
        forget(node.id);
        reload();
      }
    } }, node.stage === "VERIFYING" ? "确认办结并评价" : "评价"), line);
}

// -- the resident ----------------------------------------------------------------

function locationOf() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("此设备不支持定位")); return; }
    navigator.geolocation.getCurrentPosition(
      position => resolve({ latitude: position.coords.latitude, longitude: position.coords.longitude,
        accuracy: position.coords.accuracy, system: "WGS84" }),
      () => reject(new Error("未能获取定位，可不带定位提交")), { enableHighAccuracy: true, timeout: 10_000 });
  });
}

function raiseForm(ctx, options, onDone) {
  const groups = new Map();
  for (const category of options.requestCategories) {
    const list = groups.get(category.group || "其他") || [];
    list.push(category);
    groups.set(category.group || "其他", list);
  }
  const category = h("select", { name: "category", id: "request-category", "aria-label": "诉求类别" },
    h("option", { value: "" }, "请选择类别"),
    ...[...groups].map(([group, list]) => h("optgroup", { label: group },
      ...list.map(c => h("option", { value: c.id }, c.name)))));
  const estates = options.estates.edges.map(e => e.node);
  const where = h("select", { name: "place", id: "request-place", "aria-label": "地点" },
    ...estates.map(e => h("option", { value: `estate:${e.id}` }, e.name)),
    h("option", { value: `unit:${ctx.grant.unit.id}` }, `${ctx.grant.unit.name}（不在小区内）`));
  const text = h("textarea", { name: "text", id: "request-text", maxlength: 4000,
    placeholder: "说说遇到了什么问题，在哪里", "aria-label": "诉求内容" });
  const address = h("input", { name: "address", maxlength: 200, placeholder: "具体位置，如 3幢 2单元（可选）",
    "aria-label": "具体位置" });
  const photos = h("input", { type: "file", name: "photos", id: "request-photos", accept: "image/*",
    multiple: true, "aria-label": "照片" });
  const locate = h("input", { type: "checkbox", name: "locate", id: "request-locate" });
  const share = h("input", { type: "checkbox", name: "share", id: "request-share" });
  const line = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "raise", id: "request-form" },
    h("label", { for: "request-category" }, "类别"), category,
    h("label", { for: "request-place" }, "小区或村社"), where,
    h("label", { for: "request-text" }, "诉求内容"), text, address,
    h("label", { for: "request-photos" }, "照片（可选，最多 9 张）"), photos,
    h("label", { class: "switch" }, locate, "附带我的手机定位"),
    h("label", { class: "switch" }, share, "公开为微需求（邻居可附议）"),
    h("button", { type: "submit" }, "提交诉求"), line);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const ok = await attempt(line, async () => {
      if (!category.value) return [{ code: "CATEGORY_UNKNOWN" }];
      if (!text.value.trim()) return [{ code: "TEXT_REQUIRED" }];
      const [kind, id] = where.value.split(/:(.*)/s);
      const input = { categoryId: category.value, text: text.value.trim(), address: address.value.trim(),
        share: share.checked, photoIds: await uploadAll(photos) };
      input[kind === "estate" ? "estateId" : "unitId"] = id;
      if (locate.checked) input.location = await locationOf();
      return (await gql(CREATE, { input })).serviceRequestCreate.errors;
    }, "已提交，可在下方跟踪办理进度");
    if (ok) {
      text.value = ""; address.value = ""; photos.value = ""; share.checked = false;
      onDone();
    }
  });
  return form;
}

function residentActions(node, reload) {
  if (node.stage === "VERIFYING") {
    return [evaluateForm(node, reload),
      stepForm(node, reload, [["仅确认办结", "confirm"], ["没解决，重新办理", "reopen", true]],
        { placeholder: "没解决的话，说说还有什么问题" })];
  }
  if (node.stage === "EVALUATED" && !node.rating) return [evaluateForm(node, reload)];
  return [];
}

registerScreen({
  id: "request.resident",
  slot: "resident.requests",
  title: "你说我做 · 我的诉求",
  async render(ctx) {
    const community = ctx.grant.unit;
    const options = await gql(CATEGORIES, { unitId: community.id });
    const mine = h("ul", { class: "list requests mine", id: "my-requests" });
    const needs = h("ul", { class: "list needs" });
    async function reload() {
      const found = (await gql(MINE)).serviceRequests;
      mine.replaceChildren(...found.edges.map(({ node }) => item(node, ...residentActions(node, reload))));
      if (!found.totalCount) mine.append(h("li", { class: "muted" }, "还没有提交过诉求"));
      const open = (await gql(NEEDS, { unitId: community.id })).microNeeds;
      needs.replaceChildren(...open.edges.map(({ node }) => {
        const line = h("span", { class: "error", role: "alert" });
        return h("li", { dataset: { need: node.id } },
          h("strong", {}, node.text),
          h("div", { class: "muted" }, [node.category?.name, node.estate?.name, `${node.joinCount} 人附议`]
            .filter(Boolean).join(" · ")),
          h("button", { type: "button", class: "small secondary", onclick: async () => {
            if (await attempt(line, () => step("join", { id: node.id }), "已附议")) reload();
          } }, "我也需要（附议）"), line);
      }));
      if (!open.totalCount) needs.append(h("li", { class: "muted" }, "暂无公开的微需求"));
    }
    await reload();
    const box = h("div", { class: "requests-resident" },
      h("details", { class: "raise-box", open: true }, h("summary", {}, "我要提诉求"), raiseForm(ctx, options, reload)),
      h("h3", {}, "我的诉求"), mine,
      h("h3", {}, "社区微需求"), needs);
    onRequestChange(ctx, box, reload);
    return box;
  },
});

// -- boards: the property company's and the cadre's --------------------------------

const BOARD_STAGES = ["PUBLISHED", "DISPATCHED", "HANDLING", "VERIFYING"];

function board(ctx, { unitId, stages, actions, empty }) {
  const box = h("div", { class: "board", dataset: { board: ctx.grant.role } });
  let chosen = null;
  async function reload() {
    const found = (await gql(BOARD, { unitId, stages })).serviceRequests;
    const nodes = found.edges.map(e => e.node);
    const counts = Object.fromEntries(stages.map(s => [s, nodes.filter(n => n.stage === s).length]));
    chosen ??= stages.find(s => counts[s]) || stages[0];
    const tabs = h("div", { class: "tabs", role: "tablist" }, ...stages.map(stage =>
      h("button", { type: "button", "aria-pressed": String(stage === chosen), dataset: { tab: stage },
        onclick: () => { chosen = stage; reload(); } }, `${STAGES[stage]} ${counts[stage]}`)));
    const shown = nodes.filter(n => n.stage === chosen);
    box.dataset.total = String(nodes.length);
    box.replaceChildren(tabs, h("ul", { class: "list requests" },
      ...shown.map(node => item(node, ...actions(node, reload))),
      shown.length ? null : h("li", { class: "muted" }, empty)));
  }
  return { box, reload };
}

function handlerActions(node, reload) {
  if (node.stage === "DISPATCHED") {
    return [stepForm(node, reload, [["接单", "accept"], ["退回（不归我方处理）", "return", true]])];
  }
  if (node.stage === "HANDLING") {
    return [stepForm(node, reload, [["发布进展", "update", true], ["已办结", "resolve"]],
      { photos: true, placeholder: "处理进展或办结说明" })];
  }
  return [];
}

registerScreen({
  id: "request.company",
  slot: "company.requests",
  title: "诉求工单",
  async render(ctx) {
    const { box, reload } = board(ctx, {
      unitId: null, stages: ["DISPATCHED", "HANDLING", "VERIFYING"], actions: handlerActions,
      empty: "该阶段暂无工单",
    });
    await reload();
    onRequestChange(ctx, box, reload);
    return h("div", {}, h("p", { class: "muted" }, "所管小区居民的诉求，按办理阶段分列；新诉求实时出现。"), box);
  },
});

function cadreActions(node, reload) {
  if (node.stage === "PUBLISHED") return [stepForm(node, reload, [["按类别派单", "dispatch"]])];
  if (node.stage === "VERIFYING") {
    return [stepForm(node, reload, [["确认办结", "confirm"], ["退回重办", "reopen", true]],
      { placeholder: "退回重办请说明原因" })];
  }
  if (node.handlerKind === "COMMUNITY") return handlerActions(node, reload);
  return [];
}

registerScreen({
  id: "request.cadre",
  slot: "cadre.requests",
  title: "社区诉求",
  async render(ctx) {
    const { box, reload } = board(ctx, {
      unitId: ctx.grant.unit.id, stages: BOARD_STAGES, actions: cadreActions, empty: "该阶段暂无诉求",
    });
    await reload();
    onRequestChange(ctx, box, reload);
    return h("div", {}, h("p", { class: "muted" }, "本村社的诉求：待派单的派单，办结的确认或退回重办。"), box);
  },
});
