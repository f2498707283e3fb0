// Shared by every studio page: JSON calls, uploads, the job queue panel fed by server-sent events,
// the page's message line, "use these settings" hand-over, and the keyboard shortcuts.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Make an element: el("button", {class: "x", onclick: f}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

/** fetch + JSON; a non-2xx answer throws an Error carrying the server's one-line message. */
export async function api(path, options = {}) {
  const response = await fetch(path, {credentials: "same-origin", ...options});
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!response.ok) {
    const detail = body && typeof body === "object" ? (body.error || body.detail) : null;
    throw new Error(typeof detail === "string" ? detail : `${response.status} ${response.statusText}`);
  }
  return body;
}

export const postJSON = (path, data) => api(path, {
  method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data ?? {}),
});

/** Upload one File; the server decides its type from the bytes: {id, kind, name, width?, height?}. */
export function upload(file) {
  const limit = Number(document.body.dataset.maxUpload) || Infinity;
  if (file.size > limit) {
    return Promise.reject(new Error(`${file.name} is too large: uploads are at most ${Math.floor(limit / 2 ** 20)} MB`));
  }
  const form = new FormData();
  form.append("file", file, file.name);
  return api("/api/uploads", {method: "POST", body: form});
}

let modelsPromise = null;
/** The models and bundled inputs the server offers (fetched once per page). */
export const models = () => (modelsPromise ??= api("/api/models"));

export const itemFileUrl = (item, name) =>
  `/api/items/${encodeURIComponent(item.id)}/files/${encodeURIComponent(name)}`;

/** A line of download links, one per file of an item. */
export function downloads(item) {
  const link = (name) => el("a", {href: itemFileUrl(item, name), download: name}, name);
  const singles = item.files.filter((name) => /^image_\d+\.png$/.test(name));  // a sample's pictures one by one
  const main = item.files.filter((name) => !singles.includes(name));
  return el("div", {class: "downloads"}, "Download: ", main.map(link),
    singles.length ? el("details", {}, el("summary", {}, `${singles.length} single pictures`), singles.map(link)) : null);
}

// ---- the page's message line -------------------------------------------------------------------

export function showMessage(text, kind = "error") {
  const box = $("#message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

export function clearMessage() {
  const box = $("#message");
  box.hidden = true;
  box.textContent = "";
}

/** Run an async action, turning any failure into the page's message (the page keeps working). */
export async function guarded(action) {
  try {
    clearMessage();
    return await action();
  } catch (error) {
    showMessage(error.message || String(error));
    return undefined;
  }
}

// ---- jobs: the queue panel and waiting for a result ---------------------------------------------

const FINISHED = new Set(["done", "failed", "cancelled"]);
const jobs = new Map();     // id -> the latest job JSON seen
const waiters = new Map();  // id -> [{resolve, reject}]

function jobChanged(job) {
  jobs.set(job.id, {...jobs.get(job.id), ...job});
  renderQueue();
  if (FINISHED.has(job.status) && waiters.has(job.id)) {
    for (const {resolve, reject} of waiters.get(job.id)) {
      if (job.status === "done") resolve(jobs.get(job.id));
      else reject(new Error(job.error || `the job was ${job.status}`));
    }
    waiters.delete(job.id);
  }
}

/** Submit a job; resolves to its id. */
export async function submitJob(kind, params) {
  const {id} = await postJSON("/api/jobs", {kind, params});
  if (!jobs.has(id)) jobChanged({id, kind, status: "queued", step: 0, total: 0});
  return id;
}

/** Resolve with the finished job (status "done") or reject with its error or cancellation. */
export function waitForJob(id) {
  return new Promise((resolve, reject) => {
    if (!waiters.has(id)) waiters.set(id, []);
    waiters.get(id).push({resolve, reject});
    const known = jobs.get(id);
    if (known && FINISHED.has(known.status)) jobChanged(known);
    else pollWhileWaiting();
  });
}

/** Submit, wait, and hand back the finished job's item (fetched when the job names it by id). */
export async function runJob(kind, params) {
  const job = await waitForJob(await submitJob(kind, params));
  return {job, item: await jobItem(job)};
}

export async function jobItem(job) {
  if (job.item && typeof job.item === "object") return job.item;
  if (job.item) return api(`/api/items/${encodeURIComponent(job.item)}`);
  return null;
}

export const cancelJob = (id) => postJSON(`/api/jobs/${encodeURIComponent(id)}/cancel`);

// A safety net for a dropped event stream: while something waits, ask for the waited jobs now and then.
let polling = false;
async function pollWhileWaiting() {
  if (polling) return;
  polling = true;
  while (waiters.size) {
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of [...waiters.keys()]) {
      try { jobChanged(await api(`/api/jobs/${encodeURIComponent(id)}`)); } catch { /* next round */ }
    }
  }
  polling = false;
}

function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return "< 1 s left";
  return seconds < 90 ? `${Math.round(seconds)} s left` : `${Math.round(seconds / 60)} min left`;
}

const rows = new Map();  // job id -> its <li>, kept so a Cancel button is not replaced under the pointer

function renderQueue() {
  const list = $("#queue-list");
  if (!list) return;
  const all = [...jobs.values()];
  const active = all.filter((j) => !FINISHED.has(j.status));
  const recent = all.filter((j) => FINISHED.has(j.status)).slice(-4).reverse();
  const shown = [...active, ...recent];
  for (const [id, row] of rows) {
    if (!shown.some((j) => j.id === id)) { row.remove(); rows.delete(id); }
  }
  shown.forEach((job, i) => {
    const row = rows.get(job.id) || makeRow(job);
    updateRow(row, job);
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  $("#queue-empty").hidden = all.length > 0;
  $("#queue-count").textContent = active.length ? `(${active.length})` : "";
}

function makeRow(job) {
  const row = el("li", {dataset: {job: job.id}},
    el("span", {class: "job-kind"}, job.kind || "job"),
    el("span", {class: "job-detail"}),
    el("progress", {}),
    el("img", {class: "job-preview", alt: "", hidden: true}),
    el("button", {type: "button", class: "cancel", title: "Cancel (Esc cancels the running job)",
      onclick: () => guarded(() => cancelJob(job.id))}, "Cancel"));
  rows.set(job.id, row);
  return row;
}

function updateRow(row, job) {
  const total = job.total || 0;
  const finished = FINISHED.has(job.status);
  row.className = `job ${job.status}`;
  row.dataset.status = job.status;
  const bar = row.querySelector("progress");
  bar.max = total || 1;
  if (job.status === "queued" || (job.status === "running" && !total)) bar.removeAttribute("value");
  else bar.value = job.status === "done" ? total || 1 : job.step || 0;
  row.querySelector(".cancel").hidden = finished;
  const preview = row.querySelector(".job-preview");
  if (job.preview && !finished) { preview.src = job.preview; preview.hidden = false; }
  else if (finished) preview.hidden = true;
  row.querySelector(".job-detail").textContent = job.status === "running"
    ? `${job.step || 0}/${total || "?"} ${formatEta(job.eta_s)}`
    : job.status === "failed" ? (job.error || "failed") : job.status;
}

function listenToEvents() {
  const source = new EventSource("/api/events");
  source.onmessage = (event) => {
    try { jobChanged(JSON.parse(event.data)); } catch { /* a comment or keep-alive */ }
  };
}

async function loadQueue() {
  try {
    for (const job of await api("/api/jobs")) jobChanged(job);
  } catch (error) {
    showMessage(error.message);
  }
}

// ---- "use these settings": the gallery hands a recipe to the page that made it ------------------

const REUSE_KEY = "atelier-reuse";

export function handOver(page, params) {
  sessionStorage.setItem(REUSE_KEY, JSON.stringify(params));
  location.assign(page);
}

/** The settings handed over by the gallery, once (null when there are none). */
export function takeHandOver() {
  const raw = sessionStorage.getItem(REUSE_KEY);
  sessionStorage.removeItem(REUSE_KEY);
  return raw ? JSON.parse(raw) : null;
}

/** Put params into the fields of a form whose names match; returns the names it could not place. */
export function fillForm(form, params) {
  const missed = [];
  for (const [name, value] of Object.entries(params)) {
    const field = form.elements.namedItem(name);
    if (!field) { missed.push(name); continue; }
    if (field.type === "checkbox") field.checked = Boolean(value);
    else field.value = value === null || value === undefined ? "" : String(value);
    field.dispatchEvent(new Event("change", {bubbles: true}));
  }
  return missed;
}

// ---- keyboard: Ctrl+Enter runs the page's form, Esc cancels the running job ---------------------

function onKey(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const focused = document.activeElement?.closest("form[data-run]");
    const form = focused || $("form[data-run][data-primary]") || $("form[data-run]");
    if (form) { event.preventDefault(); form.requestSubmit(); }
  } else if (event.key === "Escape") {
    const running = [...jobs.values()].find((j) => j.status === "running");
    if (running) { event.preventDefault(); guarded(() => cancelJob(running.id)); }
  }
}

export function start() {
  document.addEventListener("keydown", onKey);
  $("#message-close")?.addEventListener("click", clearMessage);
  listenToEvents();
  loadQueue();
}

/** A number from a form field, or null when it is empty. */
export function numberOrNull(value) {
  return value === "" || value === null || value === undefined ? null : Number(value);
}

/** Disable a form's submit button while its job runs, with a label saying so. */
export async function busy(form, action) {
  const button = form.querySelector("button[type=submit]");
  const label = button?.textContent;
  if (button) { button.disabled = true; button.textContent = "Working…"; }
  try {
    return await guarded(action);
  } finally {
    if (button) { button.disabled = false; button.textContent = label; }
  }
}
