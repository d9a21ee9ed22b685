// Orchestrator dashboard: a small single-page app over the REST API. No framework and no build step; every view is
// a function that renders into <main>. The API key lives in sessionStorage (this tab only) and goes out as a Bearer
// token on every call, so the dashboard can do exactly what the key's role allows.
"use strict";

const view = document.getElementById("view");
const KEY = "orchestrator.apiKey";
let refreshTimer = null;
// Why the sign-in form is showing ("Signed out.", "Your key was refused…"): kept until the next sign-in, because
// the form is drawn by route() after the hash changes, not by whoever signed the user out.
let signInMessage = "";
// Bumped on every navigation: a render that finishes after the user moved on must not draw over the new page.
let generation = 0;
const stale = (token) => token !== generation;

const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
// A fire time in the schedule's own zone, named, so "9:30 Europe/Paris" is not shown as the browser's 8:30.
const whenIn = (iso, zone) => {
  if (!iso || !zone) return when(iso);
  try {
    return new Date(iso).toLocaleString(undefined, { timeZone: zone, timeZoneName: "short" });
  } catch {
    return when(iso);
  }
};
const badge = (status) => `<span class="status ${esc(status)}">${esc(status ?? "—")}</span>`;
const json = (value) => `<pre>${esc(JSON.stringify(value ?? null, null, 2))}</pre>`;

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("show");
  clearTimeout(box.timer);
  box.timer = setTimeout(() => box.classList.remove("show"), 3500);
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ""}`, "X-Orchestrator-Client": "dashboard" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, say: keep the status, drop the body.
    data = { title: `HTTP ${response.status}`, detail: text.slice(0, 200) };
  }
  if (response.status === 401) {
    signOut("Your key was refused; sign in again.");
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  signInMessage = message;
  // route() draws the form with the message; an unchanged hash fires no hashchange, so route explicitly then.
  if (location.hash === "#/signin") route();
  else location.hash = "#/signin";
}

function renderSignIn(message) {
  document.getElementById("nav").hidden = true;
  view.innerHTML = `
    <section class="card signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <form id="signin-form">
        <div class="field">
          <label for="api-key">API key</label>
          <input id="api-key" type="password" autocomplete="off" required placeholder="orch_…">
          <div class="hint">The admin key is printed once when the server first starts. It is kept for this tab only.</div>
        </div>
        <div id="signin-error" class="error" role="alert">${esc(message ?? "")}</div>
        <button class="primary" type="submit">Sign in</button>
      </form>
    </section>`;
  document.getElementById("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = document.getElementById("api-key").value.trim();
    let response;
    try {
      response = await fetch("/api/cluster/nodes", { headers: { Authorization: `Bearer ${key}` } });
    } catch (error) {
      document.getElementById("signin-error").textContent = `The server could not be reached: ${error.message}`;
      return;
    }
    if (!response.ok) {
      document.getElementById("signin-error").textContent = response.status === 401 ? "That key was refused." : `Sign-in failed (HTTP ${response.status}).`;
      return;
    }
    sessionStorage.setItem(KEY, key);
    signInMessage = "";
    // Changing the hash routes by itself; only an unchanged hash needs an explicit route.
    if (location.hash === "#/schedules") route();
    else location.hash = "#/schedules";
  });
  document.getElementById("api-key").focus();
}

// ---- Schedules ---------------------------------------------------------------------------------------------------

// Why a paused schedule is paused, by whom and since when (as Quartz recorded it); nothing for a running one.
const pauseNote = (s) => (s.state === "paused" && (s.pausedReason || s.pausedBy)
  ? `<div class="pause-note">${s.pausedReason ? `“${esc(s.pausedReason)}”` : "No reason given"} — ${esc(s.pausedBy ?? "unknown")}, ${when(s.pausedAt)}</div>`
  : "");

async function renderSchedules() {
  const token = generation;
  const page = await api("GET", "/api/schedules?pageSize=200");
  if (stale(token)) return;
  const rows = page.items.map((s) => `
    <tr data-schedule="${esc(s.id)}">
      <td><a href="#/runs?schedule=${encodeURIComponent(s.id)}">${esc(s.name)}</a>${s.managed ? ` <span class="status managed" title="Managed by apply: edit its definition document (the API refuses edits and deletes without ?force=true)">managed</span>` : ""}</td>
      <td class="hide-small">${esc(s.project)}</td>
      <td class="hide-small">${esc(s.action?.type)}</td>
      <td>${esc(s.triggerDescription)}</td>
      <td class="hide-small">${whenIn(s.nextFireTime, s.trigger?.timeZone)}</td>
      <td class="hide-small">${badge(s.lastRun?.status)}</td>
      <td data-col="state">${badge(s.state)}${pauseNote(s)}</td>
      <td class="actions">
        <button type="button" data-act="run" aria-label="Run ${esc(s.name)} now">Run now</button>
        ${s.state === "paused"
          ? `<button type="button" data-act="resume" aria-label="Resume ${esc(s.name)}">Resume</button>`
          : `<button type="button" data-act="pause" aria-label="Pause ${esc(s.name)}">Pause</button>`}
        <a class="button" href="#/schedules/edit/${encodeURIComponent(s.id)}" aria-label="Edit ${esc(s.name)}">Edit</a>
        <button type="button" class="danger" data-act="delete" aria-label="Delete ${esc(s.name)}">Delete</button>
      </td>
    </tr>`).join("");
  view.innerHTML = `
    <h1>Schedules</h1>
    <div class="toolbar"><a class="button primary" href="#/schedules/new">New schedule</a></div>
    <div class="table-wrap"><table aria-label="Schedules">
      <thead><tr><th>Name</th><th class="hide-small">Project</th><th class="hide-small">Action</th><th>When</th><th class="hide-small">Next fire</th><th class="hide-small">Last run</th><th>State</th><th>Actions</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="8">No schedules yet.</td></tr>`}</tbody>
    </table></div>`;
  view.querySelectorAll("button[data-act]").forEach((button) => button.addEventListener("click", async () => {
    const id = button.closest("tr").dataset.schedule;
    const act = button.dataset.act;
    try {
      if (act === "delete") {
        if (!confirm(`Delete schedule ${id}? Its run history is kept.`)) return;
        await api("DELETE", `/api/schedules/${encodeURIComponent(id)}`);
        toast(`Deleted ${id}.`);
      } else if (act === "pause") {
        // Cancel keeps it running; an empty answer pauses without a reason.
        const reason = prompt(`Why pause ${id}? (optional; shown to everyone and kept in the audit log)`);
        if (reason === null) return;
        await api("POST", `/api/schedules/${encodeURIComponent(id)}/pause`, reason.trim() ? { reason: reason.trim() } : {});
        toast(`Paused ${id}.`);
      } else {
        await api("POST", `/api/schedules/${encodeURIComponent(id)}/${act}`);
        toast(act === "run" ? `Started ${id}.` : `${act === "pause" ? "Paused" : "Resumed"} ${id}.`);
      }
      if (!stale(token)) await renderSchedules();
    } catch (error) {
      toast(error.message);
    }
  }));
}

// A cron field is digits and * ? / , - # L W, or month and day abbreviations; a phrase has ordinary words.
const CRON_TOKEN = /^(?:[0-9*?\/,#LW-]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i;
const looksLikeCron = (text) => {
  const tokens = text.trim().split(/\s+/);
  return tokens.length >= 5 && tokens.length <= 7 && tokens.every((t) => CRON_TOKEN.test(t));
};

async function renderScheduleForm(id) {
  const token = generation;
  // The action types are the server's (GET /api/actions), never a list kept here.
  const [projects, existing, actions] = await Promise.all([
    api("GET", "/api/projects?pageSize=200"),
    id ? api("GET", `/api/schedules/${encodeURIComponent(id)}`) : Promise.resolve(null),
    api("GET", "/api/actions"),
  ]);
  if (stale(token)) return;
  const zone = existing?.trigger?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
  if (existing && !projects.items.some((p) => p.id === existing.project)) projects.items.push({ id: existing.project, name: existing.project });
  view.innerHTML = `
    <h1>${existing ? `Edit ${esc(existing.name)}` : "New schedule"}</h1>${existing ? pauseNote(existing) : ""}
    ${existing?.managed ? `<p class="notice" data-managed>This schedule is <span class="status managed">managed</span> by apply: change its definition document and apply it; saving or deleting it here is refused.</p>` : ""}
    <form id="schedule-form" class="card" novalidate>
      <div class="grid">
        <div class="field"><label for="f-name">Name</label><input id="f-name" name="name" required ${existing ? "readonly" : ""} value="${esc(existing?.name)}"><div class="error" data-error="name"></div></div>
        <div class="field"><label for="f-project">Project</label><select id="f-project" name="project" ${existing ? "disabled" : ""}>${projects.items.map((p) => `<option value="${esc(p.id)}" ${p.id === (existing?.project ?? "default") ? "selected" : ""}>${esc(p.name)} (${esc(p.id)})</option>`).join("")}</select><div class="error" data-error="project"></div></div>
        <div class="field"><label for="f-type">Action type</label><select id="f-type" name="actionType">${actions.map((a) => `<option value="${esc(a.name)}" title="${esc(a.description)}" ${a.name === (existing?.action?.type ?? "noop") ? "selected" : ""}>${esc(a.name)}</option>`).join("")}</select><div class="error" data-error="action.type"></div></div>
      </div>
      <div class="field"><label for="f-when">When (an English phrase or a cron expression)</label>
        <input id="f-when" name="when" required placeholder="every weekday at 9:30" value="${esc(existing?.trigger?.cron ?? "")}">
        <div class="error" data-error="trigger"></div><div id="preview" class="preview" aria-live="polite">${existing && !existing.trigger?.cron
          ? `Now: ${esc(existing.triggerDescription)}. Leave this empty to keep it.`
          : "Type a phrase such as “every weekday at 9:30” or a cron such as “0 30 9 ? * MON-FRI”."}</div></div>
      <div class="field"><label for="f-zone">Time zone</label><input id="f-zone" name="timeZone" value="${esc(zone)}"><div class="error" data-error="trigger.timeZone"></div></div>
      <div class="field"><label for="f-config">Action config (JSON)</label><textarea id="f-config" name="config">${esc(JSON.stringify(existing?.action?.config ?? {}, null, 2))}</textarea><div class="error" data-error="action.config"></div></div>
      <div class="field"><label for="f-concurrency">When a run is still going at the next fire time</label><select id="f-concurrency" name="concurrency">${[["forbid", "forbid — wait for it"], ["skip", "skip — drop the new one"], ["buffer_one", "buffer_one — keep one waiting"], ["cancel_previous", "cancel_previous — cancel it, start the new one"], ["allow", "allow — run both"]].map(([value, label]) => `<option value="${value}" ${value === (existing?.concurrency ?? "forbid") ? "selected" : ""}>${esc(label)}</option>`).join("")}</select><div class="error" data-error="concurrency"></div></div>
      <div class="field"><label for="f-description">Description</label><input id="f-description" name="description" value="${esc(existing?.description ?? "")}"><div class="error" data-error="description"></div></div>
      <div id="form-error" class="error" role="alert"></div>
      <button class="primary" type="submit">${existing ? "Save" : "Create"}</button>
      <a class="button" href="#/schedules">Cancel</a>
    </form>${existing ? `<section id="occurrences-strip" class="card" aria-live="polite"></section>` : ""}`;
  if (existing && typeof renderOccurrenceStrip === "function") renderOccurrenceStrip(document.getElementById("occurrences-strip"), existing.id);

  // The trigger the form will save: the parse answer's (any form a schedule takes), or {cron, timeZone} for a typed cron.
  let trigger = existing?.trigger?.cron ? existing.trigger : null;
  // The other reading the operator picked, if any: its place in the list and the trigger it was.
  let chosen = null;
  let timer = null;
  let asked = 0;
  const whenInput = document.getElementById("f-when");
  const zoneInput = document.getElementById("f-zone");
  const preview = document.getElementById("preview");
  const kind = (t) => (t.cron ? `cron <code>${esc(t.cron)}</code>`
    : t.at ? "one time"
    : t.every ? `calendar interval (every ${esc(t.every)} ${esc(t.unit)}${t.every === 1 ? "" : "s"} from ${esc(t.startAt)})`
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
      const zone = result.timeZone ?? body.timeZone;
      const alternatives = result.alternatives ?? [];
      // The reading chosen is said; a phrase that could mean something else lists the other readings, each usable as is.
      preview.innerHTML = `<strong>${esc(result.description)}</strong> — ${kind(trigger)}`
        + (result.reading && result.reading !== result.description ? `<div class="reading">Read as: ${esc(result.reading)}</div>` : "")
        + `<ol>${result.nextFireTimes.map((t) => `<li>${whenIn(t, zone)}</li>`).join("")}</ol>`
        + (alternatives.length ? `<div class="alternatives">Could also mean:<ul>${alternatives.map((a, i) =>
          `<li>${esc(a.reading)} <button type="button" data-alternative="${i}">Use this</button></li>`).join("")}</ul></div>` : "");
      preview.querySelectorAll("[data-alternative]").forEach((button) => button.addEventListener("click", () => {
        const index = Number(button.dataset.alternative);
        const alternative = alternatives[index];
        trigger = alternative.trigger;
        chosen = { index, trigger };
        preview.innerHTML = `<strong>${esc(alternative.description)}</strong> — ${kind(trigger)}<div class="reading">Read as: ${esc(alternative.reading)}</div>`;
      }));
      setError("trigger", "");
    } catch (error) {
      if (mine !== asked) return;
      trigger = null;
      const errors = error.problem?.errors ?? {};
      preview.textContent = "No preview.";
      setError("trigger.timeZone", (errors.timeZone ?? []).join(" "));
      setError("trigger", [...(errors.text ?? []), ...(errors.expression ?? []), ...(errors.count ?? [])].join(" ") || (errors.timeZone ? "" : error.message));
    }
  };
  // A reading's start ("every 2 weeks from Monday 10:00") or one time ("once at 09:00") was worked out when the phrase
  // was read; by the time the form is saved it may have passed, and Quartz would fire a past start at once or refuse a
  // past one time. So the phrase is read again and the same reading taken, with its instants as of now: the very trigger
  // if it is still offered, else the alternative in the same place of the same shape, else any of that shape.
  const shape = (t) => JSON.stringify(Object.keys(t).filter((k) => k !== "startAt" && k !== "at" && t[k] != null).sort().map((k) => [k, t[k]]));
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
    if (trigger) setError("trigger", "The reading you chose is no longer offered for this phrase; check the preview and choose again.");
    return null;
  };
  const schedulePreview = () => { clearTimeout(timer); timer = setTimeout(showPreview, 300); };
  whenInput.addEventListener("input", schedulePreview);
  zoneInput.addEventListener("input", schedulePreview);
  if (whenInput.value) showPreview();

  document.getElementById("schedule-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    view.querySelectorAll("[data-error]").forEach((e) => (e.textContent = ""));
    document.getElementById("form-error").textContent = "";
    const keepTrigger = existing && !existing.trigger?.cron && !whenInput.value.trim();
    if (!keepTrigger) {
      // Read the phrase once more, as it is now; a chosen alternative stays chosen, with fresh instants.
      if (chosen) trigger = await chosenAgain();
      else await showPreview();
      if (!trigger) return;
    }
    let config;
    try {
      config = JSON.parse(document.getElementById("f-config").value || "{}");
    } catch (error) {
      setError("action.config", `Not valid JSON: ${error.message}`);
      return;
    }
    const body = {
      name: document.getElementById("f-name").value.trim(),
      project: document.getElementById("f-project").value,
      description: document.getElementById("f-description").value || null,
      action: { type: document.getElementById("f-type").value, config },
      concurrency: document.getElementById("f-concurrency").value,
      // Editing keeps what the form does not show (startAt, endAt, maxRuns) where the new form takes them: a calendar
      // interval brings its own start, a one-time trigger takes none. A trigger stays unless replaced.
      trigger: keepTrigger ? existing.trigger : withKept(trigger, existing?.trigger),
    };
    try {
      if (existing) await api("PUT", `/api/schedules/${encodeURIComponent(existing.id)}`, { ...existing, ...body, id: undefined, state: undefined, nextFireTime: undefined, previousFireTime: undefined, lastRun: undefined, triggerDescription: undefined, managed: undefined, pausedReason: undefined, pausedBy: undefined, pausedAt: undefined, jitterOffsetSeconds: undefined });
      else await api("POST", "/api/schedules", body);
      toast(existing ? "Saved." : `Created ${body.name}.`);
      location.hash = "#/schedules";
    } catch (error) {
      showProblem(error);
    }
  });
}

function withKept(trigger, previous) {
  // A null in the answer is a field the phrase did not set, not an order to clear what the schedule had.
  const given = Object.fromEntries(Object.entries(trigger).filter(([, value]) => value != null));
  if (!previous || given.at) return given;
  const kept = { endAt: previous.endAt, maxRuns: previous.maxRuns };
  return given.every ? { ...kept, ...given } : { startAt: previous.startAt, ...kept, ...given };
}

function setError(field, message) {
  const box = view.querySelector(`[data-error="${field}"]`) ?? document.getElementById("form-error");
  if (box) box.textContent = message;
}

/** A 422 from the API: each message goes beside its field (the closest field whose name starts the error's key). */
function showProblem(error) {
  const errors = error.problem?.errors;
  if (!errors) {
    document.getElementById("form-error").textContent = error.message;
    return;
  }
  const fields = [...view.querySelectorAll("[data-error]")].map((e) => e.dataset.error).sort((a, b) => b.length - a.length);
  for (const [key, messages] of Object.entries(errors)) {
    const field = fields.find((f) => key === f || key.startsWith(`${f}.`)) ?? null;
    const box = field ? view.querySelector(`[data-error="${field}"]`) : document.getElementById("form-error");
    box.textContent = `${box.textContent} ${field ? "" : `${key}: `}${messages.join(" ")}`.trim();
  }
}

// ---- Runs --------------------------------------------------------------------------------------------------------

// How long a run took, or has been running: "850 ms", "12.4 s", "3 m 05 s", "2 h 07 m".
function duration(run) {
  if (!run.startedAt) return "—";
  const ms = (run.finishedAt ? new Date(run.finishedAt) : new Date()) - new Date(run.startedAt);
  if (ms < 1000) return `${Math.max(0, ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}

// A full id (UUIDv7 ids share their first characters, so a prefix tells rows apart badly) with a copy button.
const fullId = (id, href) => `<span class="id"><a href="${href}"><code>${esc(id)}</code></a> <button type="button" class="link copy" data-copy="${esc(id)}" aria-label="Copy id ${esc(id)}">copy</button></span>`;

document.addEventListener("click", async (event) => {
  const button = event.target.closest?.("[data-copy]");
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    toast("Copied.");
  } catch {
    toast(`Copy it by hand: ${button.dataset.copy}`);
  }
});

async function renderRuns(params) {
  const token = generation;
  const schedule = params.get("schedule") ?? "";
  const status = params.get("status") ?? "";
  const sort = params.get("sort") === "scheduled" ? "scheduled" : "created";
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const pageSize = 50;
  view.innerHTML = `
    <h1>Runs</h1>
    <form id="run-filters" class="toolbar" role="search">
      <div><label for="r-schedule">Schedule</label><input id="r-schedule" value="${esc(schedule)}" placeholder="project.name"></div>
      <div><label for="r-status">Status</label><select id="r-status">${["", "pending", "running", "succeeded", "failed", "cancelled", "interrupted", "skipped"].map((s) => `<option value="${s}" ${s === status ? "selected" : ""}>${s || "any"}</option>`).join("")}</select></div>
      <div><label for="r-from">From</label><input id="r-from" type="datetime-local" value="${esc(params.get("from") ?? "")}"></div>
      <div><label for="r-to">To</label><input id="r-to" type="datetime-local" value="${esc(params.get("to") ?? "")}"></div>
      <div><label for="r-sort">Order</label><select id="r-sort"><option value="created" ${sort === "created" ? "selected" : ""}>newest first</option><option value="scheduled" ${sort === "scheduled" ? "selected" : ""}>by scheduled time</option></select></div>
      <button type="submit">Filter</button>
    </form>
    <div class="table-wrap"><table aria-label="Runs"><thead><tr><th>Run</th><th>Schedule</th><th>Status</th><th class="hide-small">Triggered by</th><th class="hide-small">Scheduled</th><th>Started</th><th>Duration</th><th class="hide-small">Node</th><th class="hide-small">Attempt</th></tr></thead><tbody id="run-rows"></tbody></table></div>
    <nav class="pager" aria-label="Pages of runs" id="run-pager"></nav>`;
  const hashFor = (overrides) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(overrides)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    return `#/runs?${next}`;
  };
  document.getElementById("run-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const values = { schedule: "r-schedule", status: "r-status", from: "r-from", to: "r-to" };
    for (const [name, id] of Object.entries(values)) if (document.getElementById(id).value) next.set(name, document.getElementById(id).value);
    if (document.getElementById("r-sort").value === "scheduled") next.set("sort", "scheduled");
    location.hash = `#/runs?${next}`;
  });
  const load = async () => {
    const query = new URLSearchParams({ page: String(page), pageSize: String(pageSize), sort });
    if (schedule) query.set("scheduleId", schedule);
    if (status) query.set("status", status);
    for (const name of ["from", "to"]) {
      const value = new Date(params.get(name) ?? "");
      if (!Number.isNaN(value.getTime())) query.set(name, value.toISOString());
    }
    const result = await api("GET", `/api/runs?${query}`);
    const body = document.getElementById("run-rows");
    if (!body || stale(token)) return;
    body.innerHTML = result.items.map((r) => `
      <tr data-run="${esc(r.id)}"><td>${fullId(r.id, `#/runs/${esc(r.id)}`)}</td><td>${esc(r.scheduleId)}</td><td>${badge(r.status)}</td>
      <td class="hide-small">${esc(r.triggeredBy)}</td><td class="hide-small">${when(r.scheduledFireTime)}</td><td>${when(r.startedAt)}</td><td>${duration(r)}</td><td class="hide-small">${esc(r.node)}</td><td class="hide-small">${esc(r.attempt)}</td></tr>`).join("")
      || `<tr><td colspan="9">No runs match.</td></tr>`;
    const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
    document.getElementById("run-pager").innerHTML = `
      ${page > 1 ? `<a href="${hashFor({ page: String(page - 1) })}" rel="prev">← Newer</a>` : ""}
      <span>Page ${page} of ${pages} · ${result.total} run${result.total === 1 ? "" : "s"}</span>
      ${page < pages ? `<a href="${hashFor({ page: String(page + 1) })}" rel="next">Older →</a>` : ""}`;
  };
  // Updates without reloading the page; started first, so leaving mid-load still stops it.
  refreshTimer = setInterval(() => load().catch(() => {}), 2000);
  await load();
}

const unfinished = (status) => status === "running" || status === "pending";

// An agent run's usage and steps: kinds, tools, statuses, tokens and durations (the API never gives their content).
const agentSteps = (usage, steps) => `
    <h2>Steps</h2>
    <p>${esc(usage.steps)} steps, ${esc(usage.totalTokens)} tokens (${esc(usage.inputTokens)} in, ${esc(usage.outputTokens)} out)</p>
    <table><thead><tr><th>#</th><th>Kind</th><th>Tool</th><th>Status</th><th>Attempt</th><th>Tokens</th><th>Duration</th><th>Error</th></tr></thead><tbody>
    ${steps.map((s) => `<tr><td>${esc(s.step)}</td><td>${esc(s.kind)}</td><td>${esc(s.tool ?? "")}</td><td>${badge(s.status)}</td><td>${esc(s.attempt)}</td>
      <td>${esc(s.totalTokens ?? "")}</td><td>${s.durationMs == null ? "" : esc(s.durationMs) + " ms"}</td><td>${esc(s.error ?? "")}</td></tr>`).join("")}
    </tbody></table>`;

async function renderRun(id) {
  const token = generation;
  let shown = null;
  // One chain of polls at a time: a poll still on its way when Cancel starts a new one must not schedule its own.
  let chain = 0;
  const paint = (run, steps) => {
    view.innerHTML = `
    <h1>Run ${badge(run.status)}</h1>
    <p>${fullId(run.id, `#/runs/${esc(run.id)}`)}</p>
    <div class="card grid">
      <div><label>Schedule</label>${esc(run.scheduleId)}</div><div><label>Action</label>${esc(run.actionType)}</div>
      <div><label>Triggered by</label>${esc(run.triggeredBy)}</div><div><label>Attempt</label>${esc(run.attempt)}</div>
      <div><label>Node</label>${esc(run.node)}</div><div><label>Scheduled</label>${when(run.scheduledFireTime)}</div>
      <div><label>Started</label>${when(run.startedAt)}</div><div><label>Finished</label>${when(run.finishedAt)}</div>
      <div><label>Duration</label>${duration(run)}</div>
      <div><label>Idempotency key</label><code>${esc(run.idempotencyKey)}</code></div>
    </div>
    ${unfinished(run.status) ? `<button type="button" class="danger" id="cancel-run">Cancel run</button>` : ""}
    ${run.pipelineRunId ? `<p><a href="#/pipeline-runs/${esc(run.pipelineRunId)}">Open the pipeline run</a></p>` : ""}
    <h2>Error</h2>${run.error ? `<pre>${esc(run.error)}</pre>` : "<p>None.</p>"}
    ${run.usage && steps ? agentSteps(run.usage, steps) : ""}
    <h2>Result</h2>${json(run.result)}
    <h2>Config snapshot</h2>${json(run.configSnapshot)}`;
    document.getElementById("cancel-run")?.addEventListener("click", async () => {
      try {
        await api("POST", `/api/runs/${encodeURIComponent(id)}/cancel`);
        toast("Cancel requested.");
        if (stale(token)) return;
        clearTimeout(refreshTimer);
        const mine = ++chain;
        refreshTimer = setTimeout(() => poll(mine), 500);
      } catch (error) {
        toast(error.message);
      }
    });
  };
  // Repaints only when the run changed, so a focused button or a selection survives the polls in between.
  const load = async (mine) => {
    const run = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
    const steps = run.usage ? await api("GET", `/api/runs/${encodeURIComponent(id)}/steps`) : null;
    if (stale(token)) return;
    const snapshot = JSON.stringify([run, steps]);
    if (snapshot !== shown) {
      shown = snapshot;
      paint(run, steps);
    }
    if (unfinished(run.status) && mine === chain) refreshTimer = setTimeout(() => poll(mine), 2000);
  };
  // Like the runs list, a failed poll (a restarting node, say) is retried rather than shown over the page.
  const poll = (mine) => {
    if (stale(token) || mine !== chain) return;
    load(mine).catch(() => { if (!stale(token) && mine === chain) refreshTimer = setTimeout(() => poll(mine), 2000); });
  };
  await load(chain);
}

// ---- Pipelines ---------------------------------------------------------------------------------------------------

async function renderPipelines() {
  const token = generation;
  const page = await api("GET", "/api/pipelines?pageSize=200");
  if (stale(token)) return;
  view.innerHTML = `
    <h1>Pipelines</h1>
    <div class="table-wrap"><table aria-label="Pipelines"><thead><tr><th>Pipeline</th><th>Project</th><th>Version</th><th class="hide-small">Updated</th></tr></thead>
    <tbody>${page.items.map((p) => `<tr><td><a href="#/pipelines/${encodeURIComponent(p.id)}">${esc(p.name)}</a></td><td>${esc(p.project)}</td><td>${esc(p.version)}</td><td class="hide-small">${when(p.updatedAt)}</td></tr>`).join("") || `<tr><td colspan="4">No pipelines yet.</td></tr>`}</tbody></table></div>`;
}

/** Enter or Space on a focused node does what a click does, as for any button. */
function wireNodes(show) {
  view.querySelectorAll(".dag .node").forEach((g) => {
    g.addEventListener("click", () => show(g.dataset.node));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        show(g.dataset.node);
      }
    });
  });
}

/** Lays the DAG out left to right: a node's column is its longest path from a root; rows fill each column in order. */
function drawDag(nodes, edges, statuses) {
  const column = new Map(nodes.map((n) => [n.id, 0]));
  for (const node of nodes) {
    // Nodes come in topological order, so one pass settles every column.
    for (const edge of edges.filter((e) => e.from === node.id)) column.set(edge.to, Math.max(column.get(edge.to), column.get(node.id) + 1));
  }
  const rowsUsed = new Map();
  const position = new Map();
  const W = 150, H = 44, GX = 70, GY = 22, PAD = 16;
  for (const node of nodes) {
    const c = column.get(node.id);
    const r = rowsUsed.get(c) ?? 0;
    rowsUsed.set(c, r + 1);
    position.set(node.id, { x: PAD + c * (W + GX), y: PAD + r * (H + GY) });
  }
  // An edge that skips columns would be drawn straight through the nodes in between: it gets a free row (a slot no
  // node uses) in each column it crosses, and is routed through those slots, placed after every node.
  const waypoints = new Map();
  for (const [index, e] of edges.entries()) {
    const points = [];
    for (let c = column.get(e.from) + 1; c < column.get(e.to); c++) {
      const r = rowsUsed.get(c) ?? 0;
      rowsUsed.set(c, r + 1);
      points.push({ x: PAD + c * (W + GX), y: PAD + r * (H + GY) });
    }
    waypoints.set(index, points);
  }
  const width = PAD * 2 + (Math.max(...column.values()) + 1) * (W + GX) - GX;
  const height = PAD * 2 + Math.max(...rowsUsed.values()) * (H + GY) - GY;
  const curve = (x1, y1, x2, y2) => {
    const mid = (x1 + x2) / 2;
    return `C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
  };
  const lines = edges.map((e, index) => {
    const a = position.get(e.from), b = position.get(e.to);
    let x = a.x + W, y = a.y + H / 2;
    let d = `M${x},${y}`;
    // Into each slot with a curve, across it with a straight line, then on to the target.
    for (const p of waypoints.get(index)) {
      d += ` ${curve(x, y, p.x, p.y + H / 2)} L${p.x + W},${p.y + H / 2}`;
      x = p.x + W;
      y = p.y + H / 2;
    }
    const x2 = b.x, y2 = b.y + H / 2;
    d += ` ${curve(x, y, x2, y2)}`;
    const label = e.when === true ? "true" : e.when === false ? "false" : "";
    return `<path class="edge" d="${d}" marker-end="url(#arrow)"><title>${esc(e.from)} → ${esc(e.to)}</title></path>` +
      (label ? `<text class="edge-label" x="${(x + x2) / 2}" y="${(y + y2) / 2 - 4}" text-anchor="middle">${label}</text>` : "");
  }).join("");
  const boxes = nodes.map((n) => {
    const p = position.get(n.id);
    const status = statuses?.get(n.id);
    const kind = n.type === "action" ? n.actionType : n.type;
    return `<g class="node" tabindex="0" role="button" data-node="${esc(n.id)}" ${status ? `data-status="${esc(status)}"` : ""} aria-label="Node ${esc(n.id)}${status ? `, ${esc(status)}` : ""}">
      <rect x="${p.x}" y="${p.y}" width="${W}" height="${H}"></rect>
      <text x="${p.x + 10}" y="${p.y + 18}">${esc(n.id.length > 20 ? `${n.id.slice(0, 19)}…` : n.id)}</text>
      <text x="${p.x + 10}" y="${p.y + 34}" fill="#5b6475">${esc(kind)}${status ? ` · ${esc(status)}` : ""}</text></g>`;
  }).join("");
  return `<div class="dag"><svg role="group" aria-label="Pipeline graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#9aa3b5"></path></marker></defs>
    ${lines}${boxes}</svg></div>`;
}

async function renderPipeline(id) {
  const token = generation;
  const [pipeline, runs] = await Promise.all([
    api("GET", `/api/pipelines/${encodeURIComponent(id)}`),
    api("GET", `/api/pipelines/${encodeURIComponent(id)}/runs?pageSize=20`),
  ]);
  if (stale(token)) return;
  view.innerHTML = `
    <h1>${esc(pipeline.name)} <span class="hint">v${esc(pipeline.version)} · ${esc(pipeline.project)} · parallelism ${esc(pipeline.maxParallelism)} · on failure: ${esc(pipeline.failurePolicy)}</span></h1>
    <form id="run-pipeline-form" class="card" novalidate>
      <label for="pipeline-inputs">Inputs (a JSON object; nodes read them as <code>{{inputs.…}}</code>)</label>
      <textarea id="pipeline-inputs" rows="3" spellcheck="false" aria-describedby="pipeline-inputs-error">${esc(JSON.stringify(runs.items[0]?.inputs ?? {}, null, 2))}</textarea>
      <div id="pipeline-inputs-error" class="error" role="alert"></div>
      <button type="submit" class="primary" id="run-pipeline">Run now</button>
    </form>
    ${drawDag(pipeline.nodes, pipeline.edges)}
    <div id="node-detail" class="card" aria-live="polite"><p class="hint">Select a node to see its definition.</p></div>
    <h2>Runs</h2>
    <div class="table-wrap"><table aria-label="Pipeline runs"><thead><tr><th>Run</th><th>Status</th><th>Version</th><th>Triggered by</th><th>Started</th><th class="hide-small">Finished</th></tr></thead>
    <tbody>${runs.items.map((r) => `<tr><td>${fullId(r.id, `#/pipeline-runs/${esc(r.id)}`)}</td><td>${badge(r.status)}</td><td>${esc(r.version)}</td><td>${esc(r.triggeredBy)}</td><td>${when(r.startedAt)}</td><td class="hide-small">${when(r.finishedAt)}</td></tr>`).join("") || `<tr><td colspan="6">No runs yet.</td></tr>`}</tbody></table></div>`;
  wireNodes((nodeId) => {
    const node = pipeline.nodes.find((n) => n.id === nodeId);
    document.getElementById("node-detail").innerHTML = node ? `<h2>${esc(node.id)}</h2>${json(node)}` : "";
  });
  document.getElementById("run-pipeline-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = document.getElementById("pipeline-inputs");
    const error = document.getElementById("pipeline-inputs-error");
    error.textContent = "";
    field.removeAttribute("aria-invalid");
    let inputs;
    try {
      inputs = JSON.parse(field.value.trim() || "{}");
      if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) throw new Error("not an object");
    } catch {
      error.textContent = "Inputs must be a JSON object, e.g. {\"date\": \"2026-12-01\"}.";
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    try {
      const run = await api("POST", `/api/pipelines/${encodeURIComponent(id)}/run`, { inputs });
      location.hash = `#/pipeline-runs/${run.id}`;
    } catch (failure) {
      // The server's reason (a 422 naming the input) belongs beside the field it is about.
      error.textContent = failure.problem?.errors ? Object.entries(failure.problem.errors).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join(" ") : failure.message;
      field.setAttribute("aria-invalid", "true");
    }
  });
}

async function renderPipelineRun(id) {
  const token = generation;
  let detail = await api("GET", `/api/pipeline-runs/${encodeURIComponent(id)}`);
  if (stale(token)) return;
  const run = detail.run;
  const statuses = new Map(detail.nodes.map((n) => [n.nodeId, n.status]));
  view.innerHTML = `
    <h1>Pipeline run ${badge(run.status)}</h1>
    <p>${fullId(run.id, `#/pipeline-runs/${esc(run.id)}`)}</p>
    <p class="hint"><a href="#/pipelines/${encodeURIComponent(run.pipelineId)}">${esc(run.pipelineId)}</a> v${esc(run.version)} · attempt ${esc(run.attempt)} · node ${esc(run.node)} · ${when(run.startedAt)} → ${when(run.finishedAt)}${run.error ? ` · ${esc(run.error)}` : ""}</p>
    ${run.status === "running" || run.status === "pending" ? `<div class="toolbar"><button type="button" class="danger" id="cancel-pipeline-run">Cancel run</button></div>` : ""}
    ${drawDag(detail.definition, detail.edges, statuses)}
    <div id="node-detail" class="card" aria-live="polite"><p class="hint">Select a node to see its run.</p></div>`;
  const show = (nodeId) => {
    const node = detail.nodes.find((n) => n.nodeId === nodeId);
    document.getElementById("node-detail").innerHTML = node ? `
      <h2>${esc(node.nodeId)} ${badge(node.status)}</h2>
      <div class="grid"><div><label>Attempts</label>${esc(node.attempts)}</div><div><label>Node</label>${esc(node.node)}</div>
      <div><label>Started</label>${when(node.startedAt)}</div><div><label>Finished</label>${when(node.finishedAt)}</div>
      <div><label>Idempotency key</label><code>${esc(node.idempotencyKey)}</code></div></div>
      ${node.error ? `<h2>Error</h2><pre>${esc(node.error)}</pre>` : ""}<h2>Output</h2>${json(node.output)}` : "";
  };
  wireNodes(show);
  document.getElementById("cancel-pipeline-run")?.addEventListener("click", async () => {
    try {
      await api("POST", `/api/pipeline-runs/${encodeURIComponent(id)}/cancel`);
      toast("Cancel requested.");
    } catch (error) {
      toast(error.message);
    }
  });
  // While it runs, statuses are updated in place: the selected node, focus and scroll stay where they are.
  const refresh = async () => {
    if (stale(token)) return;
    detail = await api("GET", `/api/pipeline-runs/${encodeURIComponent(id)}`);
    if (stale(token)) return;
    for (const node of detail.nodes) {
      const g = view.querySelector(`.node[data-node="${CSS.escape(node.nodeId)}"]`);
      if (!g) continue;
      g.dataset.status = node.status;
      g.setAttribute("aria-label", `Node ${node.nodeId}, ${node.status}`);
      const kind = g.querySelectorAll("text")[1];
      kind.textContent = `${kind.textContent.split(" · ")[0]} · ${node.status}`;
    }
    view.querySelector("h1 .status").outerHTML = badge(detail.run.status);
    if (detail.run.status === "running" || detail.run.status === "pending") refreshTimer = setTimeout(refresh, 1500);
    else document.getElementById("cancel-pipeline-run")?.remove();
  };
  if (run.status === "running" || run.status === "pending") refreshTimer = setTimeout(refresh, 1500);
}

// ---- Cluster -----------------------------------------------------------------------------------------------------

async function renderCluster() {
  const token = generation;
  // Two requests whatever the number of schedules: the misfires of all of them come in one.
  const [nodes, misfires] = await Promise.all([api("GET", "/api/cluster/nodes"), api("GET", "/api/cluster/misfires?pageSize=100")]);
  if (stale(token)) return;
  view.innerHTML = `
    <h1>Cluster</h1>
    <div class="table-wrap"><table aria-label="Cluster nodes"><thead><tr><th>Instance</th><th>State</th><th>Last check-in</th><th class="hide-small">Check-in interval</th><th>This node</th></tr></thead>
    <tbody>${nodes.map((n) => `<tr><td>${esc(n.instanceId)}</td><td>${badge(n.state)}</td><td>${when(n.lastCheckIn)}</td><td class="hide-small">${n.checkInIntervalSeconds == null ? "—" : `${esc(n.checkInIntervalSeconds)} s`}</td><td>${n.isThisNode ? "yes" : ""}</td></tr>`).join("")}</tbody></table></div>
    <h2>Misfires</h2>
    <div class="table-wrap"><table aria-label="Misfires"><thead><tr><th>Schedule</th><th>Missed fire time</th><th>Detected</th><th class="hide-small">Node</th><th>Handling</th></tr></thead>
    <tbody>${misfires.map((m) => `<tr><td>${esc(m.schedule)}</td><td>${when(m.scheduledFireTime)}</td><td>${when(m.detectedAt)}</td><td class="hide-small">${esc(m.node)}</td><td>${esc(m.reason)}</td></tr>`).join("") || `<tr><td colspan="5">No misfires recorded.</td></tr>`}</tbody></table></div>`;
}

// ---- Routing -----------------------------------------------------------------------------------------------------

// Pages that live in their own file (keys.js, audit.js, …) register here: registerPage("keys", (parts, query) => …).
// Each such file is a classic script loaded after this one, so it can use esc/api/when/badge and the rest.
const pages = new Map();
function registerPage(name, render) {
  pages.set(name, render);
}

async function route() {
  const mine = ++generation;
  clearInterval(refreshTimer);
  clearTimeout(refreshTimer);
  if (!sessionStorage.getItem(KEY)) {
    renderSignIn(signInMessage);
    return;
  }
  document.getElementById("nav").hidden = false;
  const [path, query] = (location.hash.slice(1) || "/schedules").split("?");
  const parts = path.split("/").filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  document.querySelectorAll("[data-nav]").forEach((a) => {
    if (a.dataset.nav === (parts[0] === "pipeline-runs" ? "pipelines" : parts[0])) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  try {
    switch (parts[0]) {
      case "runs": await (parts[1] ? renderRun(parts[1]) : renderRuns(new URLSearchParams(query))); break;
      case "pipelines": await (parts[1] ? renderPipeline(parts[1]) : renderPipelines()); break;
      case "pipeline-runs": await renderPipelineRun(parts[1]); break;
      case "cluster": await renderCluster(); break;
      case "schedules": await (parts[1] === "new" ? renderScheduleForm(null) : parts[1] === "edit" ? renderScheduleForm(parts[2]) : renderSchedules()); break;
      case "signin": location.hash = "#/schedules"; break;
      default: await (pages.has(parts[0]) ? pages.get(parts[0])(parts, new URLSearchParams(query)) : renderSchedules());
    }
  } catch (error) {
    if (error.status !== 401 && !stale(mine)) view.innerHTML = `<div class="card error" role="alert">${esc(error.message)}</div>`;
  }
}

document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
// After a navigation, focus goes to the new page's heading (as a screen reader user expects from a page load) —
// unless the page put it somewhere itself, like the sign-in form on its key field.
window.addEventListener("hashchange", async () => {
  const mine = generation + 1;
  await route();
  if (stale(mine) || (document.activeElement && document.activeElement !== document.body && view.contains(document.activeElement))) return;
  const heading = view.querySelector("h1");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: false });
});
// Wait for the page scripts that follow this one, so a deep link to one of their pages finds it registered.
window.addEventListener("DOMContentLoaded", route);
