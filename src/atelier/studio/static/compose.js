// The Compose page: a keyboard that records a phrase, new melodies (optionally continuing it or a
// MIDI primer), call and response, and a MusicVAE morph between two melodies.
import {$, api, busy, el, fillForm, guarded, models, runJob, takeHandOver, upload} from "/static/common.js";
import {Recorder, drawRoll, keyboard, lastStep, melodyCard, play, shifted} from "/static/music.js";

const STEPS_PER_BAR = 16;
const composeForm = $("#compose-form");
const respondForm = $("#respond-form");
const morphForm = $("#morph-form");
const phrase = new Recorder();
let primerUpload = null;  // the uploaded MIDI primer's id
let conversation = [];  // [{call, answer: notes, at, answerAt, answerSteps: steps}]

// ---- the phrase played on the keyboard ------------------------------------------------------------

function phraseChanged() {
  const n = phrase.notes.length;
  $("#phrase-count").textContent = n ? `${n} note${n === 1 ? "" : "s"}, ${Math.ceil(lastStep(phrase.notes) / STEPS_PER_BAR)} bar(s)` : "no notes";
  drawRoll($("#phrase-roll"), phrase.notes, {minSteps: 32});
}

async function playNotes(notes, canvas, groups) {
  if (!notes.length) return;
  const status = $("#play-status");
  status.textContent = `playing ${notes.length} notes…`;
  const playing = play(notes, {onStep: (s) => drawRoll(canvas, groups, {playhead: s})});
  await playing.done;
  drawRoll(canvas, groups);
  status.textContent = `played ${notes.length} notes`;
}

// ---- call and response --------------------------------------------------------------------------

const conversationGroups = () => [
  {notes: conversation.flatMap((t) => t.call.map(([p, s, e]) => [p, s + t.at, e + t.at])), color: "#2d6cdf"},
  {notes: conversation.flatMap((t) => t.answer.map(([p, s, e]) => [p, s + t.answerAt, e + t.answerAt])), color: "#e0812f"},
];

function conversationChanged() {
  const turns = conversation.length;
  $("#turns").textContent = `${turns} turn${turns === 1 ? "" : "s"}`;
  drawRoll($("#conversation-roll"), conversationGroups(), {minSteps: 64});
}

async function answer() {
  if (!phrase.notes.length) throw new Error("play a phrase on the keyboard first, then press Answer");
  const f = respondForm.elements;
  const call = shifted(phrase.notes);
  const {job} = await runJob("respond", {model: f.model.value, call_notes: call, bars: Number(f.bars.value),
    temperature: Number(f.temperature.value), seed: Number(f.seed.value) + conversation.length});
  const result = job.result;
  const previous = conversation[conversation.length - 1];
  const at = previous ? previous.answerAt + previous.answerSteps : 0;  // each call starts after the last answer
  conversation.push({call, answer: result.notes, at, answerAt: at + result.call_steps, answerSteps: result.num_steps});
  phrase.clear();
  phraseChanged();
  conversationChanged();
  const canvas = $("#conversation-roll");
  const status = $("#play-status");
  if (!result.notes.length) { status.textContent = "the model answered with silence"; return; }
  // the reply plays in the conversation's roll, where it was appended; the next call can start meanwhile
  const turn = conversation[conversation.length - 1];
  status.textContent = `answer: playing ${result.notes.length} notes…`;
  const playing = play(result.notes, {
    onStep: (s) => drawRoll(canvas, conversationGroups(), {playhead: turn.answerAt + s, minSteps: 64}),
  });
  playing.done.then(() => {
    conversationChanged();
    status.textContent = `answer: played ${result.notes.length} notes`;
  });
}

// ---- new melodies and morphs --------------------------------------------------------------------

function composeParams() {
  const f = composeForm.elements;
  const params = {model: f.model.value, temperature: Number(f.temperature.value), bars: Number(f.bars.value),
    seed: Number(f.seed.value), n: Number(f.n.value)};
  if (f.primer_source.value === "phrase" && phrase.notes.length) params.primer_notes = shifted(phrase.notes);
  if (f.primer_source.value === "midi") {
    if (!primerUpload) throw new Error("choose a MIDI file for the primer");
    params.primer = primerUpload;
  }
  return params;
}

async function uploadMidi(input) {
  const file = input.files[0];
  if (!file) return null;
  try {
    const result = await upload(file);
    if (result.kind !== "midi") throw new Error(`${file.name} is not a MIDI file`);
    return {...result, name: file.name};
  } catch (error) {
    input.value = "";
    throw error;
  }
}

/** The melodies the morph can start or end on: music in the gallery, and uploaded MIDI files. */
async function refreshMorphChoices(extra = null) {
  const items = await api("/api/items?kind=music");
  for (const name of ["a", "b"]) {
    const select = morphForm.elements[name];
    const keep = select.value;
    const uploaded = [...select.options].filter((o) => o.dataset.upload);
    select.replaceChildren(...uploaded, ...items.map((item) => el("option", {value: item.id}, item.title)));
    if (extra) select.prepend(el("option", {value: extra.id, dataset: {upload: "1"}}, `uploaded: ${extra.name}`));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }
  const b = morphForm.elements.b;
  if (!b.value || b.value === morphForm.elements.a.value) b.selectedIndex = Math.min(1, b.options.length - 1);
}

async function showMelodies(container, item) {
  container.prepend(await melodyCard(item));
}

function fillModels(select, list) {
  select.replaceChildren(...list.map((m) => el("option", {value: m.name}, `${m.name} (${m.kind})`)));
}

async function init() {
  keyboard($("#keyboard"), (pitch, start, end) => {
    phrase.add(pitch, start, end);
    phraseChanged();
  });
  phraseChanged();
  conversationChanged();
  $("#phrase-clear").addEventListener("click", () => { phrase.clear(); phraseChanged(); });
  $("#phrase-play").addEventListener("click", () => playNotes(phrase.notes, $("#phrase-roll"), phrase.notes));
  $("#conversation-play").addEventListener("click", () => {
    const [calls, answers] = conversationGroups();
    const all = [...calls.notes, ...answers.notes].sort((a, b) => a[1] - b[1]);
    playNotes(all, $("#conversation-roll"), conversationGroups());
  });
  $("#conversation-reset").addEventListener("click", () => { conversation = []; conversationChanged(); });

  const catalog = await guarded(models);
  const music = catalog?.music || [];
  fillModels(composeForm.elements.model, music);
  fillModels(respondForm.elements.model, music.filter((m) => m.kind === "melody_rnn" || m.kind === "melody_transformer"));
  fillModels(morphForm.elements.model, music.filter((m) => m.kind === "music_vae"));
  composeForm.elements.model.addEventListener("change", () => {
    const vae = music.find((m) => m.name === composeForm.elements.model.value)?.kind === "music_vae";
    if (vae) composeForm.elements.primer_source.value = "none";  // a MusicVAE samples whole melodies
  });

  composeForm.elements.primer_file.addEventListener("change", () => guarded(async () => {
    primerUpload = null;
    const up = await uploadMidi(composeForm.elements.primer_file);
    if (up) { primerUpload = up.id; composeForm.elements.primer_source.value = "midi"; }
  }));
  morphForm.elements.melody_file.addEventListener("change", () => guarded(async () => {
    const up = await uploadMidi(morphForm.elements.melody_file);
    if (up) await refreshMorphChoices(up);
    morphForm.elements.melody_file.value = "";
  }));

  composeForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(composeForm, async () => {
      const {item} = await runJob("compose", composeParams());
      if (item) await showMelodies($("#melodies"), item);
      await refreshMorphChoices();
    });
  });
  respondForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(respondForm, answer);
  });
  morphForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(morphForm, async () => {
      const f = morphForm.elements;
      if (!f.a.value || !f.b.value) throw new Error("choose two melodies: compose some, or upload MIDI files");
      const {item} = await runJob("morph", {model: f.model.value, a: f.a.value, b: f.b.value, steps: Number(f.steps.value)});
      if (item) await showMelodies($("#morphs"), item);
    });
  });
  await guarded(() => refreshMorphChoices());

  const handed = takeHandOver();
  if (handed) {
    const target = handed.call_notes ? respondForm : handed.a ? morphForm : composeForm;
    fillForm(target, Object.fromEntries(Object.entries(handed).filter(([k]) => target.elements.namedItem(k))));
    const notes = handed.call_notes || handed.primer_notes;
    if (notes) { phrase.clear(); phrase.notes = notes.map((n) => [...n]); phraseChanged(); }
    if (handed.primer) { primerUpload = handed.primer; composeForm.elements.primer_source.value = "midi"; }
    target.scrollIntoView();
  }
}

init();
