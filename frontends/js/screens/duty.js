// Duty (值班): today's duty (myDutyToday: each rule due, its window, points and
// state), the check-in with the phone's location (WGS-84 and its accuracy, as
// navigator.geolocation gives them) for the open one, and the month's attendance.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

const TODAY = `query Today($personId: ID!, $day: Date!) {
  myDutyToday { state startsAt endsAt graceMinutes unit { id name } points { name }
    checkIn { id at distanceM isLate minutesLate point { name } } }
  month: dutyStatistics(period: MONTH, day: $day, personId: $personId) {
    startsOn endsOn totals { scheduled attended late missed pending minutesLate attendanceRate missedDays } } }`;
const CHECK_IN = `mutation CheckIn($location: LocationInput!, $unitId: ID) {
  dutyCheckIn(location: $location, unitId: $unitId) {
  errors { field message code } distanceM nearestPoint { name }
  checkIn { id at distanceM isLate minutesLate point { name } } } }`;

const REASONS = {
  NOT_ON_DUTY: "今天没有您的值班安排。", TOO_EARLY: "还没到签到时间。", WINDOW_CLOSED: "今天的值班时段已结束。",
  ALREADY_CHECKED_IN: "今天已经签到过了。", NO_CHECK_IN_POINT: "本村社还没有设置签到点，请联系管理员。",
};

const STATES = {
  UPCOMING: "未到签到时间", OPEN: "可以签到", LATE: "已过宽限时间，现在签到记迟到",
  CHECKED_IN: "已签到", MISSED: "今天的值班时段已结束，未签到",
};

// Today in China, as a GraphQL Date.
export function chinaToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("此设备无法定位")); return; }
    navigator.geolocation.getCurrentPosition(resolve, error => reject(new Error(
      error.code === 1 ? "未允许定位：请在浏览器设置中允许本站使用位置信息" : "定位失败，请到开阔处重试")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  });
}

function refusal(result) {
  const error = result.errors[0];
  const parts = [];
  if (error.code === "OUTSIDE_FENCE" || error.code === "ACCURACY_TOO_POOR") {
    parts.push("签到未成功：", error.message);
    if (result.nearestPoint) parts.push(`（最近的签到点：${result.nearestPoint.name}）`);
  } else {
    parts.push(error.message || REASONS[error.code] || "签到未成功");
  }
  return parts.join("");
}

function done(checkIn) {
  return h("p", { class: "ok checked-in" },
    `已签到 ${when(checkIn.at)} · ${checkIn.point?.name || ""} · 距离 ${Math.round(checkIn.distanceM)} 米`,
    checkIn.isLate ? `（迟到 ${checkIn.minutesLate} 分钟）` : "");
}

// One rule due today: the community, the window, the points, how it stands.
function duty(today) {
  const hours = `${today.startsAt.slice(0, 5)}–${today.endsAt.slice(0, 5)}`;
  const grace = today.graceMinutes ? `（宽限 ${today.graceMinutes} 分钟）` : "";
  const points = today.points.map(p => p.name).join("、") || "本村社还没有设置签到点";
  return h("li", { class: "duty-today", dataset: { state: today.state } },
    h("b", {}, today.unit?.name || ""), ` 值班 ${hours}${grace}`,
    h("p", { class: "muted" }, "签到点：", points),
    today.checkIn ? done(today.checkIn) : h("p", { class: "muted" }, STATES[today.state]));
}

// The duty a check-in now would count for: the first whose check-in is open.
export function openDuty(todays) {
  return todays.find(t => t.state === "OPEN" || t.state === "LATE") || null;
}

function rate(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

registerScreen({
  id: "duty.check-in",
  slot: "cadre.duty",
  title: "今日值班签到",
  async render(ctx) {
    const personId = ctx.viewer.person.id;
    const day = chinaToday();
    const status = h("div", { class: "duty-status" });
    const message = h("p", { class: "error", role: "alert" });
    const stats = h("div", {});
    const button = h("button", { type: "button", class: "big check-in" }, "定位签到");
    let open = null;
    async function reload() {
      const data = await gql(TODAY, { personId, day });
      const todays = data.myDutyToday;
      open = openDuty(todays);
      status.replaceChildren(todays.length
        ? h("ul", { class: "duty-todays" }, ...todays.map(duty))
        : h("p", { class: "muted" }, REASONS.NOT_ON_DUTY));
      button.hidden = !open;
      const t = data.month.totals;
      stats.replaceChildren(h("h3", {}, "本月值班"),
        h("div", { class: "figures" }, ...[["应值班", t.scheduled], ["已签到", t.attended], ["迟到", t.late],
          ["缺勤", t.missed], ["出勤率", rate(t.attendanceRate)]].map(([label, value]) =>
          h("div", { class: "figure" }, h("b", {}, String(value)), label))),
        ...(t.missedDays.length ? [h("p", { class: "muted" }, "缺勤日：", t.missedDays.map(d => d.slice(5)).join("、"))] : []));
    }
    button.addEventListener("click", async () => {
      message.className = "error";
      message.textContent = "正在定位…";
      button.disabled = true;
      try {
        const { coords } = await position();
        const location = { latitude: coords.latitude, longitude: coords.longitude,
          accuracy: coords.accuracy, system: "WGS84" };
        const result = (await gql(CHECK_IN, { location, unitId: open?.unit?.id })).dutyCheckIn;
        if (result.errors.length) {
          message.textContent = refusal(result);
          return;
        }
        message.className = "ok";
        message.textContent = "签到成功";
        await reload();
      } catch (error) {
        message.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
    await reload();
    return h("div", { class: "duty" }, status, button, message, stats);
  },
});
