// Schedules: the list. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

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
      <td data-col="state">${badge(s.state)}${pauseNote(s)}${deadlineBadge(s)}</td>
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

registerPage("schedules", (parts) => (parts[1] === "new" ? renderScheduleForm(null) : parts[1] === "edit" ? renderScheduleForm(parts[2]) : renderSchedules()));
