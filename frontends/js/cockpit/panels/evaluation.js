// Estate evaluation scores ranked (evaluationRanking) under the unit: property
// service, the current half-year if any estate is scored yet, else the one before;
// estates with too few owner ratings listed apart ("评价人数不足"). Live by
// estateChanges (a rating, a round closed); click an estate to open its community.
import { h } from "../../dom.js";
import { MUTED, TEXT } from "./common.js";

const RANKING = `query Ranking($unitId: ID!, $current: String!, $previous: String!) {
  current: evaluationRanking(unitId: $unitId, period: $current, target: PROPERTY_SERVICE) {
    rank estate { id name community { id name } } score { status score ownerRatings minOwnerRatings } }
  previous: evaluationRanking(unitId: $unitId, period: $previous, target: PROPERTY_SERVICE) {
    rank estate { id name community { id name } } score { status score ownerRatings minOwnerRatings } } }`;
const LIVE = `subscription Estates($unitId: ID!) { estateChanges(unitId: $unitId) { kind } }`;
const SHOWN = 10;

// The half-year periods (2026-H2) now and before, in China Standard Time.
export function periods(now = new Date()) {
  const [year, month] = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" })
    .format(now).split("-").map(Number);
  return month > 6
    ? { current: `${year}-H2`, previous: `${year}-H1` }
    : { current: `${year}-H1`, previous: `${year - 1}-H2` };
}

export default {
  id: "evaluation",
  title: "小区测评排名",
  levels: ["DISTRICT", "SUBDISTRICT", "COMMUNITY"],
  live: ctx => [{ query: LIVE, variables: { unitId: ctx.unit.id } }],
  async load(ctx) {
    const chosen = periods();
    const data = await ctx.gql(RANKING, { unitId: ctx.unit.id, ...chosen });
    const scored = list => list.some(r => r.rank !== null);
    const useCurrent = scored(data.current) || !scored(data.previous);
    return { period: useCurrent ? chosen.current : chosen.previous,
      ranking: useCurrent ? data.current : data.previous };
  },
  render(element, data, ctx, state) {
    if (!state.chart) {
      state.caption = h("p", { class: "caption" });
      state.box = h("div", { class: "chart", style: "min-height:160px;height:calc(100% - 72px)" });
      state.rest = h("p", { class: "caption muted" });
      element.replaceChildren(state.caption, state.box, state.rest);
      state.chart = ctx.charts.make(state.box);
      state.chart.on("click", params => {
        const community = state.ranked?.[params.dataIndex]?.estate?.community;
        if (community && community.id !== ctx.unit.id) ctx.drill(community.id);
      });
    }
    const ranked = data.ranking.filter(r => r.rank !== null).slice(0, SHOWN);
    const unscored = data.ranking.filter(r => r.rank === null);
    state.ranked = [...ranked].reverse();
    element.dataset.period = data.period;
    element.dataset.ranked = ranked.map(r => `${r.estate.name}:${r.score.score}`).join(",");
    state.caption.textContent = `${data.period} 物业服务得分 · 前 ${ranked.length} 名（共 ${data.ranking.length} 个小区）`;
    state.rest.textContent = unscored.length
      ? `评价人数不足（暂不计分）：${unscored.slice(0, 6).map(r => r.estate.name).join("、")}`
        + (unscored.length > 6 ? ` 等 ${unscored.length} 个` : "")
      : "";
    state.chart.setOption({
      textStyle: TEXT,
      tooltip: { trigger: "item",
        formatter: p => { const r = state.ranked[p.dataIndex];
          return `第 ${r.rank} 名 ${r.estate.name}（${r.estate.community?.name || ""}）<br>得分 ${r.score.score}，业主评价 ${r.score.ownerRatings} 份`; } },
      grid: { left: 96, right: 48, top: 8, bottom: 20 },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: MUTED, splitLine: { lineStyle: { color: "#1d4a7a" } } },
      yAxis: { type: "category", data: state.ranked.map(r => `${r.rank}. ${r.estate.name}`), axisLabel: TEXT },
      series: [{ type: "bar", barMaxWidth: 22, data: state.ranked.map(r => r.score.score), itemStyle: { color: "#3ddc84" },
        label: { show: true, position: "right", color: "#e6f0ff" } }],
    }, true);
    if (!ranked.length) state.caption.textContent = `${data.period} 暂无小区得分`;
  },
};
