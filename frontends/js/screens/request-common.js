// What the request screens share: stage names, error messages in Chinese, the
// photo upload (GraphQL multipart, the existing fileUpload), a request's history,
// and the live notice of the request subscription (bursts settle for 150 ms).
import { accessToken, gql } from "../api.js";
import { h, when } from "../dom.js";

export const STAGES = {
  PUBLISHED: "待派单", DISPATCHED: "已派单", HANDLING: "办理中", VERIFYING: "待确认", EVALUATED: "已办结",
};
export const STAGE_ORDER = Object.keys(STAGES);
export const ACTIONS = {
  PUBLISH: "提交诉求", DISPATCH: "派单", ACCEPT: "接单", UPDATE: "进展", RESOLVE: "办结",
  CONFIRM: "确认办结", EVALUATE: "评价", REOPEN: "重新办理", RETURN: "退回", ESCALATE: "超时升级",
};
export const HANDLERS = { PROPERTY_COMPANY: "物业公司", COMMUNITY: "村社", DEPARTMENT: "职能部门" };

// Payload error codes of the request, property, evaluation and file domains.
export const MESSAGES = {
  TEXT_REQUIRED: "请填写诉求内容", TEXT_TOO_LONG: "内容太长了", CATEGORY_UNKNOWN: "请选择诉求类别",
  PLACE_REQUIRED: "请选择小区或村社", PLACE_UNKNOWN: "所选小区或村社不存在",
  PHOTO_UNKNOWN: "照片上传失败，请重新选择", TOO_MANY_PHOTOS: "照片太多了（最多 9 张）",
  DAILY_LIMIT: "今天提交的诉求已达上限，请明天再来", LOCATION_INVALID: "定位无效，可不带定位提交",
  LATITUDE_RANGE: "定位无效", LONGITUDE_RANGE: "定位无效", ACCURACY_RANGE: "定位精度无效",
  ILLEGAL_TRANSITION: "当前阶段不能这样操作，请刷新", REQUEST_CLOSED: "诉求已办结",
  RATING_INVALID: "请选择 1-5 星", ALREADY_RATED: "已经评价过了", ALREADY_JOINED: "已经附议过了",
  OWN_REQUEST: "不能附议自己提的诉求", NOT_SHARED: "该诉求未公开，不能附议", NOTE_TOO_LONG: "说明太长了",
  HANDLER_INVALID: "请选择处理方",
  CERTIFICATE_REQUIRED: "请填写不动产权证号", ID_NUMBER_FORMAT: "身份证号应为18位，最后一位可以是X",
  ID_NUMBER_DATE: "身份证号中的出生日期无效", ID_NUMBER_CHECK_DIGIT: "身份证号校验位不符，请核对",
  CLAIM_NOT_MATCHED: "证号与身份证号不匹配，请核对后重试（或联系社区）",
  ALREADY_VERIFIED: "该房产已认证", TOO_MANY_REQUESTS: "尝试次数过多，请24小时后再试",
  ANSWERS_INCOMPLETE: "请回答每一道题", ANSWER_OUT_OF_RANGE: "请为每题选择 1-5 分",
  COMMENT_TOO_LONG: "意见太长了", ROUND_CLOSED: "本轮测评已结束", NO_OPEN_ROUND: "当前没有进行中的测评",
  OWNERSHIP_REQUIRED: "请先认证房产", ALREADY_CHECKED: "本周期已经记录过了", ITEM_ENDED: "该事项已结束",
  EVIDENCE_REQUIRED: "请填写说明或上传照片", EVIDENCE_TYPE: "只能上传照片或 PDF",
  FORBIDDEN: "没有权限", NOT_FOUND: "未找到", UNAUTHENTICATED: "请先登录",
};

export function errorText(errors) {
  return errors.map(e => MESSAGES[e.code] || e.message).join("；");
}

// Shows the outcome of an action in a role=alert line; returns whether it worked.
export async function attempt(line, run, done = "已提交") {
  line.className = "error";
  line.textContent = "";
  try {
    const errors = await run();
    if (errors?.length) {
      line.textContent = errorText(errors);
      return false;
    }
    line.className = "ok";
    line.textContent = done;
    return true;
  } catch (error) {
    line.textContent = MESSAGES[error.code] || error.message;
    return false;
  }
}

const UPLOAD = `mutation Upload($file: Upload!) {
  fileUpload(file: $file) { errors { code message } file { id filename } } }`;

// Sends a mutation whose variables hold an Upload at `path` (the GraphQL
// multipart request); resolves to its data, throws a top-level error.
export async function withFile(query, variables, path, file) {
  const body = new FormData();
  body.append("operations", JSON.stringify({ query, variables }));
  body.append("map", JSON.stringify({ 0: [path] }));
  body.append("0", file, file.name);
  const token = await accessToken();
  const response = await fetch("/graphql", {
    method: "POST", body,
    headers: { "Apollo-Require-Preflight": "true", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const answer = await response.json();
  if (answer.errors?.length) {
    const [first] = answer.errors;
    throw Object.assign(new Error(MESSAGES[first.extensions?.code] || first.message),
      { code: first.extensions?.code });
  }
  return answer.data;
}

// Uploads one file with the existing fileUpload; resolves to its id.
export async function upload(file) {
  const result = (await withFile(UPLOAD, { file: null }, "variables.file", file))?.fileUpload;
  if (!result || result.errors.length) {
    throw new Error(result ? errorText(result.errors) : "照片上传失败");
  }
  return result.file.id;
}

export async function uploadAll(input) {
  const ids = [];
  for (const file of input.files || []) ids.push(await upload(file));
  return ids;
}

export function stageTag(stage) {
  return h("span", { class: `tag stage ${stage}`, dataset: { stage } }, STAGES[stage] || stage);
}

export function history(steps) {
  return h("ol", { class: "history" }, ...(steps || []).map(step => h("li", {},
    h("b", {}, ACTIONS[step.action] || step.action), " ", when(step.at),
    step.note ? h("div", {}, step.note) : null)));
}

const CHANGES = `subscription Changes { serviceRequestChanges { kind stage serviceRequestId } }`;

// Calls `reload` when a request the caller may see changes (the subscription is
// open to residents for their own requests and to handlers for theirs); bursts
// settle for 150 ms; stops once `box` has left the page.
export function onRequestChange(ctx, box, reload) {
  let timer = null;
  const stop = ctx.live?.subscribe({ query: CHANGES }, {
    next: () => {
      if (!box.isConnected) { stop?.(); return; }
      clearTimeout(timer);
      timer = setTimeout(() => { if (box.isConnected) reload(); }, 150);
    },
  });
  return stop;
}

export { gql, h, when };
