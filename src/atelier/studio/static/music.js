// Music in the page: notes are [pitch, startStep, endStep] on a 16th-note grid (the contract's
// "primer_notes"). A small MIDI reader, a Web Audio synth, a canvas piano roll and the keyboard.

import {downloads, el, itemFileUrl} from "/static/common.js";

export const STEPS_PER_QUARTER = 4;  // a 16th-note grid
export const QPM = 120;
export const stepSeconds = (qpm = QPM) => 60 / qpm / STEPS_PER_QUARTER;

// ---- reading a Standard MIDI File into notes -----------------------------------------------------

/** Notes of every track of a Standard MIDI File (an ArrayBuffer), quantised to 16th-note steps. */
export function readMidi(buffer) {
  const data = new DataView(buffer);
  const text = (at, n) => String.fromCharCode(...new Uint8Array(buffer, at, n));
  if (buffer.byteLength < 14 || text(0, 4) !== "MThd") throw new Error("not a MIDI file");
  const tracks = data.getUint16(10);
  const division = data.getUint16(12);
  if (division & 0x8000) throw new Error("SMPTE-timed MIDI files are not supported");
  const ticksPerStep = division / STEPS_PER_QUARTER;
  const notes = [];
  let at = 8 + data.getUint32(4);
  for (let t = 0; t < tracks && at + 8 <= buffer.byteLength; t++) {
    if (text(at, 4) !== "MTrk") throw new Error("a MIDI track is damaged");
    const end = at + 8 + data.getUint32(at + 4);
    readTrack(data, at + 8, end, ticksPerStep, notes);
    at = end;
  }
  return notes.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}

function readTrack(data, at, end, ticksPerStep, notes) {
  const varint = () => {
    let value = 0, byte;
    do { byte = data.getUint8(at++); value = (value << 7) | (byte & 0x7f); } while (byte & 0x80);
    return value;
  };
  const open = new Map();  // pitch -> start tick
  let tick = 0, status = 0;
  const close = (pitch) => {
    if (!open.has(pitch)) return;
    const start = Math.round(open.get(pitch) / ticksPerStep);
    notes.push([pitch, start, Math.max(start + 1, Math.round(tick / ticksPerStep))]);
    open.delete(pitch);
  };
  while (at < end) {
    tick += varint();
    let byte = data.getUint8(at);
    if (byte & 0x80) { status = byte; at++; }  // otherwise running status
    const kind = status & 0xf0;
    if (status === 0xff) at++;  // a meta event's type
    if (status >= 0xf0) {  // meta or sysex: skip its data (read the length before moving past it)
      const length = varint();
      at += length;
      continue;
    }
    const a = data.getUint8(at++);
    const b = kind === 0xc0 || kind === 0xd0 ? 0 : data.getUint8(at++);
    if (kind === 0x90 && b > 0) { close(a); open.set(a, tick); }
    else if (kind === 0x80 || (kind === 0x90 && b === 0)) close(a);
  }
  for (const pitch of [...open.keys()]) close(pitch);
}

export async function fetchMidiNotes(url) {
  const response = await fetch(url, {credentials: "same-origin"});
  if (!response.ok) throw new Error(`could not fetch ${url}: ${response.status}`);
  return readMidi(await response.arrayBuffer());
}

/** Notes moved so the first starts at step `at`. */
export function shifted(notes, at = 0) {
  if (!notes.length) return [];
  const first = Math.min(...notes.map((n) => n[1]));
  return notes.map(([p, s, e]) => [p, s - first + at, e - first + at]);
}

export const lastStep = (notes) => notes.reduce((m, n) => Math.max(m, n[2]), 0);

// ---- a simple synth ------------------------------------------------------------------------------

let context = null;
const audio = () => (context ??= new AudioContext());
const frequency = (pitch) => 440 * 2 ** ((pitch - 69) / 12);

/** One voice: a triangle oscillator through a gain envelope (attack 10 ms, release 80 ms). */
function voice(pitch, when) {
  const ctx = audio();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "triangle";
  osc.frequency.value = frequency(pitch);
  gain.gain.setValueAtTime(0, when);
  gain.gain.linearRampToValueAtTime(0.25, when + 0.01);
  osc.connect(gain).connect(ctx.destination);
  osc.start(when);
  return {
    stop(at = audio().currentTime) {
      gain.gain.cancelScheduledValues(at);
      gain.gain.setValueAtTime(gain.gain.value || 0.25, at);
      gain.gain.linearRampToValueAtTime(0, at + 0.08);
      osc.stop(at + 0.1);
    },
  };
}

/** Sound one held key until the returned function is called. */
export function hold(pitch) {
  const ctx = audio();
  if (ctx.state === "suspended") ctx.resume();
  const v = voice(pitch, ctx.currentTime);
  return () => v.stop();
}

/** Play notes now; resolves when they have finished. Returns {done, stop, seconds}. */
export function play(notes, {qpm = QPM, onStep} = {}) {
  const ctx = audio();
  if (ctx.state === "suspended") ctx.resume();
  const step = stepSeconds(qpm);
  const t0 = ctx.currentTime + 0.05;
  const voices = notes.map(([pitch, start, end]) => {
    const v = voice(pitch, t0 + start * step);
    v.stop(t0 + end * step);
    return v;
  });
  const seconds = lastStep(notes) * step + 0.15;
  let timer = null, resolve;
  const done = new Promise((r) => { resolve = r; });
  const started = performance.now();
  const tick = () => {
    const elapsed = (performance.now() - started) / 1000;
    onStep?.(elapsed / step);
    if (elapsed >= seconds) { resolve(); return; }
    timer = requestAnimationFrame(tick);
  };
  timer = requestAnimationFrame(tick);
  return {
    done, seconds,
    stop() {
      cancelAnimationFrame(timer);
      for (const v of voices) v.stop();
      resolve();
    },
  };
}

// ---- a piano roll on a canvas --------------------------------------------------------------------

/** Draw notes (optionally two groups with their own colours) and a playhead at `playhead` steps. */
export function drawRoll(canvas, groups, {playhead = null, minSteps = 32} = {}) {
  const list = Array.isArray(groups[0]?.notes) ? groups : [{notes: groups, color: "#2d6cdf"}];
  const all = list.flatMap((g) => g.notes);
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = "#fbfaf7";
  ctx.fillRect(0, 0, width, height);
  const low = all.length ? Math.min(...all.map((n) => n[0])) - 2 : 58;
  const high = all.length ? Math.max(...all.map((n) => n[0])) + 2 : 74;
  const steps = Math.max(minSteps, Math.ceil(lastStep(all) / 16) * 16);
  const x = (s) => (s / steps) * width;
  const rowHeight = height / (high - low + 1);
  const y = (p) => (high - p) * rowHeight;
  for (let p = low; p <= high; p++) {  // black keys' rows shaded
    if ([1, 3, 6, 8, 10].includes(p % 12)) {
      ctx.fillStyle = "#f0ede6";
      ctx.fillRect(0, y(p), width, rowHeight);
    }
  }
  for (let s = 0; s <= steps; s += 4) {  // beats, bars darker
    ctx.fillStyle = s % 16 === 0 ? "#c9c3b6" : "#e6e1d6";
    ctx.fillRect(Math.round(x(s)), 0, 1, height);
  }
  for (const group of list) {
    ctx.fillStyle = group.color;
    for (const [pitch, start, end] of group.notes) {
      ctx.fillRect(x(start) + 1, y(pitch) + 1, Math.max(2, x(end) - x(start) - 2), Math.max(2, rowHeight - 2));
    }
  }
  if (playhead !== null) {
    ctx.fillStyle = "#d6452b";
    ctx.fillRect(x(playhead), 0, 2, height);
  }
}

// ---- the keyboard: C4..C5 on screen and on the computer's keys ------------------------------------

export const KEYS = "awsedftgyhujk";  // C4 C#4 D4 ... C5, as on a piano's white and black keys
const C4 = 60;
const NAMES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"];

/**
 * Build the keyboard into `root`; onNote(pitch, startSeconds, endSeconds) is called per released
 * note (times from performance.now()). Computer keys work unless focus is in a text field.
 */
export function keyboard(root, onNote) {
  const held = new Map();  // pitch -> {release, since}
  const buttons = new Map();
  const down = (pitch) => {
    if (held.has(pitch)) return;
    held.set(pitch, {release: hold(pitch), since: performance.now() / 1000});
    buttons.get(pitch)?.classList.add("down");
  };
  const up = (pitch) => {
    const note = held.get(pitch);
    if (!note) return;
    held.delete(pitch);
    note.release();
    buttons.get(pitch)?.classList.remove("down");
    onNote(pitch, note.since, performance.now() / 1000);
  };
  [...KEYS].forEach((key, i) => {
    const pitch = C4 + i;
    const black = [1, 3, 6, 8, 10].includes(i % 12);
    const button = document.createElement("button");
    button.type = "button";
    button.className = black ? "key black" : "key white";
    button.dataset.pitch = pitch;
    button.title = `${NAMES[pitch % 12]}${Math.floor(pitch / 12) - 1} (${key.toUpperCase()})`;
    button.innerHTML = `<span>${key.toUpperCase()}</span>`;
    button.addEventListener("pointerdown", (e) => { e.preventDefault(); down(pitch); });
    button.addEventListener("pointerup", () => up(pitch));
    button.addEventListener("pointerleave", () => up(pitch));
    buttons.set(pitch, button);
    root.append(button);
  });
  const typing = (e) => e.target.closest?.("input[type=text], input[type=number], textarea, select");
  document.addEventListener("keydown", (e) => {
    const i = KEYS.indexOf(e.key.toLowerCase());
    if (i < 0 || e.repeat || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    e.preventDefault();
    down(C4 + i);
  });
  document.addEventListener("keyup", (e) => {
    const i = KEYS.indexOf(e.key.toLowerCase());
    if (i >= 0) up(C4 + i);
  });
}

/**
 * Records played notes onto the 16th-note grid as a monophonic phrase (the melody models play one
 * note at a time): a note starting on or before the previous start moves one step after it, and
 * cuts the previous note short where they overlap.
 */
export class Recorder {
  constructor(qpm = QPM) {
    this.step = stepSeconds(qpm);
    this.clear();
  }

  clear() {
    this.notes = [];
    this.origin = null;
  }

  add(pitch, start, end) {
    this.origin ??= start;
    let s = Math.round((start - this.origin) / this.step);
    let e = Math.round((end - this.origin) / this.step);
    const previous = this.notes[this.notes.length - 1];
    if (previous) {
      s = Math.max(s, previous[1] + 1);
      previous[2] = Math.min(previous[2], s);
    }
    this.notes.push([pitch, s, Math.max(e, s + 1)]);
  }
}

// ---- a melody in the page: its roll, a play button and its status ---------------------------------

/** A piano roll with a Play/Stop button; `groups` as for drawRoll. Redraws when resized. */
export function melodyView(groups, {label = "", qpm = QPM} = {}) {
  const notes = Array.isArray(groups[0]?.notes) ? groups.flatMap((g) => g.notes) : groups;
  const canvas = el("canvas", {class: "roll"});
  const status = el("span", {class: "status", "aria-live": "polite"}, `${notes.length} notes`);
  let playing = null;
  const redraw = (playhead = null) => drawRoll(canvas, groups, {playhead});
  new ResizeObserver(() => redraw()).observe(canvas);
  const button = el("button", {type: "button", class: "play", onclick: async () => {
    if (playing) { playing.stop(); return; }
    playing = play(notes, {qpm, onStep: redraw});
    button.textContent = "Stop";
    status.textContent = `playing ${notes.length} notes…`;
    await playing.done;
    playing = null;
    button.textContent = "Play";
    status.textContent = `played ${notes.length} notes`;
    redraw();
  }}, "Play");
  return el("div", {class: "melody-view"}, el("div", {class: "melody-bar"}, button, label ? el("span", {}, label) : null,
    status), canvas);
}

/** A card for a music item: one roll per MIDI file, and its downloads. */
export async function melodyCard(item, {title} = {}) {
  const card = el("article", {class: "melody", dataset: {item: item.id}}, el("h3", {}, title || item.title));
  const midis = item.files.filter((n) => /\.midi?$/.test(n));
  // a morph: all its steps in one file; call and response: its answer (the Compose page plays the exchange)
  const whole = item.recipe?.job === "respond" ? midis.find((n) => n !== "answer.mid")
    : midis.find((n) => n === "interpolation.mid");
  for (const name of whole ? [whole] : midis) {
    card.append(melodyView(await fetchMidiNotes(itemFileUrl(item, name)), {label: name}));
  }
  card.append(downloads(item));
  return card;
}
