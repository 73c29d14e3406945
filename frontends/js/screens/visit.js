// Visits (民情走访): the cadre's visits due (the people of their community whose
// next visit is due soonest) and their open visit orders (派单); the check-in at
// the person's home with the phone's location, then the report: the situation,
// needs and photos.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";
import { uploadAll } from "./task.js";

const DUE = `query Due($unitId: ID!, $visitorId: ID!) {
  beneficiaries(unitId: $unitId, status: ACTIVE, first: 40) { totalCount
    edges { node { id name address visitDueAt lastVisitAt tags { kind } } } }
  visitOrders(mine: true, status: OPEN, first: 20) { totalCount
    edges { node { id reason note deadline isOverdue beneficiary { id name address } } } }
  visits(visitorId: $visitorId, first: 20) {
    edges { node { id status checkedInAt distanceM beneficiary { id name } } } } }`;
const CHECK_IN = `mutation CheckIn($input: VisitCheckInInput!) { visitCheckIn(input: $input) {
  errors { field message code } distanceM visit { id status checkedInAt distanceM beneficiary { id name } } } }`;
const REPORT = `mutation Report($input: VisitReportInput!) { visitReport(input: $input) {
  errors { field message code } visit { id status reportedAt } } }`;

export const TAGS = {
  LOW_INCOME: "低保", LOW_INCOME_EDGE: "低边", EXTREME_POVERTY: "特困", DISABILITY: "残疾",
  ELDERLY_ALONE: "独居老人", CHILD_IN_DIFFICULTY: "困境儿童", HOUSING_SUBSIDY: "住房保障",
};
const REASONS = { ORDERED: "上级派单", OVERDUE: "超期未走访", NEW_BENEFICIARY: "新增对象" };

function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("此设备无法定位")); return; }
    navigator.geolocation.getCurrentPosition(resolve, error => reject(new Error(
      error.code === 1 ? "未允许定位：请在浏览器设置中允许本站使用位置信息" : "定位失败，请到开阔处重试")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  });
}

function reportForm(visit, reload) {
  const situation = h("textarea", { name: "situation", maxlength: 2000, "aria-label": "走访情况" });
  const needs = h("textarea", { name: "needs", maxlength: 2000, "aria-label": "需求与困难" });
  const photos = h("input", { type: "file", name: "photos", accept: "image/*", multiple: true, "aria-label": "照片" });
  const message = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "visit-report", dataset: { visit: visit.id } },
    h("h4", {}, `走访记录 · ${visit.beneficiary?.name || ""}`),
    h("p", { class: "muted" }, `${when(visit.checkedInAt)} 签到，距住处 ${Math.round(visit.distanceM)} 米`),
    h("label", {}, "走访情况"), situation, h("label", {}, "需求与困难"), needs,
    h("label", {}, "现场照片"), photos, h("button", { type: "submit" }, "提交走访记录"), message);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    message.className = "error";
    message.textContent = "";
    if (!situation.value.trim()) { message.textContent = "请填写走访情况"; return; }
    try {
      const photoIds = await uploadAll(photos);
      const input = { visitId: visit.id, situation: situation.value, needs: needs.value, photoIds };
      const result = (await gql(REPORT, { input })).visitReport;
      if (result.errors.length) { message.textContent = result.errors.map(e => e.message).join("；"); return; }
      await reload("走访记录已提交");
    } catch (error) { message.textContent = error.message; }
  });
  return form;
}

function checkInButton(beneficiary, orderId, message, reload) {
  return h("button", { type: "button", class: "small visit-check-in", onclick: async event => {
    const button = event.currentTarget;
    button.disabled = true;
    message.className = "error";
    message.textContent = "正在定位…";
    try {
      const { coords } = await position();
      const input = { beneficiaryId: beneficiary.id, orderId,
        location: { latitude: coords.latitude, longitude: coords.longitude, accuracy: coords.accuracy, system: "WGS84" } };
      const result = (await gql(CHECK_IN, { input })).visitCheckIn;
      if (result.errors.length) {
        message.textContent = `${beneficiary.name || ""}：${result.errors.map(e => e.message).join("；")}`;
        return;
      }
      await reload(`已在 ${beneficiary.name || ""} 家签到，请填写走访记录`);
    } catch (error) {
      message.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  } }, "到访签到");
}

registerScreen({
  id: "visit.due",
  slot: "cadre.visits",
  title: "民情走访",
  async render(ctx) {
    const message = h("p", { class: "error", role: "alert" });
    const root = h("div", { class: "visits" });
    async function reload(notice) {
      const data = await gql(DUE, { unitId: ctx.grant.unit.id, visitorId: ctx.viewer.person.id });
      const now = Date.now();
      const open = data.visits.edges.map(e => e.node).filter(v => v.status === "CHECKED_IN");
      const due = data.beneficiaries.edges.map(e => e.node)
        .filter(b => b.visitDueAt)
        .sort((a, b) => Date.parse(a.visitDueAt) - Date.parse(b.visitDueAt))
        .slice(0, 12);
      const overdue = due.filter(b => Date.parse(b.visitDueAt) < now).length;
      message.className = notice ? "ok" : "error";
      message.textContent = notice || "";
      root.replaceChildren(
        h("p", {}, `走访对象 ${data.beneficiaries.totalCount} 人 · 派单 ${data.visitOrders.totalCount} 件`),
        message,
        ...open.map(visit => reportForm(visit, reload)),
        h("h3", {}, "派单"),
        h("ul", { class: "list orders" }, ...data.visitOrders.edges.map(({ node }) => h("li", { dataset: { order: node.id } },
          h("div", {}, h("span", { class: "tag" }, REASONS[node.reason] || node.reason), h("strong", {}, node.beneficiary?.name || "")),
          h("div", { class: "muted" }, `${node.beneficiary?.address || ""} · 截止 ${when(node.deadline)}${node.isOverdue ? " · 已超期" : ""}`),
          node.note ? h("p", {}, node.note) : null,
          node.beneficiary ? checkInButton(node.beneficiary, node.id, message, reload) : null)),
        data.visitOrders.totalCount ? null : h("li", { class: "muted" }, "暂无派单")),
        h("h3", {}, overdue ? `待走访（${overdue} 人已超期）` : "待走访"),
        h("ul", { class: "list due" }, ...due.map(b => h("li", { dataset: { beneficiary: b.id } },
          h("div", {}, h("strong", {}, b.name || "（未登记姓名）"), " ",
            ...b.tags.slice(0, 2).map(t => h("span", { class: "tag" }, TAGS[t.kind] || t.kind))),
          h("div", { class: Date.parse(b.visitDueAt) < now ? "overdue" : "muted" },
            `${b.address || ""} · 应于 ${when(b.visitDueAt)} 前走访`, b.lastVisitAt ? ` · 上次 ${when(b.lastVisitAt)}` : " · 尚未走访"),
          checkInButton(b, null, message, reload))),
        due.length ? null : h("li", { class: "muted" }, "暂无待走访对象")));
    }
    await reload();
    return root;
  },
});
