// The cockpit's panels, in the order they are laid out. A panel is a module:
//
//   export default {
//     id: "tasks", title: "任务完成", size: "wide" | undefined,
//     levels: ["DISTRICT", "SUBDISTRICT", "COMMUNITY"],   // where it shows (all if absent)
//     live: ctx => [{ query, variables }],                  // subscriptions that redraw it
//     load: async ctx => data,                              // its queries
//     render: (element, data, ctx, state) => {},            // draws; ctx.charts.make(el) for ECharts
//   };
//
// The domains add theirs here (tasks and duty: issue 4; requests and evaluation:
// issue 5; visits and warnings: issue 6).
import below from "./below.js";
import care from "./care.js";
import changes from "./changes.js";
import duty from "./duty.js";
import estates from "./estates.js";
import evaluation from "./evaluation.js";
import posts from "./posts.js";
import requests from "./requests.js";
import tasks from "./tasks.js";
import totals from "./totals.js";
import warnings from "./warnings.js";

export const PANELS = [
  totals, below, tasks, duty, care, estates, warnings, posts, requests, evaluation, changes,
];
