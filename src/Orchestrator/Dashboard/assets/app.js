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
// Bumped on every navigation: a render that finishes after the user moved on must not draw over the new page. The
// address counts too: a filter changes location.hash at once but its hashchange (and so the next route) comes a task
// later, and a render finishing in between must not draw the old address's page (its links would carry the old
// filters: a "Next" clicked there dropped the filter just chosen).
let generation = 0;
let routedHash = "";
const stale = (token) => token !== generation || location.hash !== routedHash;

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
// A result or output with nothing in it (null, {}, []): said in words by the pages, never printed as "{}".
const isEmptyResult = (value) => value == null || (typeof value === "object" && Object.keys(value).length === 0);

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
    // The server says why (not valid, expired, revoked): the operator learns whether a new key is needed.
    signOut(data?.detail ? `${data.detail} Sign in again.` : "Your key was refused; sign in again.");
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
      let detail = "";
      try {
        detail = (await response.json())?.detail ?? "";
      } catch {
        // Not a problem document (a proxy's page): the status says enough.
      }
      document.getElementById("signin-error").textContent = response.status === 401
        ? `That key was refused${detail ? `: ${detail}` : "."}`
        : `Sign-in failed (HTTP ${response.status}).`;
      return;
    }
    sessionStorage.setItem(KEY, key);
    signInMessage = "";
    // Back to the page asked for (a deep link), else home. Changing the hash routes by itself; an unchanged one does not.
    if (location.hash && location.hash !== "#/signin") route();
    else location.hash = "#/";
  });
  document.getElementById("api-key").focus();
}

// ---- Shared by the pages ---------------------------------------------------------------------------------------

// Why a paused schedule is paused, by whom and since when (as Quartz recorded it); nothing for a running one.
const pauseNote = (s) => (s.state === "paused" && (s.pausedReason || s.pausedBy)
  ? `<div class="pause-note">${s.pausedReason ? `“${esc(s.pausedReason)}”` : "No reason given"} — ${esc(s.pausedBy ?? "unknown")}, ${when(s.pausedAt)}</div>`
  : "");

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

// Filters apply as they change, with no Filter button: a select or a date at once, typed text after a 300 ms pause.
// The filters live in the hash (hashOf() gives the address they make), so Back, Forward and a reload keep them.
// Typing is one step of history however often it pauses: the entry a text box made is replaced while it is typed in.
// Applying re-draws the page: as soon as the new form is wired, the control being used has the focus again, the caret
// where it was and what was typed while the page loaded (the old input, detached, still holds it), applied in turn.
let filterFocus = null;
// The history entry the last typed apply made ({ id of the box, hash }): typing again in that box while the address is
// still that entry replaces it. Any other navigation (a select, a link, Back) leaves the address elsewhere, so the
// next typing starts a new entry — whatever re-draws or refreshes happened in between.
let filterTyping = null;
function liveFilters(form, hashOf) {
  const typed = (input) => Boolean(input?.matches?.("input:not([type]), input[type=search], input[type=text]"));
  const carried = filterFocus?.hash === location.hash ? filterFocus.element : null;
  if (carried) filterFocus = null;
  const again = carried ? form.querySelector(`#${CSS.escape(carried.id)}`) : null;
  if (again && again !== carried) {
    again.focus();
    if (again.value !== carried.value && again.type === carried.type) {
      again.value = carried.value;
      if (typed(again)) setTimeout(() => again.dispatchEvent(new Event("input", { bubbles: true })));
    }
    if (typeof again.setSelectionRange === "function" && carried.selectionStart != null) {
      try {
        again.setSelectionRange(carried.selectionStart, carried.selectionEnd);
      } catch {
        // Some input types (date, number) have no caret to put back.
      }
    }
  }
  let timer = null;
  const apply = (source) => {
    clearTimeout(timer);
    const next = hashOf();
    if (next === location.hash) return;
    // Only the draw of this address may take the focus back (two quick changes: the later one's).
    filterFocus = source?.id ? { element: source, hash: next } : null;
    const typing = typed(source);
    const replace = typing && filterTyping?.id === source.id && filterTyping.hash === location.hash;
    if (replace) location.replace(next);
    else location.hash = next;
    filterTyping = typing ? { id: source.id, hash: location.hash } : null;
  };
  // A box that must name one thing exactly (a schedule id: the API answers 404 for one that is not there) applies on
  // Enter or on leaving it, not at every pause in the typing, which would ask for each prefix of the id.
  form.addEventListener("input", (event) => {
    if (!typed(event.target) || event.target.dataset.apply === "change") return;
    clearTimeout(timer);
    timer = setTimeout(() => apply(event.target), 300);
  });
  form.addEventListener("change", (event) => apply(event.target));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(document.activeElement);
  });
}

// Every table a page draws is labelled for the phone layout: each body cell gets its column's header as data-label,
// which app.css shows before the value when a row becomes a card (≤ 600 px), so state, ids and buttons stay on screen
// instead of in columns scrolled off to the right. Pages just draw tables; this observer labels whatever they draw,
// including rows a page re-draws later (the runs list refreshes its body every 2 s). Explicit roles keep the table's
// semantics for assistive technology once CSS changes its display. A table marked data-cards="off" is left alone.
function labelTables(root) {
  for (const table of root.querySelectorAll("table")) {
    if (table.dataset.cards === "off") continue;
    const headers = [];
    for (const th of table.querySelectorAll(":scope > thead > tr > th")) {
      const span = Number(th.getAttribute("colspan")) || 1;
      for (let i = 0; i < span; i++) headers.push(th.textContent.trim());
      th.setAttribute("role", "columnheader");
    }
    table.classList.add("cards");
    table.setAttribute("role", "table");
    for (const group of table.querySelectorAll(":scope > thead, :scope > tbody")) group.setAttribute("role", "rowgroup");
    for (const row of table.querySelectorAll(":scope > thead > tr, :scope > tbody > tr")) row.setAttribute("role", "row");
    for (const row of table.querySelectorAll(":scope > tbody > tr")) {
      let column = 0;
      for (const cell of row.children) {
        const span = Number(cell.getAttribute("colspan")) || 1;
        cell.setAttribute("role", "cell");
        // A cell spanning columns ("No runs match.") or under an empty header (a checkbox, the buttons) has no label.
        const label = span === 1 ? headers[column] ?? "" : "";
        if (label) cell.dataset.label = label;
        else delete cell.dataset.label;
        column += span;
      }
    }
  }
}
// Attribute changes are not observed, so labelling does not wake the observer again.
new MutationObserver(() => labelTables(view)).observe(view, { childList: true, subtree: true });

// ---- Routing -----------------------------------------------------------------------------------------------------

// Every page lives in its own file (schedules.js, runs.js, keys.js, …) and registers here: registerPage("keys", (parts, query) => …).
// Each such file is a classic script loaded after this one, so it can use esc/api/when/badge and the rest.
const pages = new Map();
function registerPage(name, render) {
  pages.set(name, render);
}

async function route() {
  const mine = ++generation;
  routedHash = location.hash;
  clearInterval(refreshTimer);
  clearTimeout(refreshTimer);
  if (!sessionStorage.getItem(KEY)) {
    renderSignIn(signInMessage);
    return;
  }
  document.getElementById("nav").hidden = false;
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const parts = path.split("/").filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  document.querySelectorAll("[data-nav]").forEach((a) => {
    if (a.dataset.nav === (parts[0] === "pipeline-runs" ? "pipelines" : parts[0] ?? "home")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  // A navigation not made by a filter (a link, Back) drops the focus a filter meant to carry (see liveFilters).
  if (!filterFocus || filterFocus.hash !== location.hash) filterFocus = null;
  try {
    if (parts[0] === "signin") location.hash = "#/";
    else await (pages.get(parts[0]) ?? pages.get("home"))(parts, new URLSearchParams(query));
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
