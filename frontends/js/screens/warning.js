// Warnings (预警) of the cadre's community: what needs attention, until cured.
// Each links to its subject: a beneficiary opens with their visits due below.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

export const WARNING_KINDS = {
  VISIT_OVERDUE: "超期未走访", NEW_BENEFICIARY: "新增对象", UNATTENDED: "失管",
  DECEASED: "新亡", TASK_OVERDUE: "任务逾期", REQUEST_OVERDUE: "诉求超时",
};
const OPEN = `query Open($unitId: ID!) { warnings(unitId: $unitId, first: 20) {
  totalCount edges { node { id kind raisedAt subjectType subjectId detail unit { name } } } } }`;
const SUBJECT = `query Subject($id: ID!) { node(id: $id) {
  ... on Beneficiary { id name address health carerName visitDueAt lastVisitAt status
    responsible { name } tags { kind } visits(first: 3) { edges { node { checkedInAt situation needs visitor { name } } } } }
  ... on TaskAssignment { id state deadline task { title } unit { name } }
  ... on ServiceRequest { id } } }`;
const REASONS = { NO_RESPONSIBLE: "未指定走访责任人", CARER_GONE: "监护人已离开" };

function detailText(node) {
  const detail = node.detail || {};
  if (detail.days_overdue) return `已超期 ${detail.days_overdue} 天`;
  if (detail.reason) return REASONS[detail.reason] || "";
  return "";
}

function subjectView(subject) {
  if (!subject) return h("p", { class: "muted" }, "无权查看或已不存在");
  if (subject.state) {
    return h("div", { class: "subject" }, h("strong", {}, subject.task?.title || ""),
      h("p", { class: "muted" }, `${subject.unit?.name || ""} · 截止 ${when(subject.deadline)}`));
  }
  if (subject.name === undefined) return h("p", { class: "muted" }, "详见对应业务页面");
  const last = subject.visits?.edges?.[0]?.node;
  return h("div", { class: "subject", dataset: { beneficiary: subject.id } },
    h("p", {}, h("strong", {}, subject.name || ""), " · ", subject.address || ""),
    h("p", { class: "muted" }, `责任人：${subject.responsible?.name || "未指定"} · 监护人：${subject.carerName || "无"}`),
    h("p", { class: "muted" }, subject.visitDueAt ? `应于 ${when(subject.visitDueAt)} 前走访` : "",
      last ? ` · 上次走访 ${when(last.checkedInAt)}（${last.visitor?.name || ""}）` : " · 尚未走访"),
    last?.situation ? h("p", {}, last.situation) : null,
    h("a", { href: "#visits", onclick: event => {
      event.preventDefault();
      const target = document.querySelector(`[data-screen="visit.due"] [data-beneficiary="${subject.id}"]`)
        || document.querySelector('[data-screen="visit.due"]');
      target?.scrollIntoView({ behavior: "smooth", block: "center" });
    } }, "去走访 →"));
}

registerScreen({
  id: "warning.open",
  slot: "cadre.warnings",
  title: "预警",
  async render(ctx) {
    const found = (await gql(OPEN, { unitId: ctx.grant.unit.id })).warnings;
    if (!found.totalCount) return h("p", { class: "muted" }, "暂无待处理的预警");
    return h("div", {},
      h("p", {}, `待处理 ${found.totalCount} 条`),
      h("ul", { class: "list warnings" }, ...found.edges.map(({ node }) => {
        const box = h("div", { class: "subject-box", hidden: true });
        const open = async event => {
          event.preventDefault();
          if (!box.hidden) { box.hidden = true; return; }
          box.hidden = false;
          if (box.dataset.loaded) return;
          box.replaceChildren(h("p", { class: "muted" }, "加载中…"));
          try {
            box.replaceChildren(subjectView((await gql(SUBJECT, { id: node.subjectId })).node));
            box.dataset.loaded = "1";
          } catch (error) {
            box.replaceChildren(h("p", { class: "error" }, error.message));
          }
        };
        return h("li", { dataset: { warning: node.id } },
          h("a", { href: "#", class: "warning-subject", onclick: open },
            h("span", { class: "tag" }, WARNING_KINDS[node.kind] || node.kind), node.unit?.name || ""),
          h("div", { class: "muted" }, when(node.raisedAt), " ", detailText(node)), box);
      })));
  },
});
