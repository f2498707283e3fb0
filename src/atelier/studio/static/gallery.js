// The Gallery: every item with its recipe; filter by kind; downloads; "use these settings" (back to
// the page that made it, its form filled); "reproduce" (re-run the recipe, say what differs).
import {$, $$, api, downloads, el, guarded, handOver, itemFileUrl, postJSON, runJob} from "/static/common.js";
import {melodyCard} from "/static/music.js";

const list = $("#items");
let kind = "";

function preview(item) {
  const prefer = ["grid.png", "strip.png", "stylized.png", "morph.gif"];
  const name = prefer.find((n) => item.files.includes(n)) || item.files.find((n) => /\.(png|gif)$/.test(n));
  return name ? el("img", {class: "preview", src: itemFileUrl(item, name), alt: item.title, loading: "lazy"}) : null;
}

async function card(item) {
  const when = new Date(item.created * 1000).toLocaleString();
  const verdict = el("p", {class: "verdict", "aria-live": "polite"});
  const buttons = el("p", {class: "buttons"},
    el("button", {type: "button", class: "reuse", onclick: () => guarded(async () => {
      const {page, params} = await postJSON(`/api/items/${encodeURIComponent(item.id)}/reuse`);
      handOver(page, params);
    })}, "Use these settings"),
    el("button", {type: "button", class: "reproduce", onclick: (e) => reproduce(item, verdict, e.currentTarget)}, "Reproduce"));
  const body = item.kind === "music"
    ? await melodyCard(item, {title: item.title})
    : el("div", {}, el("h3", {}, item.title), preview(item), downloads(item));
  return el("article", {class: `item ${item.kind}`, dataset: {item: item.id, kind: item.kind}},
    body,
    el("p", {class: "meta"}, `${item.kind} · ${item.recipe?.job || ""} · ${when}`),
    buttons, verdict,
    el("details", {}, el("summary", {}, "Recipe"), el("pre", {}, JSON.stringify(item.recipe, null, 1))));
}

async function reproduce(item, verdict, button) {
  button.disabled = true;
  verdict.className = "verdict";
  verdict.textContent = "reproducing…";
  try {
    const {job} = await runJob("reproduce", {item: item.id});
    const result = job.result || {};
    if (result.identical) {
      verdict.className = "verdict identical";
      verdict.textContent = `identical: the recipe made ${(result.checked || []).join(", ") || "its files"} again, bit for bit`;
    } else {
      verdict.className = "verdict different";
      verdict.replaceChildren("differs:", el("ul", {}, (result.differences || ["(no details)"]).map((d) => el("li", {}, d))));
    }
  } catch (error) {
    verdict.className = "verdict different";
    verdict.textContent = `could not reproduce: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

async function load() {
  const items = await api(kind ? `/api/items?kind=${kind}` : "/api/items");
  list.replaceChildren(...await Promise.all(items.map(card)));
  $("#items-empty").hidden = items.length > 0;
}

for (const button of $$("#filters button")) {
  button.addEventListener("click", () => {
    kind = button.dataset.kind;
    for (const b of $$("#filters button")) b.setAttribute("aria-pressed", String(b === button));
    guarded(load);
  });
}
guarded(load);
