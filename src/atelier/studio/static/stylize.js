// The Stylise page: a photo (bundled or uploaded), paintings with blend weights, a method, and a
// before/after slider over the result.
import {$, $$, busy, downloads, el, guarded, itemFileUrl, models, runJob, takeHandOver, upload} from "/static/common.js";

const form = $("#stylize-form");
const styles = $("#styles");
const localPreviews = new Map();  // upload id -> an object URL of the file, for the "before" side
let mask = null;  // the uploaded mask's id
let styleModels = {fast: [], adain: []};  // the catalogue's networks per method (shipped first, then own)

/** The model select offers the chosen method's networks; Gatys needs none, and says how long it takes. */
function showMethod() {
  const method = form.elements.method.value;
  const names = styleModels[method] || [];
  const select = form.elements.model;
  const keep = select.value;
  select.replaceChildren(...names.map((name) => el("option", {value: name}, name)));
  if (names.includes(keep)) select.value = keep;
  // style.display, not hidden: the form's labels are display: flex, which outranks the attribute
  $("#style-model").style.display = method === "gatys" || names.length < 2 ? "none" : "";
  $("#gatys-note").hidden = method !== "gatys";
}

function addStyle(value, text, {checked = false, weight = 1} = {}) {
  if ($(`input[name=style][value="${CSS.escape(value)}"]`, styles)) return;
  styles.append(el("div", {class: "style-row"},
    el("label", {class: "check"}, el("input", {type: "checkbox", name: "style", value, checked}), ` ${text}`),
    el("label", {}, "weight ", el("input", {type: "number", name: `weight-${value}`, min: 0, step: 0.1, value: weight}))));
}

function addContentOption(value, text) {
  const select = form.elements.content;
  if (![...select.options].some((o) => o.value === value)) select.append(el("option", {value}, text));
  select.value = value;
}

/** Upload the chosen file; on a bad file say why and clear the input (the page keeps working). */
async function uploadFrom(input) {
  const file = input.files[0];
  if (!file) return null;
  const result = await guarded(() => upload(file));
  if (!result) { input.value = ""; return null; }
  if (result.kind !== "image") {
    input.value = "";
    throw new Error(`${file.name} is not an image`);
  }
  localPreviews.set(result.id, URL.createObjectURL(file));
  return {...result, name: file.name};
}

function params() {
  const chosen = $$("input[name=style]:checked", styles).map((box) => box.value);
  if (!chosen.length) throw new Error("choose at least one painting");
  const weights = chosen.map((v) => Number(form.elements[`weight-${v}`].value));
  const f = form.elements;
  const p = {
    content: f.content.value, styles: chosen, method: f.method.value,
    weights: mask || chosen.length === 1 ? null : weights,
    strength: Number(f.strength.value), preserve_color: f.preserve_color.value || null,
    mask, size: Number(f.size.value),
  };
  if (p.method !== "gatys" && f.model.value) p.model = f.model.value;
  return p;
}

function showItem(item, content) {
  $("#result-title").textContent = item.title;
  const pngs = item.files.filter((n) => /\.(png|jpe?g)$/.test(n));
  const beforeName = pngs.find((n) => /content|before|photo/.test(n));
  const after = pngs.find((n) => n !== beforeName);
  const before = beforeName ? itemFileUrl(item, beforeName) : localPreviews.get(content);  // same size as the result
  const parts = [];
  if (before && after) parts.push(beforeAfter(before, itemFileUrl(item, after)));
  else if (after) parts.push(el("img", {class: "sheet", src: itemFileUrl(item, after), alt: item.title}));
  parts.push(downloads(item));
  $("#results").replaceChildren(...parts);
}

/** Two images stacked; the range input uncovers the "after" from the left. */
function beforeAfter(beforeUrl, afterUrl) {
  const afterImg = el("img", {src: afterUrl, alt: "after", class: "after"});
  const box = el("div", {class: "compare"},
    el("img", {src: beforeUrl, alt: "before", class: "before"}), afterImg,
    el("span", {class: "tag left"}, "after"), el("span", {class: "tag right"}, "before"));
  const slider = el("input", {type: "range", min: 0, max: 100, value: 50, class: "compare-slider",
    "aria-label": "before / after"});
  const update = () => { afterImg.style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`; };
  slider.addEventListener("input", update);
  update();
  return el("div", {class: "compare-wrap"}, box, slider);
}

async function init() {
  const catalog = await guarded(models);
  if (!catalog) return;
  for (const photo of catalog.photos || []) addContentOption(photo, photo);
  form.elements.content.selectedIndex = 0;
  catalog.paintings.forEach((name, i) => addStyle(name, name.replaceAll("_", " "), {checked: i === 0}));
  styleModels = {fast: catalog.fast || [], adain: catalog.adain || []};
  showMethod();
  form.elements.method.addEventListener("change", showMethod);

  form.elements.strength.addEventListener("input", () => { form.elements.strength_out.value = form.elements.strength.value; });
  form.elements.content_file.addEventListener("change", () => guarded(async () => {
    const up = await uploadFrom(form.elements.content_file);
    if (up) addContentOption(up.id, `uploaded: ${up.name}`);
  }));
  form.elements.style_file.addEventListener("change", () => guarded(async () => {
    const up = await uploadFrom(form.elements.style_file);
    if (!up) return;
    addStyle(up.id, `uploaded: ${up.name}`, {checked: true});
    if (form.elements.method.value === "fast") {  // the fast network knows the bundled paintings only
      form.elements.method.value = "adain";
      showMethod();
    }
    form.elements.style_file.value = "";
  }));
  form.elements.mask_file.addEventListener("change", () => guarded(async () => {
    mask = null;
    const up = await uploadFrom(form.elements.mask_file);
    mask = up ? up.id : null;
  }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, async () => {
      const p = params();
      const {item} = await runJob("stylize", p);
      if (item) showItem(item, p.content);
    });
  });

  const handed = takeHandOver();
  if (handed) {
    const f = form.elements;
    if ([...f.content.options].some((o) => o.value === handed.content)) f.content.value = handed.content;
    for (const box of $$("input[name=style]", styles)) box.checked = (handed.styles || []).includes(box.value);
    (handed.styles || []).forEach((s, i) => {
      const weight = f[`weight-${s}`];
      if (weight && handed.weights) weight.value = handed.weights[i];
    });
    for (const name of ["method", "strength", "size"]) if (handed[name] !== undefined) f[name].value = handed[name];
    showMethod();
    if (handed.model && [...f.model.options].some((o) => o.value === handed.model)) f.model.value = handed.model;
    f.preserve_color.value = handed.preserve_color || "";
    f.strength_out.value = f.strength.value;
  }
}

init();
