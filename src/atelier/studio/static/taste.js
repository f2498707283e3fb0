// The Taste tab: answer questions (pick the best of 2–4 works), generate for me, rate works 1–5,
// see why, and export or delete the profile. Asking, generating, rating and "why" are jobs (the
// worker has the models); an answer and the profile's numbers need no model and answer at once.
import {$, api, busy, el, fillForm, guarded, itemFileUrl, models, postJSON, runJob, showMessage, takeHandOver,
  upload} from "/static/common.js";
import {fetchMidiNotes, melodyView} from "/static/music.js";

const form = $("#taste-form");
const kinds = new Map();   // model name -> kind
const classes = new Map(); // image model name -> its number of classes
let question = null;       // the open question: the ask job's result
// The files of an item that each hold one work (as the server's params.WORK_FILE).
const WORK_FILE = /^(image_\d{3}\.png|stylized\.png|melody_\d{3}\.mid)$/;
const RECENT = 8;          // recent one-work items offered for rating
// Jobs whose one work can be a model's own candidate (a call and response or a morph never is; the
// library says why when one of these cannot be rated either, e.g. a melody with a primer).
const RATED_JOBS = new Set(["sample", "compose", "stylize", "taste_for_me"]);

const profile = () => form.elements.profile.value.trim();
const model = () => form.elements.model.value;
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What every taste job names: the model (with its photo, class or length) and the profile. */
function subject() {
  const f = form.elements;
  const kind = kinds.get(model());
  const p = {model: model(), profile: profile()};
  if (kind === "fast_style") p.photo = f.photo.value;
  if (kind === "gan" || kind === "vae") p.label = f.label.value === "" ? null : Number(f.label.value);
  if (kind === "melody_rnn") p.bars = Number(f.bars.value);
  return p;
}

function modelChanged() {
  const kind = kinds.get(model()) || "";
  document.body.dataset.tasteKind = kind;
  const label = form.elements.label;
  const count = classes.get(model()) || 0;
  label.replaceChildren(el("option", {value: ""}, count ? "any" : "— (unconditional)"),
    ...Array.from({length: count}, (_, c) => el("option", {value: String(c)}, String(c))));
  label.disabled = !count;
  forget();
  refreshCount();
}

/** The open question, the for-me works and the "why" belong to one model and profile. */
function forget() {
  question = null;
  $("#question").replaceChildren(el("p", {class: "hint"}, "Press Ask me for a question about this model."));
  $("#for-me").replaceChildren();
  $("#why").replaceChildren();
}

function showCount(answers) {
  $("#answer-count").textContent = plural(answers?.[model()] || 0, "answer");
}

async function refreshCount() {
  const name = profile();
  const link = $("#export-profile");
  link.href = `/api/taste/profiles/${encodeURIComponent(name)}/export`;
  link.setAttribute("download", `taste-${name}.json`);
  const found = await guarded(() => api(`/api/taste/profiles/${encodeURIComponent(name)}`));
  if (!found) return;
  showCount(found.answers);
  $("#profile-file").textContent = found.file;
}

// ---- a question: its works, each with "This one" ------------------------------------------------

function questionUrl(result, file) {
  return `/api/taste/questions/${encodeURIComponent(result.profile)}/${result.question}/${encodeURIComponent(file)}`;
}

/** A work in the page: a picture, or a tune with its play button and piano roll. */
function workView(outputs, work, src, i) {
  if (outputs === "melodies") return melodyView(work.notes, {label: `tune ${i + 1}`, qpm: work.qpm});
  return el("img", {src, alt: `work ${i + 1}`, class: outputs === "pictures" ? "photo" : null});
}

function showQuestion(result) {
  question = result;
  const choices = result.works.map((work, i) => el("figure", {class: `choice ${result.outputs}`, dataset: {work: i}},
    workView(result.outputs, work, questionUrl(result, work.file), i),
    el("button", {type: "button", class: "pick", onclick: () => pick(i)}, "This one")));
  $("#question").replaceChildren(...choices);
  showCount({[result.model]: result.answers});
}

function ask() {
  const k = Number($("#ask-form").elements.k.value);
  return busy($("#ask-form"), async () => {
    const {job} = await runJob("taste_ask", {...subject(), k});
    showQuestion(job.result);
  });
}

async function pick(i) {
  if (!question) return;
  const asked = question;
  for (const button of document.querySelectorAll("#question button.pick")) button.disabled = true;
  const done = await guarded(() => postJSON("/api/taste/answer", {profile: asked.profile, question: asked.question,
    picked: i}));
  if (!done) {
    for (const button of document.querySelectorAll("#question button.pick")) button.disabled = false;
    return;
  }
  document.querySelector(`#question .choice[data-work="${i}"]`)?.classList.add("picked");
  showCount(done.answers);
  if (asked.model === model() && asked.profile === profile()) await ask();  // the next question
}

// ---- stars: a rating of one work in one of the history's files ----------------------------------

function stars(item, file) {
  const status = el("span", {class: "status", "aria-live": "polite"});
  const buttons = [1, 2, 3, 4, 5].map((n) => el("button", {
    type: "button", class: "star", title: plural(n, "star"), "aria-label": plural(n, "star"), dataset: {stars: n},
    onclick: () => rate(item, file, n, buttons, status)}, "★"));
  return el("div", {class: "stars", role: "group", "aria-label": "Rate it, 1 to 5 stars"}, buttons, status);
}

async function rate(item, file, n, buttons, status) {
  for (const b of buttons) b.disabled = true;
  status.className = "status";
  status.textContent = "rating…";
  try {
    await runJob("taste_rate", {item: item.id, file, stars: n, profile: profile()});
    buttons.forEach((b, i) => b.classList.toggle("on", i < n));
    status.textContent = `rated ${plural(n, "star")}`;
    refreshCount();
  } catch (error) {  // a work taste cannot rate says why, in one line, beside it
    status.className = "status bad";
    status.textContent = error.message;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// ---- generate for me ---------------------------------------------------------------------------

function forMe() {
  const n = Number($("#for-me-form").elements.n.value);
  return busy($("#for-me-form"), async () => {
    const {job, item} = await runJob("taste_for_me", {...subject(), n});
    const {works, outputs, answers} = job.result;
    $("#for-me").replaceChildren(
      answers ? "" : el("p", {class: "hint"}, "No answers about this model yet: these are a plain sample."),
      ...works.map((work, i) => el("figure", {class: `choice ${outputs}`},
        workView(outputs, work, itemFileUrl(item, work.file), i), stars(item, work.file))));
    showRecent();
  });
}

// ---- why -----------------------------------------------------------------------------------------

function why() {
  return busy($("#why-form"), async () => {
    const {job} = await runJob("taste_why", subject());
    const effects = job.result.effects;
    const largest = Math.max(...effects.map(([, e]) => Math.abs(e)), 1e-9);
    $("#why").replaceChildren(...effects.map(([name, effect]) => {
      const bar = el("span", {class: `bar ${effect >= 0 ? "up" : "down"}`});
      bar.style.width = `${(Math.abs(effect) / largest) * 50}%`;
      const direction = /^direction_(\d+)$/.exec(name);  // GANSpace: the model's n-th main way of varying
      const nth = direction && (["first", "second", "third", "fourth"][direction[1] - 1] || `${direction[1]}th`);
      const about = direction ? `the ${nth} main way this model's pictures vary; ` : "";
      return el("li", {title: `${about}your answers favour ${effect >= 0 ? "more" : "less"} of it`},
        el("span", {class: "name"}, name.replaceAll("_", " ")), el("span", {class: "track"}, bar),
        el("span", {class: "value"}, `${effect >= 0 ? "+" : "−"}${Math.abs(effect).toFixed(2)}`));
    }));
  });
}

// ---- recent works of the gallery that hold one work ----------------------------------------------

async function showRecent() {
  const items = await guarded(() => api("/api/items"));
  if (!items) return;
  const single = items.filter((item) => RATED_JOBS.has(item.recipe?.job))
    .map((item) => ({item, works: item.files.filter((n) => WORK_FILE.test(n))}))
    .filter(({works}) => works.length === 1).slice(0, RECENT);
  const cards = await Promise.all(single.map(async ({item, works: [file]}) => {
    const view = file.endsWith(".mid")
      ? melodyView(await fetchMidiNotes(itemFileUrl(item, file)), {label: file})
      : el("img", {src: itemFileUrl(item, file), alt: item.title, class: item.kind === "style" ? "photo" : null});
    const shape = file.endsWith(".mid") ? "melodies" : item.kind === "style" ? "pictures" : "images";
    return el("figure", {class: `choice ${shape}`, dataset: {item: item.id}},
      view, el("figcaption", {}, item.title), stars(item, file));
  }));
  const none = el("p", {class: "hint"}, "Nothing yet: one picture (Count 1), one stylised photo or one melody shows here.");
  $("#recent").replaceChildren(...(cards.length ? cards : [none]));
}

// ---- privacy -------------------------------------------------------------------------------------

function deleteProfile() {
  const name = profile();
  const warning = `Delete the profile "${name}": every answer and rating, for every model? This cannot be undone.`;
  if (!confirm(warning)) return;
  guarded(async () => {
    const {deleted} = await postJSON(`/api/taste/profiles/${encodeURIComponent(name)}/delete`);
    forget();
    await refreshCount();
    showMessage(`Deleted the profile "${name}": ${plural(deleted, "answer")} forgotten.`, "info");
  });
}

// ---- the page ------------------------------------------------------------------------------------

function addPhoto(value, text) {
  const select = form.elements.photo;
  if (![...select.options].some((o) => o.value === value)) select.append(el("option", {value}, text));
  select.value = value;
}

async function init() {
  const catalog = await guarded(models);
  if (!catalog) return;
  const group = (label, entries) => el("optgroup", {label}, entries.map(({name, kind}) => {
    kinds.set(name, kind);
    return el("option", {value: name}, `${name} (${kind})`);
  }));
  for (const m of catalog.image) classes.set(m.name, m.num_classes || 0);
  form.elements.model.replaceChildren(
    group("Pictures", catalog.image),
    group("Melodies", catalog.music),
    group("A photo, stylised", catalog.fast.map((name) => ({name, kind: "fast_style"}))));
  for (const photo of catalog.photos) addPhoto(photo, photo);
  form.elements.photo.value = catalog.photos[0] || "";
  form.elements.model.addEventListener("change", modelChanged);
  form.elements.profile.addEventListener("change", () => { forget(); refreshCount(); });
  for (const name of ["photo", "label", "bars"]) form.elements[name].addEventListener("change", forget);
  form.elements.photo_file.addEventListener("change", () => guarded(async () => {
    const input = form.elements.photo_file;
    const file = input.files[0];
    if (!file) return;
    const stored = await upload(file);
    input.value = "";
    if (stored.kind !== "image") throw new Error(`${file.name} is not an image`);
    addPhoto(stored.id, `uploaded: ${file.name}`);
    forget();
  }));
  form.addEventListener("submit", (e) => e.preventDefault());
  $("#ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  $("#for-me-form").addEventListener("submit", (e) => { e.preventDefault(); forMe(); });
  $("#why-form").addEventListener("submit", (e) => { e.preventDefault(); why(); });
  $("#delete-profile").addEventListener("click", deleteProfile);
  const handed = takeHandOver();  // "use these settings" on a for-me item of the gallery
  if (handed) {
    form.elements.model.value = handed.model;
    if (handed.photo) addPhoto(handed.photo, handed.photo);
    const given = ["profile", "photo", "bars"].filter((k) => handed[k] !== null && handed[k] !== undefined);
    fillForm(form, Object.fromEntries(given.map((k) => [k, handed[k]])));
    if (handed.n) $("#for-me-form").elements.n.value = handed.n;
  }
  modelChanged();
  if (handed?.label != null) form.elements.label.value = String(handed.label);
  showRecent();
}

init();
