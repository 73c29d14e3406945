// Pieces the homes share.
import { gql } from "../api.js";
import { card, h } from "../dom.js";
import { renderSlot } from "../screens.js";

// Every home's first slot: the person's messages (screens/notification.js).
export const MESSAGES = { id: "messages", title: "消息" };

export const LEVELS = {
  PROVINCE: "省", CITY: "市", DISTRICT: "区", SUBDISTRICT: "镇街", COMMUNITY: "村社", GRID: "网格",
};

const COCKPIT = `query Cockpit($unitId: ID!) { cockpit(unitId: $unitId) {
  communities estates households people
  below { unit { id name level } communities estates households people } } }`;

export async function cockpitFigures(unitId) {
  return (await gql(COCKPIT, { unitId })).cockpit;
}

export function figures(values) {
  return h("div", { class: "figures" }, ...values.map(([label, value]) =>
    h("div", { class: "figure" }, h("b", {}, String(value)), label)));
}

export function unitFigures(cockpit, level) {
  const shown = [["户", cockpit.households], ["人", cockpit.people]];
  if (level !== "COMMUNITY") shown.unshift(["村社", cockpit.communities]);
  shown.splice(shown.length - 2, 0, ["小区", cockpit.estates]);
  return figures(shown);
}

// The home's slots, in order, each with the screens registered for it.
export async function slots(list, ctx) {
  const parts = [];
  for (const slot of list) parts.push(await renderSlot(slot, ctx));
  return parts;
}

export function cockpitLink(unitId) {
  return h("a", { href: `/cockpit.html?unit=${encodeURIComponent(unitId)}`, class: "cockpit-link" },
    "打开数据驾驶舱 →");
}

export function home(role, ...children) {
  return h("div", { class: "home", dataset: { home: role } }, ...children);
}

export { card, h };
