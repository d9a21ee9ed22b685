// Schedules: the list. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

const SCHEDULE_STATES = ["active", "paused", "running", "complete", "error"];
const SCHEDULES_PAGE_SIZE = 50;

// The list never loads every schedule: the server filters (q, project, action type, state) and cuts one page of 50,
// so it costs the same at 100 schedules as at 100,000. The filters and the page live in the hash, so a view can be
// bookmarked and Back works.
async function renderSchedules(params = new URLSearchParams()) {
  const token = generation;
  const filters = { q: params.get("q") ?? "", project: params.get("project") ?? "", actionType: params.get("actionType") ?? "", state: params.get("state") ?? "" };
  const number = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const query = new URLSearchParams({ page: String(number), pageSize: String(SCHEDULES_PAGE_SIZE) });
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  // The page first; the filter choices (projects, action types) load beside it and never hold up the rows.
  const [page, projects, actions] = await Promise.all([
    api("GET", `/api/schedules?${query}`),
    api("GET", "/api/projects?pageSize=200").catch(() => ({ items: [] })),
    api("GET", "/api/actions").catch(() => []),
  ]);
  if (stale(token)) return;
  const option = (value, label, selected) => `<option value="${esc(value)}" ${value === selected ? "selected" : ""}>${esc(label)}</option>`;
  const rows = page.items.map((s) => `
    <tr data-schedule="${esc(s.id)}">
      <td class="select"><input type="checkbox" data-select aria-label="Select ${esc(s.name)}"></td>
      <td><a href="#/runs?schedule=${encodeURIComponent(s.id)}">${esc(s.name)}</a>${s.managed ? ` <span class="status managed" title="Managed by apply: edit its definition document (the API refuses edits and deletes without ?force=true)">managed</span>` : ""}</td>
      <td class="hide-small">${esc(s.project)}</td>
      <td class="hide-small">${esc(s.action?.type)}</td>
      <td class="hide-small">${esc(s.triggerDescription)}</td>
      <td class="hide-small">${s.state === "paused" ? "—" : whenIn(s.nextFireTime, s.trigger?.timeZone)}</td>
      <td class="hide-small">${badge(s.lastRun?.status)}</td>
      <td data-col="state">${badge(s.state)}${pauseNote(s)}${deadlineBadge(s)}</td>
      <td class="actions">
        <button type="button" data-act="run" aria-label="Run ${esc(s.name)} now">Run now</button>
        ${s.state === "paused"
          ? `<button type="button" data-act="resume" aria-label="Resume ${esc(s.name)}">Resume</button>`
          : s.state === "complete" ? "" : `<button type="button" data-act="pause" aria-label="Pause ${esc(s.name)}">Pause</button>`}
        <a class="button" href="#/schedules/edit/${encodeURIComponent(s.id)}" aria-label="Edit ${esc(s.name)}">Edit</a>
        <button type="button" class="danger" data-act="delete" aria-label="Delete ${esc(s.name)}">Delete</button>
      </td>
    </tr>`).join("");
  const filtered = Object.values(filters).some(Boolean);
  const hashFor = (overrides) => {
    const next = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...filters, page: String(number), ...overrides })) if (value && !(name === "page" && value === "1")) next.set(name, value);
    const text = next.toString();
    return `#/schedules${text ? `?${text}` : ""}`;
  };
  // Past 10,000 matches the server stops counting (total null, totalAtLeast set): the pager then says "more than".
  const pages = page.total == null ? null : Math.max(1, Math.ceil(page.total / page.pageSize));
  const counted = page.total == null ? `more than ${(page.totalAtLeast - 1).toLocaleString()} schedules` : `${page.total} schedule${page.total === 1 ? "" : "s"}`;
  // Pause or resume every schedule the filters match, on every page: only when the filters are ones the bulk API can
  // select by (project, action type). The search and the state are not bulk selectors, so with either set the buttons
  // are not offered (the page says why) rather than acting on more than the list shows.
  const bySelector = Boolean(filters.project || filters.actionType);
  const notSelectors = [filters.q && "search", filters.state && "state"].filter(Boolean);
  const matchingWords = [filters.project && `project ${filters.project}`, filters.actionType && `action type ${filters.actionType}`].filter(Boolean).join(" with ");
  const matching = !bySelector
    ? `<span class="hint">Choose a project or an action type to pause or resume every schedule it holds.</span>`
    : notSelectors.length
      ? `<span class="hint" id="s-matching-why">Pause or resume all matching works on the project and action-type filters only; the ${notSelectors.join(" and ")} filter cannot be used for it. Clear ${notSelectors.length > 1 ? "them" : "it"}, or select rows.</span>`
      : `<button type="button" id="s-pause-matching">Pause all matching</button>
        <button type="button" id="s-resume-matching">Resume all matching</button>
        <span class="hint">Every schedule of ${esc(matchingWords)} (${esc(counted)}), on every page.</span>`;
  view.innerHTML = `
    <h1>Schedules</h1>
    <div class="toolbar"><a class="button primary" href="#/schedules/new">New schedule</a></div>
    <form id="schedule-filters" class="toolbar" role="search" aria-label="Filter schedules">
      <div><label for="s-q">Search</label><input id="s-q" type="search" value="${esc(filters.q)}" placeholder="name or project.name"></div>
      <div><label for="s-project">Project</label><select id="s-project">${option("", "any", filters.project)}${(projects.items ?? []).map((p) => option(p.id, p.id, filters.project)).join("")}</select></div>
      <div><label for="s-type">Action type</label><select id="s-type">${option("", "any", filters.actionType)}${actions.map((a) => option(a.name, a.name, filters.actionType)).join("")}</select></div>
      <div><label for="s-state">State</label><select id="s-state">${option("", "any", filters.state)}${SCHEDULE_STATES.map((st) => option(st, st, filters.state)).join("")}</select></div>
      ${filtered ? `<a class="button" href="#/schedules">Clear</a>` : ""}
    </form>
    <div class="toolbar bulk" role="group" aria-label="Selected schedules">
      <span id="s-selected" aria-live="polite">0 selected</span>
      <button type="button" id="s-bulk-pause" disabled>Pause selected</button>
      <button type="button" id="s-bulk-resume" disabled>Resume selected</button>
    </div>
    <div class="toolbar bulk" role="group" aria-label="Every schedule matching the filters" id="s-matching">${matching}</div>
    <dialog id="s-matching-dialog" aria-labelledby="s-matching-title">
      <form id="s-matching-form">
        <h2 id="s-matching-title"></h2>
        <p id="s-matching-count"></p>
        <div class="field"><label for="s-matching-reason">Reason (optional; shown to everyone and kept in the audit log)</label>
          <input id="s-matching-reason" type="text" maxlength="500" autocomplete="off"></div>
        <div class="error" id="s-matching-error" role="alert"></div>
        <div class="toolbar"><button type="submit" class="primary" id="s-matching-confirm"></button><button type="button" id="s-matching-cancel">Cancel</button></div>
      </form>
    </dialog>
    <div class="table-wrap"><table aria-label="Schedules">
      <thead><tr><th class="select"><input type="checkbox" id="s-select-page" aria-label="Select every schedule on this page"></th><th>Name</th><th class="hide-small">Project</th><th class="hide-small">Action</th><th class="hide-small">When</th><th class="hide-small">Next fire</th><th class="hide-small">Last run</th><th>State</th><th>Actions</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="9">${filtered ? "No schedules match." : "No schedules yet."}</td></tr>`}</tbody>
    </table></div>
    <nav class="pager" aria-label="Pages of schedules" id="s-pager">
      ${number > 1 ? `<a href="${hashFor({ page: String(number - 1) })}" rel="prev">← Previous</a>` : ""}
      <span>Page ${number}${pages ? ` of ${pages}` : ""} · ${counted}</span>
      ${page.hasMore ? `<a href="${hashFor({ page: String(number + 1) })}" rel="next">Next →</a>` : ""}
    </nav>`;

  // Applied as they change (the search as you type); a new filter starts at page 1.
  liveFilters(document.getElementById("schedule-filters"), () => hashFor({
    q: document.getElementById("s-q").value.trim(), project: document.getElementById("s-project").value,
    actionType: document.getElementById("s-type").value, state: document.getElementById("s-state").value, page: "",
  }));

  // Bulk select: a checkbox per row and one for the page; pause (with a reason) and resume act on the ids selected.
  const boxes = [...view.querySelectorAll("input[data-select]")];
  const selectPage = document.getElementById("s-select-page");
  const selected = () => boxes.filter((b) => b.checked).map((b) => b.closest("tr").dataset.schedule);
  const refreshSelection = () => {
    const count = selected().length;
    document.getElementById("s-selected").textContent = `${count} selected`;
    document.getElementById("s-bulk-pause").disabled = count === 0;
    document.getElementById("s-bulk-resume").disabled = count === 0;
    selectPage.checked = count > 0 && count === boxes.length;
    selectPage.indeterminate = count > 0 && count < boxes.length;
  };
  boxes.forEach((box) => box.addEventListener("change", refreshSelection));
  selectPage.addEventListener("change", () => {
    boxes.forEach((box) => { box.checked = selectPage.checked; });
    refreshSelection();
  });
  const bulk = async (act) => {
    const ids = selected();
    let body = { ids };
    if (act === "pause") {
      // Cancel pauses nothing; an empty answer pauses without a reason.
      const reason = prompt(`Why pause ${ids.length} schedule${ids.length === 1 ? "" : "s"}? (optional; shown to everyone and kept in the audit log)`);
      if (reason === null) return;
      if (reason.trim()) body = { ids, reason: reason.trim() };
    }
    try {
      const result = await api("POST", `/api/schedules/${act}`, body);
      toast(`${act === "pause" ? "Paused" : "Resumed"} ${result.affected.length} of ${ids.length} selected.`);
      if (!stale(token)) await renderSchedules(params);
    } catch (error) {
      toast(error.message);
    }
  };
  const dialog = document.getElementById("s-matching-dialog");
  let matchingAct = "pause";
  const askMatching = (act) => {
    matchingAct = act;
    const verb = act === "pause" ? "Pause" : "Resume";
    document.getElementById("s-matching-title").textContent = `${verb} every schedule of ${matchingWords}?`;
    document.getElementById("s-matching-count").textContent = `${counted[0].toUpperCase()}${counted.slice(1)} ${page.total === 1 ? "matches" : "match"}, on every page of this list. `
      + (act === "pause" ? "Those already paused or complete are left as they are." : "Only the paused ones are resumed.");
    document.getElementById("s-matching-confirm").textContent = `${verb} ${page.total == null ? "all" : page.total} matching`;
    document.getElementById("s-matching-error").textContent = "";
    document.getElementById("s-matching-reason").value = "";
    dialog.showModal();
    document.getElementById("s-matching-reason").focus();
  };
  document.getElementById("s-pause-matching")?.addEventListener("click", () => askMatching("pause"));
  document.getElementById("s-resume-matching")?.addEventListener("click", () => askMatching("resume"));
  document.getElementById("s-matching-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("s-matching-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = document.getElementById("s-matching-reason").value.trim();
    const body = { project: filters.project || undefined, actionType: filters.actionType || undefined, reason: reason || undefined };
    const confirmButton = document.getElementById("s-matching-confirm");
    confirmButton.disabled = true;
    try {
      const result = await api("POST", `/api/schedules/${matchingAct}`, body);
      dialog.close();
      const n = result.affected.length;
      toast(`${matchingAct === "pause" ? "Paused" : "Resumed"} ${n} schedule${n === 1 ? "" : "s"} of ${matchingWords}.`);
      if (!stale(token)) await renderSchedules(params);
    } catch (error) {
      confirmButton.disabled = false;
      if (error.status === 401) return;
      const errors = error.problem?.errors;
      document.getElementById("s-matching-error").textContent = errors ? Object.values(errors).flat().join(" ") : error.message;
    }
  });
  document.getElementById("s-bulk-pause").addEventListener("click", () => bulk("pause"));
  document.getElementById("s-bulk-resume").addEventListener("click", () => bulk("resume"));

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
      if (!stale(token)) await renderSchedules(params);
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

registerPage("schedules", (parts, query) => (parts[1] === "new" ? renderScheduleForm(null) : parts[1] === "edit" ? renderScheduleForm(parts[2]) : renderSchedules(query)));
