// Tasks (任务): a cadre accepts and submits the assignments of their community
// (text and files as the task requires; a returned one shows why); an official
// sees the task board of their unit (live by taskBoardChanged), drills down to
// the communities, issues a task and verifies or returns what was submitted.
import { accessToken, gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

export const STATES = {
  ISSUED: "待接收", ACCEPTED: "办理中", SUBMITTED: "待审核", VERIFIED: "已核销", RETURNED: "已退回",
};
const REQUIREMENTS = { REQUIRED_TEXT: "需填写文字", REQUIRED_FILES: "需上传附件", BOTH: "需文字和附件" };
const MESSAGES = {
  TITLE_REQUIRED: "请填写任务标题", DEADLINE_PASSED: "截止时间须晚于现在",
  NOT_AN_ISSUING_UNIT: "本单位不能下发任务", NO_TARGETS: "请至少选择一个村社",
  TARGET_NOT_COMMUNITY: "只能下发到村社", TARGET_OUTSIDE_UNIT: "只能下发到本单位辖区内的村社",
  FILE_NOT_FOUND: "附件不存在或已失效", REMINDER_INVALID: "提醒时间不正确",
  TRANSITION_NOT_ALLOWED: "任务当前状态不允许此操作", ASSIGNMENT_ARCHIVED: "任务已归档，不能再修改",
  RESULT_TEXT_REQUIRED: "此任务需要填写办理情况", RESULT_FILES_REQUIRED: "此任务需要上传附件",
  REASON_REQUIRED: "请填写退回原因",
};

export function errorText(errors, messages = MESSAGES) {
  return errors.map(e => messages[e.code] || e.message).join("；");
}

// Uploads one file by the GraphQL multipart request spec; resolves to its id.
const UPLOAD = `mutation Upload($file: Upload!) {
  fileUpload(file: $file) { errors { message code } file { id filename } } }`;
export async function upload(file) {
  const body = new FormData();
  body.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", file, file.name);
  const token = await accessToken();
  const response = await fetch("/graphql", {
    method: "POST", body,
    headers: { "apollo-require-preflight": "true", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (response.status === 413) throw new Error(`文件 ${file.name} 太大`);
  const result = (await response.json()).data?.fileUpload;
  if (!result) throw new Error(`文件 ${file.name} 上传失败`);
  if (result.errors.length) throw new Error(`${file.name}：${result.errors[0].message}`);
  return result.file.id;
}

export async function uploadAll(input) {
  const ids = [];
  for (const file of input.files || []) ids.push(await upload(file));
  return ids;
}

function stateTag(assignment) {
  return h("span", { class: `tag state ${assignment.state}` },
    STATES[assignment.state] || assignment.state, assignment.isOverdue ? " · 逾期" : "");
}

// -- the cadre's assignments ------------------------------------------------------

const MINE = `query Mine { myAssignments(states: [ISSUED, ACCEPTED, RETURNED, SUBMITTED], first: 30) {
  totalCount edges { node { id state deadline isOverdue returnReason resultText submittedAt
    unit { name } task { title instructions category requirement } } } } }`;
const ACCEPT = `mutation Accept($id: ID!) { taskAssignmentAccept(id: $id) {
  errors { field message code } assignment { id state } } }`;
const SUBMIT = `mutation Submit($id: ID!, $text: String!, $fileIds: [ID!]) {
  taskAssignmentSubmit(id: $id, text: $text, fileIds: $fileIds) {
    errors { field message code } assignment { id state } } }`;

function submitForm(node, message, reload) {
  const requirement = node.task.requirement;
  const text = requirement !== "REQUIRED_FILES"
    ? h("textarea", { name: "text", maxlength: 2000, "aria-label": "办理情况", placeholder: "办理情况" }, node.resultText || "")
    : null;
  const files = requirement !== "REQUIRED_TEXT"
    ? h("input", { type: "file", name: "files", multiple: true, "aria-label": "附件" })
    : null;
  const form = h("form", { class: "submit", hidden: node.state === "ACCEPTED" && !node.resultText },
    text ? h("label", {}, "办理情况") : null, text,
    files ? h("label", {}, "附件（照片或文档）") : null, files,
    h("button", { type: "submit" }, node.state === "RETURNED" ? "重新提交" : "提交"));
  form.addEventListener("submit", async event => {
    event.preventDefault();
    message.className = "error";
    message.textContent = "";
    try {
      const fileIds = files ? await uploadAll(files) : [];
      const result = (await gql(SUBMIT, { id: node.id, text: text ? text.value : "", fileIds })).taskAssignmentSubmit;
      if (result.errors.length) { message.textContent = errorText(result.errors); return; }
      message.className = "ok";
      message.textContent = "已提交，等待审核";
      await reload();
    } catch (error) {
      message.textContent = error.message;
    }
  });
  return form;
}

function assignmentItem(node, reload) {
  const message = h("p", { class: "error", role: "alert" });
  const item = h("li", { class: "assignment", dataset: { assignment: node.id, state: node.state } },
    h("div", {}, stateTag(node), h("strong", {}, node.task.title)),
    h("div", { class: "muted" }, `${node.task.category || "任务"} · ${REQUIREMENTS[node.task.requirement] || ""} · 截止 ${when(node.deadline)}`),
    node.task.instructions ? h("p", {}, node.task.instructions) : null,
    node.state === "RETURNED" && node.returnReason
      ? h("p", { class: "returned" }, "退回原因：", node.returnReason) : null);
  if (node.state === "ISSUED") {
    item.append(h("button", { type: "button", class: "accept", onclick: async () => {
      try {
        const result = (await gql(ACCEPT, { id: node.id })).taskAssignmentAccept;
        if (result.errors.length) { message.textContent = errorText(result.errors); return; }
        await reload();
      } catch (error) { message.textContent = error.message; }
    } }, "接收任务"));
  } else if (node.state === "ACCEPTED" || node.state === "RETURNED") {
    const form = submitForm(node, message, reload);
    if (form.hidden) {
      item.append(h("button", { type: "button", class: "secondary open-submit",
        onclick: event => { form.hidden = false; event.currentTarget.remove(); } }, "填写办理情况"));
    }
    item.append(form);
  } else if (node.state === "SUBMITTED") {
    item.append(h("p", { class: "muted" }, `已于 ${when(node.submittedAt)} 提交，等待审核`));
  }
  item.append(message);
  return item;
}

registerScreen({
  id: "task.assignments",
  slot: "cadre.assignments",
  title: "我的任务",
  async render() {
    const summary = h("p", {});
    const list = h("ul", { class: "list assignments" });
    async function reload() {
      const found = (await gql(MINE)).myAssignments;
      const open = found.edges.filter(({ node }) => node.state !== "SUBMITTED").length;
      summary.textContent = found.totalCount ? `待办 ${open} 项 · 共 ${found.totalCount} 项` : "";
      list.replaceChildren(...found.edges.map(({ node }) => assignmentItem(node, reload)));
      if (!found.totalCount) list.append(h("li", { class: "muted" }, "暂无待办任务"));
    }
    await reload();
    return h("div", {}, summary, list);
  },
});

// -- the official's task board ----------------------------------------------------

const BOARD = `query Board($unitId: ID!) { taskBoard(unitId: $unitId) {
  unit { id name level }
  totals { total issued accepted submitted verified returned overdue completionRate }
  children { unit { id name level } total issued accepted submitted verified returned overdue completionRate }
  communities { unit { id name } total submitted verified overdue } } }`;
const SUBMITTED = `query Submitted($unitId: ID!) {
  taskAssignments(unitId: $unitId, states: [SUBMITTED], first: 20) {
    totalCount edges { node { id state deadline isOverdue resultText submittedAt
      unit { name } task { title requirement unit { id name } } resultFiles { id filename } } } } }`;
const VERIFY = `mutation Verify($id: ID!) { taskAssignmentVerify(id: $id) {
  errors { field message code } assignment { id state } } }`;
const RETURN = `mutation Return($id: ID!, $reason: String!) { taskAssignmentReturn(id: $id, reason: $reason) {
  errors { field message code } assignment { id state } } }`;
const ISSUE = `mutation Issue($input: TaskIssueInput!) { taskIssue(input: $input) {
  errors { field message code } task { id title assignments { id } } } }`;
const LIVE = `subscription Board($unitId: ID!) { taskBoardChanged(unitId: $unitId) { at } }`;

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

function boardTable(board, onDrill) {
  const rows = board.children.length ? board.children : board.communities;
  return h("table", { class: "board" },
    h("thead", {}, h("tr", {}, ...["单位", "待接收", "办理中", "待审核", "已核销", "逾期", "完成率"].map(t => h("th", {}, t)))),
    h("tbody", {}, ...rows.map(entry => h("tr", { dataset: { unit: entry.unit?.name || "" } },
      h("td", {}, entry.unit && board.children.length && entry.unit.level !== "COMMUNITY"
        ? h("a", { href: "#", onclick: event => { event.preventDefault(); onDrill(entry.unit); } }, entry.unit.name)
        : entry.unit?.name || ""),
      h("td", {}, String(entry.issued ?? "")), h("td", {}, String((entry.accepted ?? 0) + (entry.returned ?? 0))),
      h("td", {}, String(entry.submitted)), h("td", {}, String(entry.verified)),
      h("td", { class: entry.overdue ? "overdue" : "" }, String(entry.overdue)),
      h("td", {}, percent(entry.completionRate))))));
}

function reviewItem(node, reload, issuer) {
  const message = h("p", { class: "error", role: "alert" });
  const reason = h("input", { name: "reason", maxlength: 500, "aria-label": "退回原因", placeholder: "退回原因" });
  async function act(query, variables, key) {
    message.textContent = "";
    try {
      const result = (await gql(query, variables))[key];
      if (result.errors.length) { message.textContent = errorText(result.errors); return; }
      await reload();
    } catch (error) { message.textContent = error.message; }
  }
  return h("li", { class: "review", dataset: { assignment: node.id } },
    h("div", {}, stateTag(node), h("strong", {}, node.task.title), " · ", node.unit?.name || ""),
    h("div", { class: "muted" }, `提交于 ${when(node.submittedAt)}`),
    node.resultText ? h("p", {}, node.resultText) : null,
    node.resultFiles.length ? h("p", { class: "muted" }, "附件：", node.resultFiles.map(f => f.filename).join("、")) : null,
    node.task.unit?.id === issuer
      ? h("div", { class: "actions" },
        h("button", { type: "button", class: "verify", onclick: () => act(VERIFY, { id: node.id }, "taskAssignmentVerify") }, "审核通过"),
        reason,
        h("button", { type: "button", class: "secondary return",
          onclick: () => act(RETURN, { id: node.id, reason: reason.value }, "taskAssignmentReturn") }, "退回"))
      : h("p", { class: "muted" }, `由${node.task.unit?.name || "下发单位"}审核`),
    message);
}

function issueForm(unit, communities, onDone) {
  const title = h("input", { name: "title", maxlength: 100, "aria-label": "任务标题" });
  const instructions = h("textarea", { name: "instructions", maxlength: 2000, "aria-label": "任务要求" });
  const category = h("input", { name: "category", maxlength: 20, "aria-label": "类别", placeholder: "如：安全生产" });
  const requirement = h("select", { name: "requirement", "aria-label": "办结要求" },
    ...Object.entries(REQUIREMENTS).map(([value, label]) => h("option", { value }, label)));
  const deadline = h("input", { name: "deadline", type: "date", "aria-label": "截止日期" });
  const boxes = communities.map(c => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "community", value: c.unit.id }), c.unit.name));
  const message = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "issue" },
    h("label", {}, "任务标题"), title, h("label", {}, "任务要求"), instructions,
    h("label", {}, "类别"), category, h("label", {}, "办结要求"), requirement,
    h("label", {}, "截止日期"), deadline,
    h("fieldset", {}, h("legend", {}, "下发到村社（不选则下发到全部）"), ...boxes),
    h("button", { type: "submit" }, "下发任务"), message);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    message.className = "error";
    message.textContent = "";
    if (!deadline.value) { message.textContent = "请选择截止日期"; return; }
    const chosen = boxes.map(b => b.firstChild).filter(b => b.checked).map(b => b.value);
    const input = {
      unitId: unit.id, title: title.value, instructions: instructions.value, category: category.value,
      requirement: requirement.value, deadline: `${deadline.value}T17:30:00+08:00`,
      ...(chosen.length ? { communityIds: chosen } : { underUnitIds: [unit.id] }),
    };
    try {
      const result = (await gql(ISSUE, { input })).taskIssue;
      if (result.errors.length) { message.textContent = errorText(result.errors); return; }
      message.className = "ok";
      message.textContent = `已下发到 ${result.task.assignments.length} 个村社`;
      title.value = ""; instructions.value = "";
      onDone();
    } catch (error) { message.textContent = error.message; }
  });
  return form;
}

registerScreen({
  id: "task.board",
  slot: "official.tasks",
  title: "任务看板",
  async render(ctx) {
    const home = ctx.grant.unit;
    let shown = home;
    const heading = h("h3", {});
    const back = h("button", { type: "button", class: "small secondary", hidden: true,
      onclick: () => { shown = home; reload(); } }, "← 返回本级");
    const totals = h("div", { class: "figures" });
    const table = h("div", { class: "board-wrap" });
    const reviews = h("ul", { class: "list reviews" });
    const issueBox = h("details", {}, h("summary", {}, "下发新任务"));
    const root = h("div", { class: "task-board" }, heading, back, totals, table,
      h("h3", {}, "待审核"), reviews, issueBox);
    let settle = null;
    async function reload() {
      const board = (await gql(BOARD, { unitId: shown.id })).taskBoard;
      const t = board.totals;
      heading.textContent = board.unit.name;
      back.hidden = shown.id === home.id;
      totals.replaceChildren(...[["任务", t.total], ["待审核", t.submitted], ["已核销", t.verified],
        ["逾期", t.overdue], ["完成率", percent(t.completionRate)]].map(([label, value]) =>
        h("div", { class: `figure${label === "逾期" && t.overdue ? " alert" : ""}` }, h("b", {}, String(value)), label)));
      totals.dataset.submitted = String(t.submitted);
      totals.dataset.verified = String(t.verified);
      table.replaceChildren(boardTable(board, unit => { shown = unit; reload(); }));
      const waiting = (await gql(SUBMITTED, { unitId: shown.id })).taskAssignments;
      reviews.replaceChildren(...waiting.edges.map(({ node }) => reviewItem(node, reload, home.id)));
      if (!waiting.totalCount) reviews.append(h("li", { class: "muted" }, "没有待审核的任务"));
      if (!issueBox.dataset.ready && shown.id === home.id) {
        issueBox.dataset.ready = "1";
        issueBox.append(issueForm(home, board.communities, reload));
      }
      root.dataset.redraws = String(Number(root.dataset.redraws || 0) + 1);
    }
    await reload();
    const stop = ctx.live.subscribe({ query: LIVE, variables: { unitId: home.id } }, {
      next: () => {
        if (!root.isConnected) { stop(); return; }
        clearTimeout(settle);
        settle = setTimeout(reload, 150);
      },
      error: errors => console.warn("taskBoardChanged refused", errors),
    });
    return root;
  },
});
