// Schedules: the create and edit form. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when,
// whenIn, toast, view, generation/stale, pauseNote) and after schedules.js (looksLikeCron).
//
// Three parts, each driven by data rather than written out by hand:
// - the trigger, in each form the API takes (a phrase or cron read by the server, an interval, one time, a calendar
//   interval), with start, end and run count where the form takes them;
// - the schedule's options, from SCHEDULE_OPTIONS below (one descriptor per field);
// - the action's config, generated from the action type's JSON Schema as GET /api/actions serves it.
// Every 422 error key lands beside the input it names (aria-invalid + aria-describedby); a key no input claims goes to
// the form's own box, so no message is lost.
"use strict";

/**
 * The schedule's options, in the order shown. `key` is the request property (dotted for nested: "retry.maxAttempts"
 * is {retry: {maxAttempts}}) and the 422 error key its message comes back under. `type`: "integer", "string",
 * "select" (with `options` [value, label]), "reference" (a name from the server's list of `source`: see REFERENCE_SOURCES),
 * "boolean" (not set / yes / no) or "json" (an object typed as JSON). An
 * empty input leaves the property out, so the server's default applies. A new option is one entry here.
 */
const SCHEDULE_OPTIONS = [
  { key: "misfire.policy", label: "Misfire policy", type: "select", options: [["", "default (fire_once)"], ["fire_once", "fire_once — run once now, then resume"], ["catch_up", "catch_up — run every missed time"], ["skip", "skip — wait for the next time"]], hint: "What to do with fire times missed while the cluster was down or the schedule paused." },
  { key: "misfire.thresholdSeconds", label: "Misfire threshold (seconds)", type: "integer", min: 1, max: 86400, hint: "How late a firing may start before it counts as missed (default: the cluster's)." },
  { key: "concurrency", label: "When a run is still going at the next fire time", type: "select", options: [["forbid", "forbid — wait for it"], ["skip", "skip — drop the new one"], ["buffer_one", "buffer_one — keep one waiting"], ["cancel_previous", "cancel_previous — cancel it, start the new one"], ["allow", "allow — run both"]] },
  { key: "retry.maxAttempts", label: "Retry: most attempts", type: "integer", min: 1, hint: "1 means no retry; empty means no retry policy." },
  { key: "retry.backoff", label: "Retry: backoff", type: "select", options: [["", "default (exponential)"], ["exponential", "exponential"], ["fixed", "fixed"]] },
  { key: "retry.initialDelaySeconds", label: "Retry: first delay (seconds)", type: "integer", min: 0, max: 86400 },
  { key: "retry.maxDelaySeconds", label: "Retry: longest delay (seconds)", type: "integer", min: 0, max: 604800 },
  { key: "timeoutSeconds", label: "Run timeout (seconds)", type: "integer", min: 1, max: 86400, hint: "A run still going after this is interrupted." },
  { key: "executionGroup", label: "Execution group", type: "string", hint: "Runs of one group share the cluster's execution limit for it." },
  { key: "jitterSeconds", label: "Jitter (seconds)", type: "integer", min: 0, hint: "A stable per-schedule delay in [0, N) that spreads schedules due on the same instant." },
  { key: "deadline.startWithinSeconds", label: "Deadline: start within (seconds)", type: "integer", min: 1, max: 604800, hint: "An occurrence not started this long after its due time alerts the deadline channel once." },
  { key: "deadline.succeedWithinSeconds", label: "Deadline: succeed within (seconds)", type: "integer", min: 1, max: 604800, hint: "An occurrence not succeeded this long after its due time alerts once; a recovery is announced." },
  { key: "deadline.channel", label: "Deadline: channel", type: "reference", source: "channel", hint: "The notification channel that gets deadline alerts and recoveries." },
  { key: "expectSuccessEvery", label: "Expect a success every", type: "string", hint: "Dead man's switch: an ISO-8601 duration (PT26H) or seconds; alerts the deadline channel when no run succeeded for that long." },
  { key: "enabled", label: "Enabled", type: "boolean", hint: "No: the schedule is created paused." },
];

/** The trigger forms the API takes, as the form offers them. */
const TRIGGER_KINDS = [
  ["phrase", "An English phrase or a cron expression"],
  ["interval", "A fixed interval"],
  ["once", "One time"],
  ["calendar", "Every N days, weeks or months (calendar)"],
];
const CALENDAR_UNITS = ["second", "minute", "hour", "day", "week", "month", "year"];

/**
 * Fields that name something the server keeps (a channel, a model, a tool) are chosen from the server's list, not typed:
 * by the property's name, in the options and in any action's config. Filled per form from GET /api/channels, /api/models
 * and /api/tools; a list that could not be read leaves its fields as text inputs.
 */
const REFERENCE_SOURCES = { channel: "channel", model: "model", tool: "tool", tools: "tool" };
let formReferences = {};

async function loadReferences() {
  const names = (path) => api("GET", path).then((list) => (Array.isArray(list) ? list.map((item) => item.name) : null)).catch(() => null);
  const [channel, model, tool] = await Promise.all([names("/api/channels"), names("/api/models"), names("/api/tools")]);
  return { channel, model, tool };
}

/** A select of the names the server has, the current value kept (and said to be unknown) when it has not that one. */
function referenceSelect(names, id, value) {
  const current = value == null ? "" : String(value);
  const choices = current && !names.includes(current) ? [...names, current] : names;
  return el("select", { id }, el("option", { value: "", text: "(not set)" }),
    choices.map((name) => el("option", { value: name, text: names.includes(name) ? name : `${name} (not on the server)`, selected: name === current })));
}

// ---- Small DOM builders --------------------------------------------------------------------------------------------

let formFieldSeq = 0;
const fieldId = (hint) => `ff-${String(hint).replace(/[^A-Za-z0-9_-]/g, "-")}-${++formFieldSeq}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

/**
 * Where errors go. Each target is an input, the box beside it, and the error keys it answers for (a function, since a
 * header row's key is whatever its name input says now). `active` hides the targets of a trigger form not chosen.
 */
class ErrorTargets {
  constructor(formBox) {
    this.formBox = formBox;
    this.targets = [];
  }

  add(keys, input, box, active = () => true) {
    const target = { keys: typeof keys === "function" ? keys : () => keys, input, box, active };
    this.targets.push(target);
    return target;
  }

  remove(predicate) {
    this.targets = this.targets.filter((t) => !predicate(t));
  }

  clear() {
    for (const t of this.targets) {
      t.box.textContent = "";
      t.input?.removeAttribute("aria-invalid");
    }
    this.formBox.textContent = "";
  }

  /** The target whose key is the error's key or the longest one it is under ("headers" holds "headers.X-Token"). */
  find(key) {
    let best = null;
    let bestLength = -1;
    for (const t of this.targets) {
      // A config drawn for another action type, or a removed row, is no longer on the page.
      if (!t.active() || !t.box.isConnected) continue;
      for (const k of t.keys()) {
        if ((key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`)) && k.length > bestLength) {
          best = t;
          bestLength = k.length;
        }
      }
    }
    return best;
  }

  /** One message at one key: beside its input, or in the form's box with the key said. */
  set(key, message) {
    const t = this.find(key);
    if (t) {
      t.box.textContent = `${t.box.textContent} ${message}`.trim();
      t.input?.setAttribute("aria-invalid", "true");
    } else {
      this.formBox.textContent = `${this.formBox.textContent} ${key}: ${message}`.trim();
    }
  }

  /** Every message of a problem's `errors` map; a problem without one is said in the form's box. */
  show(error) {
    const errors = error.problem?.errors;
    if (!errors) {
      this.formBox.textContent = error.message;
      return;
    }
    for (const [key, messages] of Object.entries(errors)) this.set(key, messages.join(" "));
    const first = this.targets.find((t) => t.active() && t.box.isConnected && t.input?.getAttribute("aria-invalid") === "true");
    first?.input?.focus();
  }
}

/** A labelled field: label, input, hint and error box; the input is described by the hint and the error. */
function labelledField(label, input, { hint, required, errorKey } = {}) {
  const id = input.id || (input.id = fieldId(errorKey ?? label));
  const hintBox = hint ? el("div", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const errorBox = el("div", { class: "error", id: `${id}-error`, "data-error": errorKey });
  input.setAttribute("aria-describedby", [hintBox?.id, errorBox.id].filter(Boolean).join(" "));
  if (required) input.setAttribute("aria-required", "true");
  const wrap = el("div", { class: "field" },
    el("label", { for: id }, label, required ? el("span", { class: "required", "aria-hidden": "true", text: " *" }) : null),
    input, hintBox, errorBox);
  return { wrap, input, errorBox };
}

// ---- The action config, from its JSON Schema -------------------------------------------------------------------------

const EMPTY = Symbol("empty");
const INVALID = Symbol("invalid");
const isEmptyLike = (v) => v === "" || (Array.isArray(v) && v.length === 0) || (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * What a schema is drawn as: "enum", "string", "integer", "number", "boolean", "object" (named properties: a
 * fieldset), "map" (any names, values of one schema: rows of name + value), "array" (items of a simple schema: rows),
 * or "json" (anything else: free-form objects, any value, arrays of objects — typed as JSON).
 */
function schemaKind(schema) {
  if (!schema || typeof schema !== "object") return "json";
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string")) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null")[0] : schema.type;
  if (type === "object") {
    if (schema.properties && Object.keys(schema.properties).length) return "object";
    const extra = schema.additionalProperties;
    if (extra && typeof extra === "object" && ["string", "integer", "number", "boolean"].includes(extra.type)) return "map";
    return "json";
  }
  if (type === "array") return ["string", "integer", "number"].includes(schema.items?.type) && !schema.items?.enum ? "array" : "json";
  if (["string", "integer", "number", "boolean"].includes(type)) return type;
  return "json";
}

/**
 * Builds the input(s) for one schema node at `path` (the error key, "action.config.url"), filled with `value`.
 * Returns { node, collect } where collect() gives the value to send, EMPTY to leave it out, or INVALID (after saying
 * why beside the field).
 */
function schemaField(schema, path, label, value, required, errors) {
  const kind = schemaKind(schema);
  const hint = schema?.description;
  // An empty input leaves the property out, except where the config had exactly that empty value: saved unchanged,
  // an edit sends back what it read.
  const emptyOr = () => (value !== undefined && isEmptyLike(value) ? value : EMPTY);

  if (kind === "object") {
    const needed = new Set(schema.required ?? []);
    const children = Object.entries(schema.properties).map(([name, child]) =>
      [name, schemaField(child, `${path}.${name}`, name, value?.[name], needed.has(name), errors)]);
    const fieldset = el("fieldset", { class: "schema-object" },
      el("legend", {}, label, required ? el("span", { class: "required", "aria-hidden": "true", text: " *" }) : null),
      hint ? el("div", { class: "hint", text: hint }) : null,
      children.map(([, c]) => c.node));
    const box = el("div", { class: "error", id: fieldId(`${path}-error`), "data-error": path });
    fieldset.append(box);
    errors.add([path], null, box);
    return {
      node: fieldset,
      collect: () => {
        const out = {};
        let invalid = false;
        for (const [name, c] of children) {
          const v = c.collect();
          if (v === INVALID) invalid = true;
          else if (v !== EMPTY) out[name] = v;
        }
        if (invalid) return INVALID;
        return Object.keys(out).length ? out : emptyOr();
      },
    };
  }

  if (kind === "map" || kind === "array") {
    const itemSchema = kind === "map" ? schema.additionalProperties : schema.items;
    const list = el("div", { class: "rows" });
    const rows = [];
    const errorBox = el("div", { class: "error", id: fieldId(`${path}-error`), "data-error": path });
    const addRow = (key, item) => {
      const n = rows.length + 1;
      const row = { element: el("div", { class: "row" }) };
      const valueId = fieldId(`${path}-${n}`);
      const rowError = el("div", { class: "error", id: `${valueId}-error` });
      if (kind === "map") {
        row.keyInput = el("input", { type: "text", "aria-label": `${label} key ${n}`, value: key ?? "", autocomplete: "off" });
        row.element.append(row.keyInput);
      }
      row.field = scalarInput(itemSchema, valueId, item, kind === "array" ? label : null);
      row.field.setAttribute("aria-label", kind === "map" ? `${label} value ${n}` : `${label} ${n}`);
      row.field.setAttribute("aria-describedby", rowError.id);
      const remove = el("button", { type: "button", class: "remove", "aria-label": `Remove ${label} ${n}`, text: "Remove" });
      row.element.append(row.field, remove, rowError);
      remove.addEventListener("click", () => {
        rows.splice(rows.indexOf(row), 1);
        row.element.remove();
        errors.remove((t) => t === row.target);
      });
      // Its key is where it is now: "headers.X-Token" by the name typed, "acceptedStatusCodes[2]" by its place.
      row.target = errors.add(() => [kind === "map" ? `${path}.${row.keyInput.value.trim()}` : `${path}[${rows.indexOf(row)}]`], row.field, rowError);
      rows.push(row);
      list.append(row.element);
      return row;
    };
    if (kind === "map" && value && typeof value === "object") for (const [k, v] of Object.entries(value)) addRow(k, v);
    if (kind === "array" && Array.isArray(value)) for (const v of value) addRow(null, v);
    const add = el("button", { type: "button", class: "add", text: `Add ${kind === "map" ? "an entry" : "an item"} to ${label}` });
    add.addEventListener("click", () => (addRow("", undefined).keyInput ?? rows[rows.length - 1].field).focus());
    const wrap = el("div", { class: "field schema-rows", role: "group", "aria-label": label },
      el("div", { class: "label" }, label, required ? el("span", { class: "required", "aria-hidden": "true", text: " *" }) : null),
      hint ? el("div", { class: "hint", text: hint }) : null, list, add, errorBox);
    errors.add([path], add, errorBox);
    return {
      node: wrap,
      collect: () => {
        let invalid = false;
        const values = rows.map((row) => {
          const v = scalarValue(itemSchema, row.field);
          if (v === INVALID) {
            row.target.box.textContent = "Not a number.";
            row.field.setAttribute("aria-invalid", "true");
            invalid = true;
          }
          return v;
        });
        if (invalid) return INVALID;
        if (kind === "array") {
          const items = values.filter((v) => v !== EMPTY);
          return items.length ? items : emptyOr();
        }
        const out = {};
        rows.forEach((row, i) => {
          const k = row.keyInput.value.trim();
          if (k || values[i] !== EMPTY) out[k] = values[i] === EMPTY ? "" : values[i];
        });
        return Object.keys(out).length ? out : emptyOr();
      },
    };
  }

  if (kind === "json") {
    const input = el("textarea", { rows: 4, spellcheck: "false" });
    input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
    const f = labelledField(`${label} (JSON)`, input, { hint: hint ?? "Any JSON value; a string goes in double quotes.", required, errorKey: path });
    errors.add([path], input, f.errorBox);
    return {
      node: f.wrap,
      collect: () => {
        const text = input.value.trim();
        if (!text) return emptyOr();
        try {
          return JSON.parse(text);
        } catch (error) {
          f.errorBox.textContent = `Not valid JSON: ${error.message}`;
          input.setAttribute("aria-invalid", "true");
          return INVALID;
        }
      },
    };
  }

  const input = scalarInput(schema, null, value, label);
  const f = labelledField(label, input, { hint, required, errorKey: path });
  errors.add([path], input, f.errorBox);
  return {
    node: f.wrap,
    collect: () => {
      const v = scalarValue(schema, input);
      if (v === INVALID) {
        f.errorBox.textContent = "Not a number.";
        input.setAttribute("aria-invalid", "true");
      }
      return v === EMPTY ? emptyOr() : v;
    },
  };
}

/** One input for a string, number, boolean or enum schema; a string naming a channel, model or tool is a select. */
function scalarInput(schema, id, value, name) {
  const kind = schemaKind(schema);
  const names = kind === "string" ? formReferences[REFERENCE_SOURCES[name]] : null;
  if (names) return referenceSelect(names, id, value);
  if (kind === "enum" || kind === "boolean") {
    const choices = kind === "enum" ? schema.enum.map((v) => [v, v]) : [["true", "yes"], ["false", "no"]];
    return el("select", { id }, el("option", { value: "", text: "(not set)" }),
      choices.map(([v, text]) => el("option", { value: v, text, selected: value !== undefined && String(value) === v })));
  }
  if (kind === "integer" || kind === "number") {
    return el("input", { id, type: "number", inputmode: kind === "integer" ? "numeric" : "decimal", step: kind === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, value: value ?? "" });
  }
  const long = (schema?.maxLength ?? 0) > 4096;
  if (long) {
    const area = el("textarea", { id, rows: 4 });
    area.value = value ?? "";
    return area;
  }
  return el("input", { id, type: "text", inputmode: schema?.format === "uri" ? "url" : undefined, maxlength: schema?.maxLength, autocomplete: "off", value: value ?? "" });
}

/** The value of one scalar input: EMPTY when blank, INVALID for a number that is not one. */
function scalarValue(schema, input) {
  const kind = schemaKind(schema);
  const raw = input.value;
  if (raw === "") return EMPTY;
  if (kind === "boolean") return raw === "true";
  if (kind === "integer" || kind === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : INVALID;
  }
  return raw;
}

// ---- The schedule's options ------------------------------------------------------------------------------------------

const getPath = (object, key) => key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), object);
function setPath(object, key, value) {
  const parts = key.split(".");
  let o = object;
  for (const part of parts.slice(0, -1)) o = o[part] ??= {};
  o[parts[parts.length - 1]] = value;
}

function optionField(option, existing, errors) {
  const value = getPath(existing, option.key);
  let input;
  if (option.type === "select" || option.type === "boolean") {
    const choices = option.type === "boolean" ? [["", "(default: yes)"], ["true", "yes"], ["false", "no"]] : option.options;
    const current = value === undefined || value === null ? "" : String(value);
    input = el("select", { name: option.key }, choices.map(([v, text]) => el("option", { value: v, text, selected: v === current })));
    // A select without an empty choice starts at its first (concurrency: forbid, the server's default).
  } else if (option.type === "reference" && formReferences[option.source]) {
    input = referenceSelect(formReferences[option.source], null, value);
    input.name = option.key;
  } else if (option.type === "json") {
    input = el("textarea", { name: option.key, rows: 3, spellcheck: "false" });
    input.value = value == null ? "" : JSON.stringify(value, null, 2);
  } else {
    input = el("input", { name: option.key, type: option.type === "integer" ? "number" : "text", step: option.type === "integer" ? "1" : undefined, inputmode: option.type === "integer" ? "numeric" : undefined, min: option.min, max: option.max, value: value ?? "", autocomplete: "off" });
  }
  const f = labelledField(option.label, input, { hint: option.hint, errorKey: option.key });
  errors.add([option.key], input, f.errorBox);
  return {
    node: f.wrap,
    collect: () => {
      const raw = input.value.trim();
      if (raw === "") return EMPTY;
      if (option.type === "boolean") return raw === "true";
      if (option.type === "integer") {
        const n = Number(raw);
        if (!Number.isInteger(n)) {
          f.errorBox.textContent = "Not a whole number.";
          input.setAttribute("aria-invalid", "true");
          return INVALID;
        }
        return n;
      }
      if (option.type === "json") {
        try {
          return JSON.parse(raw);
        } catch (error) {
          f.errorBox.textContent = `Not valid JSON: ${error.message}`;
          input.setAttribute("aria-invalid", "true");
          return INVALID;
        }
      }
      return raw;
    },
  };
}

// ---- The page -------------------------------------------------------------------------------------------------------

/** The kind of trigger a stored one is, to open the form on it. */
function triggerKind(trigger) {
  if (!trigger || trigger.cron) return "phrase";
  if (trigger.at) return "once";
  if (trigger.every != null || trigger.unit) return "calendar";
  return "interval";
}

async function renderScheduleForm(id) {
  const token = generation;
  // The action types are the server's (GET /api/actions), never a list kept here.
  // The request's fields (from the OpenAPI document, the slowest read) are needed only on save: not waited for here.
  const requestFields = id ? scheduleRequestFields() : Promise.resolve([]);
  const [projects, existing, actions, references] = await Promise.all([
    api("GET", "/api/projects?pageSize=200"),
    id ? api("GET", `/api/schedules/${encodeURIComponent(id)}`) : Promise.resolve(null),
    api("GET", "/api/actions"),
    loadReferences(),
  ]);
  if (stale(token)) return;
  formReferences = references;
  const kind = triggerKind(existing?.trigger);
  // A stored calendar trigger without a zone keeps none (saved unchanged, nothing changes); a new one starts in the browser's.
  const zone = existing?.trigger?.timeZone ?? (kind === "calendar" ? "" : Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC");
  if (existing && !projects.items.some((p) => p.id === existing.project)) projects.items.push({ id: existing.project, name: existing.project });
  const t = existing?.trigger ?? {};
  // The unit as stored ("months" reads as "month" on the server): offered as it is, so an edit sends it back unchanged.
  const units = t.unit && !CALENDAR_UNITS.includes(t.unit) ? [...CALENDAR_UNITS, t.unit] : CALENDAR_UNITS;
  const intervalText = t.intervalSeconds != null ? String(t.intervalSeconds) : (t.interval ?? "");
  view.innerHTML = `
    <h1>${existing ? `Edit ${esc(existing.name)}` : "New schedule"}</h1>${existing ? pauseNote(existing) + deadlineBadge(existing) : ""}
    ${existing?.managed ? `<p class="notice" data-managed>This schedule is <span class="status managed">managed</span> by apply: change its definition document and apply it; saving or deleting it here is refused.</p>` : ""}
    <form id="schedule-form" class="card schedule-form" novalidate>
      <div class="grid">
        <div class="field"><label for="f-name">Name</label><input id="f-name" name="name" required aria-required="true" aria-describedby="f-name-error" ${existing ? "readonly" : ""} value="${esc(existing?.name)}"><div class="error" id="f-name-error" data-error="name"></div></div>
        <div class="field"><label for="f-project">Project</label><select id="f-project" name="project" aria-describedby="f-project-error" ${existing ? "disabled" : ""}>${projects.items.map((p) => `<option value="${esc(p.id)}" ${p.id === (existing?.project ?? "default") ? "selected" : ""}>${esc(p.name)} (${esc(p.id)})</option>`).join("")}</select><div class="error" id="f-project-error" data-error="project"></div></div>
      </div>
      <div class="field"><label for="f-description">Description</label><input id="f-description" name="description" aria-describedby="f-description-error" value="${esc(existing?.description ?? "")}"><div class="error" id="f-description-error" data-error="description"></div></div>

      <fieldset class="section"><legend>Trigger</legend>
        <div class="field"><label for="f-kind">Trigger form</label><select id="f-kind" name="triggerKind">${TRIGGER_KINDS.map(([v, text]) => `<option value="${v}" ${v === kind ? "selected" : ""}>${esc(text)}</option>`).join("")}</select></div>
        <div data-kind="phrase">
          <div class="field"><label for="f-when">When (an English phrase or a cron expression)</label>
            <input id="f-when" name="when" placeholder="every weekday at 9:30" aria-describedby="f-when-error preview" value="${esc(t.cron ?? "")}">
            <div class="error" id="f-when-error" data-error="trigger"></div></div>
        </div>
        <div data-kind="interval">
          <div class="field"><label for="f-interval">Interval (seconds, or an ISO-8601 duration such as PT90M)</label>
            <input id="f-interval" name="interval" autocomplete="off" placeholder="3600 or PT1H" aria-describedby="f-interval-error" value="${esc(intervalText)}">
            <div class="error" id="f-interval-error" data-error="trigger.interval"></div></div>
        </div>
        <div data-kind="once">
          <div class="field"><label for="f-at">One time at (ISO-8601 with offset)</label>
            <input id="f-at" name="at" autocomplete="off" placeholder="2026-12-24T09:00:00+01:00" aria-describedby="f-at-hint f-at-error" value="${esc(t.at ?? "")}">
            <div class="hint" id="f-at-hint">A one-time trigger takes no start, end or run count.</div>
            <div class="error" id="f-at-error" data-error="trigger.at"></div></div>
        </div>
        <div data-kind="calendar" class="grid">
          <div class="field"><label for="f-every">Every (count)</label><input id="f-every" name="every" type="number" inputmode="numeric" min="1" step="1" aria-describedby="f-every-error" value="${esc(t.every ?? "")}"><div class="error" id="f-every-error" data-error="trigger.every"></div></div>
          <div class="field"><label for="f-unit">Unit</label><select id="f-unit" name="unit" aria-describedby="f-unit-error">${units.map((u) => `<option value="${u}" ${u === (t.unit ?? "day") ? "selected" : ""}>${u}</option>`).join("")}</select><div class="error" id="f-unit-error" data-error="trigger.unit"></div></div>
        </div>
        <div class="field" data-kind="phrase calendar"><label for="f-zone">Time zone</label><input id="f-zone" name="timeZone" autocomplete="off" aria-describedby="f-zone-error" value="${esc(zone)}"><div class="error" id="f-zone-error" data-error="trigger.timeZone"></div></div>
        <div class="grid" data-kind="phrase interval calendar">
          <div class="field"><label for="f-start">Start at</label><input id="f-start" name="startAt" autocomplete="off" placeholder="ISO-8601, optional" aria-describedby="f-start-error" value="${esc(t.startAt ?? "")}"><div class="error" id="f-start-error" data-error="trigger.startAt"></div></div>
          <div class="field"><label for="f-end">End at</label><input id="f-end" name="endAt" autocomplete="off" placeholder="ISO-8601, optional" aria-describedby="f-end-error" value="${esc(t.endAt ?? "")}"><div class="error" id="f-end-error" data-error="trigger.endAt"></div></div>
          <div class="field"><label for="f-max-runs">Max runs</label><input id="f-max-runs" name="maxRuns" type="number" inputmode="numeric" min="1" step="1" aria-describedby="f-max-runs-error" value="${esc(t.maxRuns ?? "")}"><div class="error" id="f-max-runs-error" data-error="trigger.maxRuns"></div></div>
        </div>
        <div id="preview" class="preview" aria-live="polite">Type a phrase such as “every weekday at 9:30” or a cron such as “0 30 9 ? * MON-FRI”.</div>
      </fieldset>

      <fieldset class="section"><legend>Action</legend>
        <div class="field"><label for="f-type">Action type</label><select id="f-type" name="actionType" aria-describedby="f-type-hint f-type-error">${actions.map((a) => `<option value="${esc(a.name)}" ${a.name === (existing?.action?.type ?? "noop") ? "selected" : ""}>${esc(a.name)}</option>`).join("")}</select>
          <div class="hint" id="f-type-hint"></div><div class="error" id="f-type-error" data-error="action.type"></div></div>
        <div id="action-config" class="action-config"></div>
        <div class="actions-row"><button type="button" id="test-run">Test run</button><span class="hint">Validates the action and shows what a run would send; nothing is sent or saved.</span></div>
        <section id="dry-run" class="dry-run" aria-live="polite" hidden></section>
      </fieldset>

      <fieldset class="section"><legend>Options</legend><div id="schedule-options" class="grid"></div></fieldset>

      <div id="form-error" class="error" role="alert"></div>
      <div class="actions-row">
        <button class="primary" type="submit">${existing ? "Save" : "Create"}</button>
        <a class="button" href="#/schedules">Cancel</a>
      </div>
    </form>${existing ? `<section id="occurrences-strip" class="card" aria-live="polite"></section>` : ""}`;
  if (existing && typeof renderOccurrenceStrip === "function") renderOccurrenceStrip(document.getElementById("occurrences-strip"), existing.id);

  const form = document.getElementById("schedule-form");
  const errors = new ErrorTargets(document.getElementById("form-error"));
  const $ = (selector) => form.querySelector(selector);
  const kindSelect = $("#f-kind");
  const currentKind = () => kindSelect.value;
  const inKind = (...kinds) => () => kinds.includes(currentKind());
  const box = (input) => document.getElementById(`${input.id}-error`);
  for (const [keys, selector, active] of [
    [["name", "scheduleName"], "#f-name"], [["project"], "#f-project"], [["description"], "#f-description"], [["action.type", "action"], "#f-type"],
    [["trigger"], "#f-when", inKind("phrase")], [["trigger", "trigger.interval", "trigger.intervalSeconds"], "#f-interval", inKind("interval")],
    [["trigger", "trigger.at"], "#f-at", inKind("once")], [["trigger", "trigger.every"], "#f-every", inKind("calendar")], [["trigger.unit"], "#f-unit", inKind("calendar")],
    [["trigger.timeZone"], "#f-zone"], [["trigger.startAt"], "#f-start"], [["trigger.endAt"], "#f-end"], [["trigger.maxRuns"], "#f-max-runs"],
  ]) {
    const input = $(selector);
    errors.add(keys, input, box(input), active);
  }

  // ---- Options
  const options = SCHEDULE_OPTIONS.map((option) => [option, optionField(option, existing, errors)]);
  const optionsBox = document.getElementById("schedule-options");
  for (const [, field] of options) optionsBox.append(field.node);

  // ---- Action config, regenerated when the type changes. A config typed for one type is kept per type, so switching
  // back and forth loses nothing.
  const typeSelect = $("#f-type");
  const configBox = document.getElementById("action-config");
  const configs = new Map(existing ? [[existing.action.type, existing.action.config]] : []);
  let config = null;
  const drawConfig = () => {
    errors.remove((target) => !target.box.isConnected);
    const type = typeSelect.value;
    const action = actions.find((a) => a.name === type);
    $("#f-type-hint").textContent = action?.description ?? "";
    config = schemaField(action?.schema ?? {}, "action.config", `Config of ${type}`, configs.get(type) ?? {}, true, errors);
    config.type = type;
    configBox.replaceChildren(config.node);
    if (!Object.keys(action?.schema?.properties ?? {}).length && schemaKind(action?.schema) !== "json") {
      configBox.append(el("p", { class: "hint", text: "This action type takes no settings." }));
    }
  };
  typeSelect.addEventListener("change", () => {
    const previous = config?.type;
    const value = config?.collect();
    if (previous && value !== INVALID && value !== EMPTY) configs.set(previous, value);
    drawConfig();
    document.getElementById("dry-run").hidden = true;
  });
  drawConfig();

  // ---- Trigger
  const showKind = () => {
    for (const section of form.querySelectorAll("[data-kind]")) section.hidden = !section.dataset.kind.split(" ").includes(currentKind());
  };
  showKind();
  const whenInput = $("#f-when");
  const zoneInput = $("#f-zone");
  const preview = document.getElementById("preview");

  // The trigger the phrase form will save: the parse answer's (any form a schedule takes), or {cron, timeZone} for a typed cron.
  let trigger = t.cron ? { cron: t.cron, timeZone: t.timeZone } : null;
  // The other reading the operator picked, if any: its place in the list and the trigger it was.
  let chosen = null;
  let timer = null;
  let asked = 0;
  // Whether the operator has changed the trigger since the form opened (see showTypedPreview).
  let triggerTouched = false;
  const setFieldError = (key, message) => {
    const target = errors.find(key);
    if (!target) return;
    target.box.textContent = message;
    if (message) target.input?.setAttribute("aria-invalid", "true");
    else target.input?.removeAttribute("aria-invalid");
  };
  const describe = (tr) => (tr.cron ? `cron <code>${esc(tr.cron)}</code>`
    : tr.at ? "one time"
    : tr.every ? `calendar interval (every ${esc(tr.every)} ${esc(tr.unit)}${tr.every === 1 ? "" : "s"} from ${tr.startAt ? esc(tr.startAt) : "the moment it is saved"})`
    : "interval");
  const showPreview = async () => {
    const text = whenInput.value.trim();
    if (!text) return;
    const mine = ++asked;
    chosen = null;
    const typedCron = looksLikeCron(text);
    const body = typedCron ? { expression: text, timeZone: zoneInput.value, count: 5 } : { text, timeZone: zoneInput.value, count: 5 };
    try {
      const result = await api("POST", typedCron ? "/api/cron/describe" : "/api/cron/parse", body);
      if (mine !== asked) return; // a newer preview was asked for while this one was on its way
      trigger = typedCron ? { cron: result.expression, timeZone: result.timeZone } : result.trigger;
      const shownZone = result.timeZone ?? body.timeZone;
      const alternatives = result.alternatives ?? [];
      // The reading chosen is said; a phrase that could mean something else lists the other readings, each usable as is.
      preview.innerHTML = `<strong>${esc(result.description)}</strong> — ${describe(trigger)}`
        + (result.reading && result.reading !== result.description ? `<div class="reading">Read as: ${esc(result.reading)}</div>` : "")
        + `<ol>${result.nextFireTimes.map((time) => `<li>${whenIn(time, shownZone)}</li>`).join("")}</ol>`
        + (alternatives.length ? `<div class="alternatives">Could also mean:<ul>${alternatives.map((a, i) =>
          `<li>${esc(a.reading)} <button type="button" data-alternative="${i}">Use this</button></li>`).join("")}</ul></div>` : "");
      preview.querySelectorAll("[data-alternative]").forEach((button) => button.addEventListener("click", () => {
        const index = Number(button.dataset.alternative);
        const alternative = alternatives[index];
        trigger = alternative.trigger;
        chosen = { index, trigger };
        preview.innerHTML = `<strong>${esc(alternative.description)}</strong> — ${describe(trigger)}<div class="reading">Read as: ${esc(alternative.reading)}</div>`;
      }));
      setFieldError("trigger", "");
      setFieldError("trigger.timeZone", "");
    } catch (error) {
      if (mine !== asked) return;
      trigger = null;
      const problem = error.problem?.errors ?? {};
      preview.textContent = "No preview.";
      setFieldError("trigger.timeZone", (problem.timeZone ?? []).join(" "));
      setFieldError("trigger", [...(problem.text ?? []), ...(problem.expression ?? []), ...(problem.count ?? [])].join(" ") || (problem.timeZone ? "" : error.message));
    }
  };
  // A reading's start ("every 2 weeks from Monday 10:00") or one time ("once at 09:00") was worked out when the phrase
  // was read; by the time the form is saved it may have passed, and Quartz would fire a past start at once or refuse a
  // past one time. So the phrase is read again and the same reading taken, with its instants as of now: the very trigger
  // if it is still offered, else the alternative in the same place of the same shape, else any of that shape.
  const shape = (tr) => JSON.stringify(Object.keys(tr).filter((k) => k !== "startAt" && k !== "at" && tr[k] != null).sort().map((k) => [k, tr[k]]));
  const chosenAgain = async () => {
    const wanted = chosen; // typing while the answer is on its way starts a new preview, which forgets the choice
    try {
      const result = await api("POST", "/api/cron/parse", { text: whenInput.value.trim(), timeZone: zoneInput.value, count: 1 });
      const readings = [{ trigger: result.trigger }, ...(result.alternatives ?? [])];
      const alternatives = result.alternatives ?? [];
      const sameShape = (a) => a && shape(a.trigger) === shape(wanted.trigger);
      const again = readings.find((a) => JSON.stringify(a.trigger) === JSON.stringify(wanted.trigger))
        ?? (sameShape(alternatives[wanted.index]) ? alternatives[wanted.index] : alternatives.find(sameShape));
      if (again) return again.trigger;
    } catch {
      // Not offered any more, or the phrase is refused now: the fresh preview below says which.
    }
    await showPreview();
    // When the phrase itself is refused now, the preview has already said why.
    if (trigger) setFieldError("trigger", "The reading you chose is no longer offered for this phrase; check the preview and choose again.");
    return null;
  };

  // The start, end and run count as typed; an empty one is left out.
  const bounds = () => {
    const out = {};
    const start = $("#f-start").value.trim();
    const end = $("#f-end").value.trim();
    const maxRuns = $("#f-max-runs").value.trim();
    if (start) out.startAt = start;
    if (end) out.endAt = end;
    if (maxRuns) out.maxRuns = Number.isInteger(Number(maxRuns)) ? Number(maxRuns) : maxRuns;
    return out;
  };
  // The trigger of the interval, one-time and calendar forms, from their fields (the server judges them).
  const typedTrigger = () => {
    switch (currentKind()) {
      case "interval": {
        const text = $("#f-interval").value.trim();
        return { ...(/^\d+$/.test(text) ? { intervalSeconds: Number(text) } : { interval: text || undefined }), ...bounds() };
      }
      case "once":
        return { at: $("#f-at").value.trim() || undefined };
      case "calendar": {
        const every = $("#f-every").value.trim();
        return { every: every === "" ? undefined : Number.isInteger(Number(every)) ? Number(every) : every, unit: $("#f-unit").value, timeZone: zoneInput.value.trim() || undefined, ...bounds() };
      }
      default:
        return null;
    }
  };
  const showTypedPreview = async () => {
    const mine = ++asked;
    const typed = typedTrigger();
    for (const key of ["trigger", "trigger.interval", "trigger.at", "trigger.every", "trigger.unit", "trigger.timeZone", "trigger.startAt", "trigger.endAt", "trigger.maxRuns"]) setFieldError(key, "");
    try {
      // Editing: with the schedule's id, an unchanged trigger previews the times a save keeps (the stored trigger's).
      const result = await api("POST", "/api/schedules/preview", existing ? { trigger: typed, count: 5, id: existing.id } : { trigger: typed, count: 5 });
      if (mine !== asked) return;
      const shownZone = typed.timeZone ?? zoneInput.value;
      preview.innerHTML = `<strong>${esc(result.description)}</strong> — ${describe(typed)}<ol>${result.nextFireTimes.map((time) => `<li>${whenIn(time, shownZone)}</li>`).join("")}</ol>`;
    } catch (error) {
      if (mine !== asked) return;
      const problems = Object.entries(error.problem?.errors ?? { trigger: [error.message] });
      // The stored trigger of an edit, untouched, is kept as it is on save (a one-time that already ran stays in the
      // past): what the server says of it is said in the preview, not flagged on a field the operator did not change.
      if (!triggerTouched && existing) {
        preview.textContent = `No preview: ${problems.map(([, messages]) => messages.join(" ")).join(" ")}`;
        return;
      }
      preview.textContent = "No preview.";
      for (const [key, messages] of problems) setFieldError(key, messages.join(" "));
    }
  };
  const mainInput = { interval: "#f-interval", once: "#f-at", calendar: "#f-every" };
  const schedulePreview = () => {
    clearTimeout(timer);
    // Nothing typed yet in the chosen form: nothing to preview, and nothing to complain about.
    if (currentKind() !== "phrase" && !$(mainInput[currentKind()]).value.trim()) {
      ++asked;
      preview.textContent = "";
      return;
    }
    timer = setTimeout(() => (currentKind() === "phrase" ? showPreview() : showTypedPreview()), 300);
  };
  whenInput.addEventListener("input", schedulePreview);
  for (const selector of ["#f-zone", "#f-interval", "#f-at", "#f-every", "#f-unit", "#f-start", "#f-end", "#f-max-runs"]) {
    $(selector).addEventListener("input", () => {
      triggerTouched = true;
      return currentKind() !== "phrase" || selector === "#f-zone" ? schedulePreview() : null;
    });
  }
  kindSelect.addEventListener("change", () => {
    triggerTouched = true;
    showKind();
    errors.clear();
    preview.textContent = currentKind() === "phrase" ? "Type a phrase such as “every weekday at 9:30” or a cron such as “0 30 9 ? * MON-FRI”." : "";
    schedulePreview();
  });
  if (kind === "phrase" && whenInput.value) showPreview();
  else if (kind !== "phrase") schedulePreview();

  // ---- Test run: the server validates the action as a create would and renders what a run would send.
  const collectConfig = () => {
    const value = config.collect();
    return value === EMPTY ? {} : value;
  };
  $("#test-run").addEventListener("click", async () => {
    errors.clear();
    const out = document.getElementById("dry-run");
    const value = collectConfig();
    if (value === INVALID) return;
    const name = $("#f-name").value.trim();
    try {
      const result = await api("POST", "/api/actions/dry-run", { project: $("#f-project").value, scheduleName: name || undefined, action: { type: typeSelect.value, config: value } });
      out.hidden = false;
      out.innerHTML = `<h2>What a run would send</h2>
        <p class="hint">Placeholders filled for a sample run (${esc(result.sample.scheduleId)}, attempt ${esc(result.sample.attempt)}).${result.secrets.length
          ? ` Secrets stay references here (${result.secrets.map((s) => `<code>${esc(s)}</code>`).join(", ")}); a real run resolves them when it sends.` : ""}</p>
        ${json(result.rendered)}`;
    } catch (error) {
      out.hidden = false;
      out.innerHTML = `<h2>Not valid</h2><p class="hint">The messages are beside the fields they are about.</p>`;
      errors.show(error);
    }
  });

  // ---- Save
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    let invalid = false;
    const body = {
      name: $("#f-name").value.trim(),
      project: $("#f-project").value,
    };
    body.description = $("#f-description").value || null;

    if (currentKind() === "phrase") {
      if (!whenInput.value.trim()) {
        setFieldError("trigger", "Type a phrase or a cron expression, or choose another trigger form.");
        return;
      }
      // Read the phrase once more, as it is now; a chosen alternative stays chosen, with fresh instants.
      if (chosen) trigger = await chosenAgain();
      else await showPreview();
      if (!trigger) return;
      // A null in the answer is a field the phrase did not set; the start, end and run count typed fill those. A
      // one-time reading takes none of them.
      const given = Object.fromEntries(Object.entries(trigger).filter(([, v]) => v != null));
      body.trigger = given.at ? given : { ...bounds(), ...given };
    } else {
      body.trigger = typedTrigger();
    }

    const value = collectConfig();
    if (value === INVALID) invalid = true;
    body.action = { type: typeSelect.value, config: value };
    for (const [option, field] of options) {
      const v = field.collect();
      if (v === INVALID) invalid = true;
      else if (v !== EMPTY) setPath(body, option.key, v);
    }
    if (invalid) return;
    // Editing keeps what the server stores that this form does not show (a field another part of the product added),
    // as the server's own request schema names them; what the form shows is the form's.
    if (existing) {
      const shown = new Set(["name", "project", "description", "trigger", "action", ...SCHEDULE_OPTIONS.map((o) => o.key.split(".")[0])]);
      for (const field of await requestFields) if (!shown.has(field) && existing[field] != null) body[field] = existing[field];
    }
    try {
      if (existing) await api("PUT", `/api/schedules/${encodeURIComponent(existing.id)}`, body);
      else await api("POST", "/api/schedules", body);
      toast(existing ? "Saved." : `Created ${body.name}.`);
      location.hash = "#/schedules";
    } catch (error) {
      errors.show(error);
    }
  });
}

/** The properties a schedule request takes, from the server's OpenAPI document (empty if it cannot be read). */
async function scheduleRequestFields() {
  try {
    const response = await fetch("/openapi/v1.json");
    const document = await response.json();
    return Object.keys(document.components?.schemas?.ScheduleRequest?.properties ?? {});
  } catch {
    return [];
  }
}
