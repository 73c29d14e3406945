// Verified properties (不动产认证): the resident's verified properties, and the
// claim form (certificate number + ID number) with clear messages.
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";
import { attempt, gql } from "./request-common.js";

const MINE = `query Mine { myPropertyOwnerships { id certificateNumber verifiedAt endedAt
  estate { name } household { address } } }`;
const CLAIM = `mutation Claim($certificateNumber: String!, $idNumber: String!) {
  propertyClaim(certificateNumber: $certificateNumber, idNumber: $idNumber) {
    errors { field code message } ownership { id household { address } estate { name } } } }`;

function claimForm(onDone) {
  const certificate = h("input", { name: "certificateNumber", id: "claim-certificate", maxlength: 60,
    placeholder: "如 浙(2017)温州市不动产权第0000028号", autocomplete: "off" });
  const idNumber = h("input", { name: "idNumber", id: "claim-id", maxlength: 18, inputmode: "text",
    placeholder: "18位身份证号", autocomplete: "off" });
  const line = h("p", { class: "error", role: "alert", id: "claim-message" });
  const form = h("form", { class: "claim", id: "claim-form" },
    h("label", { for: "claim-certificate" }, "不动产权证号"), certificate,
    h("label", { for: "claim-id" }, "产权人身份证号"), idNumber,
    h("p", { class: "muted" }, "与不动产登记簿核对，身份证号只用于比对，不会保存原文。"),
    h("button", { type: "submit" }, "认证房产"), line);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const ok = await attempt(line, async () => (await gql(CLAIM, {
      certificateNumber: certificate.value, idNumber: idNumber.value,
    })).propertyClaim.errors, "认证成功");
    if (ok) {
      certificate.value = ""; idNumber.value = "";
      onDone(line.textContent);
    }
  });
  return form;
}

registerScreen({
  id: "property.mine",
  slot: "resident.properties",
  title: "我的房产",
  async render() {
    const list = h("ul", { class: "list properties", id: "my-properties" });
    async function reload() {
      const found = (await gql(MINE)).myPropertyOwnerships.filter(o => !o.endedAt);
      list.replaceChildren(...found.map(o => h("li", { dataset: { ownership: o.id } },
        h("strong", {}, o.household?.address || o.estate?.name || "—"),
        h("span", { class: "tag verified" }, "已认证"),
        h("div", { class: "muted" }, `${o.certificateNumber} · ${when(o.verifiedAt)} 认证`))));
      if (!found.length) list.append(h("li", { class: "muted" }, "暂无已认证房产，认证后可参加小区测评。"));
    }
    await reload();
    return h("div", {}, list,
      h("details", { class: "claim-box" }, h("summary", {}, "认证我的房产"), claimForm(reload)));
  },
});
