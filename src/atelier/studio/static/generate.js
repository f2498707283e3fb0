// The Generate page: sample a grid, click an image to vary around it, pick two to morph.
import {$, $$, busy, downloads, el, fillForm, guarded, itemFileUrl, models, numberOrNull, runJob, takeHandOver} from "/static/common.js";

const form = $("#generate-form");
const picker = $("#pick-form");
const results = $("#results");
let imageModels = [];
let picked = [];  // up to two tiles picked for a morph

function currentModel() {
  return imageModels.find((m) => m.name === form.elements.model.value);
}

/** Fill the class list for the chosen model: none for an unconditional one, else "all" and each class. */
function modelChanged() {
  const model = currentModel();
  const label = form.elements.label;
  const keep = label.value;
  const classes = model?.num_classes || 0;
  label.replaceChildren(el("option", {value: ""}, classes ? "any (random)" : "— (unconditional)"));
  if (classes) {
    label.append(el("option", {value: "all"}, "all: one row per class"));
    for (let c = 0; c < classes; c++) label.append(el("option", {value: String(c)}, String(c)));
  }
  label.disabled = !classes;
  if ([...label.options].some((o) => o.value === keep)) label.value = keep;
  document.body.dataset.modelKind = model?.kind || "";
}

function labelValue(text) {
  if (text === "" || text === undefined) return null;
  return text === "all" ? "all" : Number(text);
}

function sampleParams() {
  const f = form.elements;
  const params = {model: f.model.value, seed: Number(f.seed.value), n: Number(f.n.value), label: labelValue(f.label.value)};
  if (currentModel()?.kind === "gan") params.truncation = numberOrNull(f.truncation.value);
  else params.temperature = numberOrNull(f.temperature.value);
  return params;
}

// ---- showing an item: one tile per image, each knowing the seed and class that made it ----------

const images = (item) => item.files.filter((name) => name.endsWith(".png"));

/**
 * The seed and class of image i of an item: the job's result lists them; an item from the history
 * has only its recipe, where a sample's image i is seed + i % n, of class i // n for "all".
 * Variations have no seed of their own (null: not clickable).
 */
function tileSource(item, i, result) {
  const params = item.recipe?.params || {};
  const described = result?.images?.[i];
  if (described && "seed" in described) return {model: params.model, seed: described.seed, label: described.label ?? null};
  if (item.recipe?.job !== "sample") return {model: params.model, seed: null, label: null};
  const classes = imageModels.find((m) => m.name === params.model)?.num_classes || 0;
  const n = params.n || 1;
  let label = params.label ?? null;
  if (label === "all") label = classes ? Math.floor(i / n) : null;
  else if (label === null && classes) label = (i % n) % classes;
  return {model: params.model, seed: params.seed + (i % n), label};
}

function showItem(item, heading, result = null) {
  $("#result-title").textContent = heading || item.title;
  picked = [];
  updatePicks();
  const pngs = images(item);
  const tiles = pngs.filter((n) => !/^(grid|strip|sheet)/.test(n));
  const sheet = pngs.find((n) => /^(grid|strip|sheet)/.test(n));
  const gif = item.files.find((n) => n.endsWith(".gif"));
  const parts = [];
  if (tiles.length > 1) {
    const columns = item.recipe?.params?.label === "all" ? item.recipe.params.n : Math.min(tiles.length, 8);
    const grid = el("div", {class: "tiles"}, tiles.map((name, i) => tile(item, name, i, result)));
    grid.style.setProperty("--columns", columns);
    parts.push(grid);
  } else if (sheet || tiles.length) {
    parts.push(el("img", {class: "sheet", src: itemFileUrl(item, sheet || tiles[0]), alt: item.title}));
  }
  if (gif) parts.push(el("figure", {}, el("img", {class: "gif", src: itemFileUrl(item, gif), alt: "animation"}),
    el("figcaption", {}, "the morph as an animation")));
  parts.push(downloads(item));
  results.replaceChildren(...parts);
}

function tile(item, name, i, result) {
  const source = tileSource(item, i, result);
  const img = el("img", {src: itemFileUrl(item, name), alt: `image ${i + 1}`});
  if (source.seed === null) return el("span", {class: "tile"}, img);
  return el("button", {
    type: "button", class: "tile", title: `seed ${source.seed}${source.label === null ? "" : `, class ${source.label}`}`,
    dataset: {seed: source.seed, label: source.label ?? "", model: source.model || ""},
    onclick: (e) => tileClicked(e.currentTarget),
  }, img);
}

function tileClicked(button) {
  if (picker.elements.morph.checked) {
    if (picked.includes(button)) picked = picked.filter((b) => b !== button);
    else picked = [...picked, button].slice(-2);
    updatePicks();
    return;
  }
  const f = picker.elements;
  const label = button.dataset.label === "" ? null : Number(button.dataset.label);
  run({model: button.dataset.model || form.elements.model.value, seed: Number(button.dataset.seed), label,
    n: Number(f.vary_n.value), strength: Number(f.strength.value)}, "vary", `Variations around seed ${button.dataset.seed}`);
}

function updatePicks() {
  for (const b of $$(".tile")) b.classList.toggle("picked", picked.includes(b));
  $("#morph-button").disabled = picked.length !== 2;
}

function morph() {
  const [a, b] = picked;
  const label = a.dataset.label === "" ? null : Number(a.dataset.label);
  run({model: a.dataset.model || form.elements.model.value, seed_a: Number(a.dataset.seed), seed_b: Number(b.dataset.seed),
    steps: Number(picker.elements.steps.value), label}, "interpolate",
  `Morph from seed ${a.dataset.seed} to seed ${b.dataset.seed}`);
}

function run(params, kind, heading) {
  return busy(form, async () => {
    const {job, item} = await runJob(kind, params);
    if (item) showItem(item, heading, job.result);
  });
}

async function init() {
  const catalog = await guarded(models);
  imageModels = catalog?.image || [];
  form.elements.model.replaceChildren(...imageModels.map((m) => el("option", {value: m.name}, `${m.name} (${m.kind})`)));
  form.elements.model.addEventListener("change", modelChanged);
  modelChanged();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(sampleParams(), "sample");
  });
  picker.addEventListener("submit", (e) => e.preventDefault());
  picker.elements.strength.addEventListener("input", () => {
    picker.elements.strength_out.value = picker.elements.strength.value;
  });
  picker.elements.morph.addEventListener("change", () => { picked = []; updatePicks(); });
  $("#morph-button").addEventListener("click", morph);
  const handed = takeHandOver();
  if (handed) {
    if (handed.model) { form.elements.model.value = handed.model; modelChanged(); }
    const {label, ...rest} = handed;
    fillForm(form, Object.fromEntries(Object.entries(rest).filter(([k]) => form.elements.namedItem(k))));
    form.elements.label.value = label === null || label === undefined ? "" : String(label);
    if (handed.strength !== undefined) fillForm(picker, {strength: handed.strength});
    if (handed.seed_a !== undefined) fillForm(form, {seed: handed.seed_a});
  }
}

init();
