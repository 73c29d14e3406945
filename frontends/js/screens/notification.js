// Every person's messages (notifications stored for them): the unread ones,
// live as they arrive, marked read with one tap.
import { gql } from "../api.js";
import { h, when } from "../dom.js";
import { registerScreen } from "../screens.js";

const UNREAD = `query Unread { notifications(unread: true, first: 50) {
  totalCount edges { node { id title body createdAt } } } }`;
const READ = `mutation Read($ids: [ID!]!) { markNotificationsRead(ids: $ids) { count errors { code } } }`;
const ADDED = `subscription Added { notificationAdded { id } }`;

registerScreen({
  id: "notification.unread",
  slot: "messages",
  title: "消息",
  async render(ctx) {
    const box = h("div", { class: "messages" });
    async function reload() {
      const found = (await gql(UNREAD)).notifications;
      const latest = found.edges.slice(-5).reverse();
      const parts = [
        h("p", { class: "muted" }, found.totalCount ? `未读 ${found.totalCount} 条` : "没有未读消息"),
        h("ul", { class: "list" }, ...latest.map(({ node }) => h("li", {},
          h("strong", {}, node.title), node.body ? h("div", {}, node.body) : null,
          h("div", { class: "muted" }, when(node.createdAt))))),
        found.totalCount ? h("button", { type: "button", class: "secondary", onclick: async () => {
          await gql(READ, { ids: found.edges.map(e => e.node.id) });
          reload();
        } }, "全部标为已读") : null,
      ];
      // replaceChildren would print a null as the text "null".
      box.replaceChildren(...parts.filter(Boolean));
    }
    await reload();
    // A new message shows at once; the subscription ends with the page.
    ctx.live?.subscribe({ query: ADDED }, { next: () => { if (box.isConnected) reload(); } });
    return box;
  },
});
