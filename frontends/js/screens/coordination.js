// Three-party coordination (三方协调): a party's duty items in its estates, each
// with its latest checks; recording this period's check with a note and a photo
// (uploaded with fileUpload). The property company sees its items in every estate
// it manages today; the owners' committee those of its estate.
import { h } from "../dom.js";
import { registerScreen } from "../screens.js";
import { attempt, gql, upload } from "./request-common.js";

export const PARTIES = { RESIDENTS_COMMITTEE: "居委会", OWNERS_COMMITTEE: "业委会", PROPERTY_COMPANY: "物业公司" };
const FREQUENCIES = { WEEKLY: "每周", MONTHLY: "每月", QUARTERLY: "每季度", YEARLY: "每年" };
const ITEMS = `query Items($estateId: ID!, $party: DutyParty!) {
  dutyItems(estateId: $estateId, party: $party) { id title description frequency endedOn
    checks { id periodKey checkedOn note evidence { id filename } } }
  estateDuties(estateId: $estateId) { party items due done } }`;
const RECORD = `mutation Record($input: DutyCheckRecordInput!) {
  dutyCheckRecord(input: $input) { errors { field code message } dutyCheck { id periodKey } } }`;

function checkForm(item, onDone) {
  const note = h("input", { name: "note", maxlength: 500, placeholder: "本期完成情况", "aria-label": "完成情况" });
  const photo = h("input", { type: "file", name: "evidence", accept: "image/*,application/pdf", "aria-label": "照片" });
  const line = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "check", dataset: { item: item.id } }, note, photo,
    h("button", { type: "submit", class: "small" }, "记录本期检查"), line);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const ok = await attempt(line, async () => {
      const input = { itemId: item.id, note: note.value.trim() };
      if (photo.files?.length) input.evidenceId = await upload(photo.files[0]);
      return (await gql(RECORD, { input })).dutyCheckRecord.errors;
    }, "已记录");
    if (ok) onDone();
  });
  return form;
}

async function dutiesOf(estate, party, box) {
  const data = await gql(ITEMS, { estateId: estate.id, party });
  const mine = data.estateDuties.find(d => d.party === party);
  const items = data.dutyItems.filter(i => !i.endedOn);
  box.replaceChildren(...[
    h("h3", {}, estate.name),
    mine ? h("p", { class: "muted duties", dataset: { due: mine.due, done: mine.done } },
      `${PARTIES[party]}履职：${mine.items} 项，应检查 ${mine.due} 次，已完成 ${mine.done} 次`) : null,
    h("ul", { class: "list duty-items" }, ...items.map(item => {
      const checks = [...item.checks].sort((a, b) => b.checkedOn.localeCompare(a.checkedOn));
      const latest = checks[0];
      return h("li", { dataset: { dutyItem: item.id } },
        h("div", {}, h("span", { class: "tag" }, FREQUENCIES[item.frequency] || item.frequency),
          h("strong", {}, item.title)),
        item.description ? h("div", { class: "muted" }, item.description) : null,
        h("div", { class: "muted" }, latest
          ? `最近检查 ${latest.checkedOn}（${latest.periodKey}）${latest.note ? "：" + latest.note : ""}`
            + (latest.evidence ? " · 附照片" : "")
          : "尚无检查记录"),
        checkForm(item, () => dutiesOf(estate, party, box)));
    }), items.length ? null : h("li", { class: "muted" }, "暂无履职事项"))].filter(Boolean));
}

async function partyScreen(estates, party) {
  if (!estates.length) return h("p", { class: "muted" }, "暂无所属小区");
  const parts = [];
  for (const estate of estates) {
    const box = h("div", { class: "coordination", dataset: { estate: estate.id } });
    await dutiesOf(estate, party, box);
    parts.push(box);
  }
  return h("div", {}, ...parts);
}

function managedToday(organization) {
  const today = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date());
  return (organization?.managements || [])
    .filter(m => m.startsOn <= today && (!m.endsOn || m.endsOn > today) && m.estate)
    .map(m => m.estate);
}

registerScreen({
  id: "coordination.company",
  slot: "company.coordination",
  title: "三方协调 · 物业履职",
  render: ctx => partyScreen(managedToday(ctx.grant.organization), "PROPERTY_COMPANY"),
});

registerScreen({
  id: "coordination.committee",
  slot: "committee.coordination",
  title: "三方协调 · 业委会履职",
  render: ctx => partyScreen(ctx.grant.organization?.estate ? [ctx.grant.organization.estate] : [],
    "OWNERS_COMMITTEE"),
});
