// Imports (名单导入): an official brings in a department's list of beneficiaries,
// a cadre an estate's real-estate register. Each import says what became of every
// line: counts by outcome, then the lines refused or changed with their reasons,
// and the recent imports of the same kind below.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";
import { MESSAGES, errorText, upload, withFile } from "./request-common.js";

export const OUTCOMES = {
  TAKEN: "新增", MERGED: "更新", UNCHANGED: "未变", REFUSED: "未导入",
  ENDED: "已注销", KEPT: "未注销（有未导入的行）",
};
export const SOURCES = {
  ZHELIJIU: "浙里救", CIVIL_AFFAIRS: "民政", HOUSING: "住建", DISABLED_FEDERATION: "残联",
};
// Row codes of the register and the care lists, in plain Chinese; the ID number's
// own codes read as the claim screen says them (MESSAGES).
export const ROW_CODES = {
  CERTIFICATE_REQUIRED: "缺少不动产权证号", CERTIFICATE_TOO_LONG: "不动产权证号过长",
  DWELLING_REQUIRED: "缺少房号", OWNER_NAME_REQUIRED: "缺少权利人姓名",
  CERTIFICATE_OF_ANOTHER_ESTATE: "该证号属于其他小区的登记簿",
  RECORD_UPDATED: "已更新房号或姓名", RECORD_RESTORED: "重新列入登记簿，可再次认证",
  ID_NUMBER_MISSING: "缺少身份证号",
  NAME_INVALID: "姓名无效", DATE_INVALID: "日期无效", DUPLICATE_IN_FILE: "文件中重复",
  COMMUNITY_UNKNOWN: "找不到所属村社", COMMUNITY_AMBIGUOUS: "所属村社不唯一",
  OUTSIDE_JURISDICTION: "不在本辖区", TAG_UNKNOWN: "对象类别无法识别", GRADE_UNKNOWN: "等级无法识别",
};
const ERRORS = {
  MISSING_COLUMNS: "文件缺少必需的列", FILE_UNREADABLE: "无法读取文件，请上传 CSV 或 Excel（.xlsx）",
  FILE_GONE: "文件已丢失，请重新上传",
};
const RUN = `status totalRows doneRows counts startedAt failure filename
  reports(first: 100) { totalCount edges { node { rowNumber outcome code message } } }`;
const RUNS = `query Runs($kind: String) { importRuns(kind: $kind, first: 5) {
  edges { node { id filename status counts startedAt } } } }`;
const ESTATES = `query Estates($unitId: ID!) { estates(unitId: $unitId, first: 100) {
  edges { node { id name } } } }`;
const REGISTER = `mutation Register($estateId: ID!, $fileId: ID!, $whole: Boolean!) {
  propertyRegisterImport(estateId: $estateId, fileId: $fileId, wholeRegister: $whole) {
    errors { code message } importRun { ${RUN} } } }`;
const BENEFICIARIES = `mutation Beneficiaries($input: BeneficiaryImportInput!) {
  beneficiaryImport(input: $input) { errors { code message } unlistedTags run { ${RUN} } } }`;

function countsText(counts) {
  return Object.entries(counts || {})
    .map(([outcome, n]) => `${OUTCOMES[outcome] || outcome} ${n}`).join(" · ");
}

function errorsText(errors) {
  return errors.map(e => ERRORS[e.code] || errorText([e])).join("；");
}

// What became of one import: its counts, then every line reported.
export function runView(run) {
  if (run.status === "FAILED") {
    return h("p", { class: "error", role: "alert" }, `导入中断（${run.failure}），已导入的部分保留；可重新导入同一文件继续。`);
  }
  const lines = run.reports.edges.map(({ node }) => h("li", { dataset: { row: node.rowNumber } },
    h("b", {}, `第 ${node.rowNumber} 行`), " ",
    h("span", { class: `tag outcome ${node.outcome}` }, OUTCOMES[node.outcome] || node.outcome), " ",
    ROW_CODES[node.code] || MESSAGES[node.code] || node.message || node.code));
  const more = run.reports.totalCount - lines.length;
  return h("div", { class: "import-result" },
    h("p", { class: "ok", role: "status" }, `共 ${run.totalRows} 行：${countsText(run.counts)}`),
    lines.length ? h("ul", { class: "list reports" }, ...lines) : null,
    more > 0 ? h("p", { class: "muted" }, `另有 ${more} 行，详见导入记录`) : null);
}

async function recent(kind) {
  const found = (await gql(RUNS, { kind })).importRuns.edges;
  if (!found.length) return h("p", { class: "muted" }, "暂无导入记录");
  return h("ul", { class: "list runs" }, ...found.map(({ node }) => h("li", {},
    h("span", {}, node.filename), " ", h("span", { class: "muted" }, when(node.startedAt)),
    h("div", { class: "muted" }, node.status === "DONE" ? countsText(node.counts) : "未完成"))));
}

// A form around one file input: disables itself while the import runs, then
// shows the result and refreshes the recent imports.
function importForm({ id, fields, accept, run, kind }) {
  const file = h("input", { type: "file", id: `${id}-file`, accept });
  const line = h("p", { class: "error", role: "alert" });
  const result = h("div", { class: "import-output" });
  const history = h("div", { class: "import-history" });
  const button = h("button", { type: "submit" }, "导入");
  const refresh = async () => history.replaceChildren(await recent(kind));
  const form = h("form", { class: "stack", id, onsubmit: async event => {
    event.preventDefault();
    line.textContent = "";
    result.replaceChildren();
    if (!file.files.length) { line.textContent = "请选择文件"; return; }
    button.disabled = true;
    button.textContent = "导入中…";
    try {
      const outcome = await run(file.files[0]);
      if (outcome.errors.length) line.textContent = errorsText(outcome.errors);
      else result.replaceChildren(runView(outcome.run));
      await refresh();
    } catch (error) {
      line.textContent = error.message;
    } finally {
      button.disabled = false;
      button.textContent = "导入";
    }
  } },
  ...fields,
  h("label", { for: `${id}-file` }, "文件（CSV 或 Excel .xlsx）"), file, button, line);
  refresh();
  return h("div", {}, form, result, h("h3", {}, "最近导入"), history);
}

registerScreen({
  id: "imports.register",
  slot: "cadre.imports",
  title: "不动产登记簿导入",
  async render(ctx) {
    const estates = (await gql(ESTATES, { unitId: ctx.grant.unit.id })).estates.edges;
    if (!estates.length) return h("p", { class: "muted" }, "本村社没有小区");
    const estate = h("select", { id: "register-estate" },
      ...estates.map(({ node }) => h("option", { value: node.id }, node.name)));
    const whole = h("input", { type: "checkbox", id: "register-whole" });
    return h("div", {},
      h("p", { class: "muted" }, "列：不动产权证号、房号、权利人、身份证号。身份证号只保存比对用的指纹和掩码。"),
      importForm({
        id: "register-import", accept: ".csv,.xlsx", kind: "PROPERTY_REGISTER",
        fields: [
          h("label", { for: "register-estate" }, "小区"), estate,
          h("label", { class: "check", for: "register-whole" }, whole,
            " 这是完整的登记簿：未列出的房产将注销认证"),
        ],
        async run(file) {
          const fileId = await upload(file);
          const data = await gql(REGISTER, { estateId: estate.value, fileId, whole: whole.checked });
          const payload = data.propertyRegisterImport;
          return { errors: payload.errors, run: payload.importRun };
        },
      }));
  },
});

registerScreen({
  id: "imports.beneficiaries",
  slot: "official.imports",
  title: "帮扶对象名单导入",
  async render(ctx) {
    const source = h("select", { id: "beneficiary-source" },
      ...Object.entries(SOURCES).map(([value, name]) => h("option", { value }, name)));
    return h("div", {},
      h("p", { class: "muted" }, `导入到 ${ctx.grant.unit.name}：按部门名单的原格式上传，逐行核对身份证号；名单中没有的对象转为待复核，不会删除。`),
      importForm({
        id: "beneficiary-import", accept: ".csv,.xlsx", kind: null,
        fields: [h("label", { for: "beneficiary-source" }, "名单来源"), source],
        async run(file) {
          const variables = { input: { source: source.value, unitId: ctx.grant.unit.id, file: null } };
          const payload = (await withFile(BENEFICIARIES, variables, "variables.input.file", file)).beneficiaryImport;
          return { errors: payload.errors, run: payload.run };
        },
      }));
  },
});
