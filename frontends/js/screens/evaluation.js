// Estate evaluation (小区测评): a verified owner rates their estate in an open
// round (the questionnaire's questions, 1-5 each); the property company and the
// owners' committee see their scores, how each was made, and "评价人数不足" when
// too few owners rated for a score to be shown.
import { h } from "../dom.js";
import { registerScreen } from "../screens.js";
import { attempt, gql } from "./request-common.js";

export const TARGETS = { PROPERTY_SERVICE: "物业服务", OWNERS_COMMITTEE: "业委会" };
export const GROUPS = {
  OWNERS: "业主", PARTY_ORGANIZATION: "党组织", PROPERTY_COMPANY: "物业公司", SUBDISTRICT: "街道", COMMUNITY: "社区",
};
const SCORE = `status score ownerRatings minOwnerRatings groups { group weight count mean share }`;
const OPEN = `query Open { myPropertyOwnerships { id endedAt estate { id } }
  evaluationRounds(status: OPEN, first: 20) { edges { node { id period endsOn estate { id name }
    myRatings { id target score comment }
    questionnaire { name questions { id target position text } } } } } }`;
const RATE = `mutation Rate($input: RatingSubmitInput!) {
  ratingSubmit(input: $input) { errors { field code message } rating { id target score } } }`;
const SCORES = `query Scores($estateId: ID) { evaluationRounds(estateId: $estateId, first: 40) {
  edges { node { id period status startsOn endsOn estate { id name }
    propertyService { ${SCORE} } ownersCommittee { ${SCORE} } } } } }`;

export function scoreText(score) {
  return score.status === "SCORED" && score.score !== null ? score.score.toFixed(2) : "评价人数不足";
}

// A score and how it was made: each group's weight, count, mean and real share.
export function scoreView(score, target) {
  if (!score) return null;
  const scored = score.status === "SCORED" && score.score !== null;
  return h("div", { class: "score", dataset: { target, status: score.status } },
    h("div", { class: "row" }, h("span", {}, TARGETS[target]),
      h("b", { class: scored ? "value" : "value muted" }, scoreText(score))),
    scored
      ? h("ul", { class: "groups muted" }, ...score.groups.filter(g => g.count).map(g => h("li", {},
          `${GROUPS[g.group] || g.group}：${g.count} 人评价，平均 ${g.mean?.toFixed(1) ?? "—"}，`
          + `权重 ${g.weight}%${g.share !== null && g.share !== g.weight ? `（实际 ${g.share.toFixed(1)}%）` : ""}`)))
      : h("p", { class: "muted" },
          `业主评价 ${score.ownerRatings} 份，至少需要 ${score.minOwnerRatings} 份才公布得分（保护评价人）。`),
    scored ? h("p", { class: "muted" }, "得分 = 各方平均分按权重加权（未评价的一方不计，其余按比例放大）。") : null);
}

function rateForm(round, target, ownershipId, onDone) {
  const questions = round.questionnaire.questions.filter(q => q.target === target)
    .sort((a, b) => a.position - b.position);
  const selects = questions.map(q => h("select", { name: q.id, "aria-label": q.text },
    h("option", { value: "" }, "请打分"),
    ...[5, 4, 3, 2, 1].map(n => h("option", { value: n }, `${n} 分${n === 5 ? "（很满意）" : n === 1 ? "（很不满意）" : ""}`))));
  const comment = h("input", { name: "comment", maxlength: 500, placeholder: "意见建议（可选）",
    "aria-label": "意见建议" });
  const line = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "rate", dataset: { rate: target } },
    ...questions.map((q, i) => [h("label", {}, `${i + 1}. ${q.text}`), selects[i]]), comment,
    h("button", { type: "submit" }, `提交对${TARGETS[target]}的评价`), line);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const ok = await attempt(line, async () => {
      if (selects.some(s => !s.value)) return [{ code: "ANSWERS_INCOMPLETE" }];
      return (await gql(RATE, { input: {
        roundId: round.id, target, group: "OWNERS", ownershipId, comment: comment.value.trim(),
        answers: questions.map((q, i) => ({ questionId: q.id, value: Number(selects[i].value) })),
      } })).ratingSubmit.errors;
    }, "感谢评价");
    if (ok) onDone();
  });
  return form;
}

registerScreen({
  id: "evaluation.rate",
  slot: "resident.evaluation",
  title: "小区测评",
  async render() {
    const box = h("div", { class: "evaluation-rate" });
    async function reload() {
      const data = await gql(OPEN);
      const owned = new Map(data.myPropertyOwnerships.filter(o => !o.endedAt).map(o => [o.estate?.id, o.id]));
      const rounds = data.evaluationRounds.edges.map(e => e.node).filter(r => owned.has(r.estate?.id));
      if (!rounds.length) {
        box.replaceChildren(h("p", { class: "muted" },
          owned.size ? "当前没有进行中的测评" : "认证房产后，可为所在小区的物业服务和业委会打分。"));
        return;
      }
      box.replaceChildren(...rounds.map(round => h("div", { class: "round", dataset: { round: round.id } },
        h("h3", {}, `${round.estate.name} · ${round.period} 测评`),
        h("p", { class: "muted" }, `截止 ${round.endsOn}，每套房产每项评价一次；评价内容仅本人可见。`),
        ...Object.keys(TARGETS).map(target => {
          const mine = round.myRatings.find(r => r.target === target);
          if (mine) {
            return h("p", { class: "rated", dataset: { rated: target } },
              `已评价${TARGETS[target]}：${mine.score.toFixed(0)} 分`, mine.comment ? ` · ${mine.comment}` : "");
          }
          return h("details", {}, h("summary", {}, `为${TARGETS[target]}打分`),
            rateForm(round, target, owned.get(round.estate.id), reload));
        }))));
    }
    await reload();
    return box;
  },
});

// Scores of the rounds of some estates, newest period first, for one target.
async function scoresOf(estateId, target) {
  const rounds = (await gql(SCORES, { estateId })).evaluationRounds.edges.map(e => e.node)
    .sort((a, b) => b.startsOn.localeCompare(a.startsOn) || a.estate.name.localeCompare(b.estate.name));
  const key = target === "PROPERTY_SERVICE" ? "propertyService" : "ownersCommittee";
  if (!rounds.length) return h("p", { class: "muted" }, "暂无测评");
  return h("ul", { class: "list scores" }, ...rounds.map(round => h("li", { dataset: { round: round.id } },
    h("strong", {}, `${round.estate.name} · ${round.period}`),
    h("span", { class: "muted" }, round.status === "OPEN" ? " · 进行中（实时）" : " · 已结束"),
    scoreView(round[key], target))));
}

registerScreen({
  id: "evaluation.company",
  slot: "company.evaluation",
  title: "服务测评",
  render: () => scoresOf(null, "PROPERTY_SERVICE"),
});

registerScreen({
  id: "evaluation.committee",
  slot: "committee.evaluation",
  title: "业委会测评",
  render: ctx => scoresOf(ctx.grant.organization?.estate?.id || null, "OWNERS_COMMITTEE"),
});
