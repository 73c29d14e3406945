// Where the domain screens mount. Each home declares its slots (the places on
// it where screens go); a domain adds one module under screens/ that calls
// registerScreen for the slots it fills, and one import line in screens/index.js.
//
//   registerScreen({ slot: "resident.requests", title: "我的诉求",
//                    render: async ctx => element })
//
// A slot with no screen yet shows what will be there, so each home is complete
// and clearly structured today.
import { card, h } from "./dom.js";

const screens = new Map(); // slot -> [screen]

export function registerScreen(screen) {
  if (!screen.slot || typeof screen.render !== "function") {
    throw new Error("a screen needs a slot and a render function");
  }
  const list = screens.get(screen.slot) || [];
  list.push(screen);
  screens.set(screen.slot, list);
}

export function screensFor(slot) {
  return screens.get(slot) || [];
}

// Renders the screens of a slot, or its placeholder when none is registered.
export async function renderSlot(slot, ctx) {
  const found = screensFor(slot.id);
  if (!found.length) {
    return h("section", { class: "card slot", dataset: { slot: slot.id } },
      h("h2", {}, slot.title),
      h("p", { class: "soon" }, slot.soon || "即将上线"));
  }
  const parts = [];
  for (const screen of found) {
    const body = await screen.render(ctx);
    parts.push(h("section", { class: "card", dataset: { slot: slot.id, screen: screen.id || "" } },
      h("h2", {}, screen.title || slot.title), body));
  }
  return parts;
}

export { card };
