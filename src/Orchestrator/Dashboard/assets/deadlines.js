// Deadlines: the breaches the checker found (start, succeed, silence), open or recovered, and the small badge the
// schedules list and a schedule's edit page show for a schedule with open breaches. A classic script loaded after
// app.js (it uses app.js's helpers: esc, api, when, badge, view, registerPage).
"use strict";

// The badge for a schedule (or pipeline) response: nothing unless it has open breaches.
function deadlineBadge(item) {
  const open = item?.deadlineStatus?.open ?? [];
  if (open.length === 0) return "";
  const kinds = [...new Set(open.map((b) => b.kind))].join(", ");
  return ` <a class="status failed deadline-badge" href="#/deadlines?scheduleId=${encodeURIComponent(item.id)}&state=open"
    title="${esc(`${open.length} missed deadline(s) not recovered yet: ${kinds}`)}">${esc(open.length)} late</a>`;
}

registerPage("deadlines", async (parts, query) => {
  const token = generation;
  const state = query.get("state") ?? "open";
  const scheduleId = query.get("scheduleId") ?? "";
  const pageNumber = Math.max(1, Number(query.get("page") ?? "1") || 1);
  view.innerHTML = `
    <h1>Deadlines</h1>
    <form id="deadline-filters" class="toolbar" role="search">
      <div><label for="d-state">State</label><select id="d-state">
        ${["open", "recovered", "all"].map((s) => `<option value="${s}"${s === state ? " selected" : ""}>${s}</option>`).join("")}
      </select></div>
      <div><label for="d-schedule">Schedule</label><input id="d-schedule" type="search" data-apply="change" value="${esc(scheduleId)}" placeholder="project.name, then Enter"></div>
    </form>
    <div class="table-wrap"><table aria-label="Deadline breaches"><thead><tr><th>Found</th><th>Schedule or pipeline</th><th>Kind</th>
      <th class="hide-small">Occurrence</th><th class="hide-small">Due</th><th>State</th><th class="hide-small">Alerted</th><th class="hide-small">Message</th></tr></thead>
    <tbody id="deadline-rows"><tr><td colspan="8">Loading…</td></tr></tbody></table></div>
    <div class="toolbar" id="deadline-pager"></div>`;

  const address = (next) => {
    const params = new URLSearchParams();
    params.set("state", next.state ?? state);
    if (next.scheduleId ?? scheduleId) params.set("scheduleId", next.scheduleId ?? scheduleId);
    if ((next.page ?? 1) > 1) params.set("page", String(next.page));
    return `#/deadlines?${params}`;
  };
  // Applied as they change (the schedule on Enter or on leaving the box); a new filter starts at page 1.
  liveFilters(document.getElementById("deadline-filters"), () =>
    address({ state: document.getElementById("d-state").value, scheduleId: document.getElementById("d-schedule").value.trim(), page: 1 }));

  const request = new URLSearchParams({ pageSize: "50", page: String(pageNumber) });
  if (state !== "all") request.set("state", state);
  if (scheduleId) request.set("scheduleId", scheduleId);
  let page;
  try {
    page = await api("GET", `/api/deadlines?${request}`);
  } catch (error) {
    // A schedule that is not there: the server's words in the table, the filters kept to correct it.
    if (error.status !== 404) throw error;
    if (!stale(token)) document.getElementById("deadline-rows").innerHTML = `<tr><td colspan="8" class="error" role="alert">${esc(error.message)}</td></tr>`;
    return;
  }
  if (stale(token)) return;

  const target = (b) => (b.scheduleId
    ? `<a href="#/schedules/edit/${encodeURIComponent(b.scheduleId)}">${esc(b.scheduleId)}</a>`
    : `<a href="#/pipelines/${encodeURIComponent(b.pipelineId)}">${esc(b.pipelineId)}</a> <span class="muted">(pipeline)</span>`);
  // The last failed send is said in words where the alert's state is (a tooltip hid it from touch screens and from the
  // 390-px layout, where the Alerted column is not shown); small screens get it under the message instead.
  const sendError = (b) => (b.lastSendError ? `<div class="error send-error">Alert not sent: ${esc(b.lastSendError)}</div>` : "");
  const alerted = (b) => (b.notifiedAt ? when(b.notifiedAt) : `<span class="muted">not yet</span>`) + sendError(b);
  document.getElementById("deadline-rows").innerHTML = page.items.map((b) => `
    <tr data-breach="${esc(b.id)}">
      <td>${when(b.detectedAt)}<div class="hide-small muted">${esc(b.node)}</div></td>
      <td>${target(b)}<div class="show-small muted">${esc(b.message)}</div><div class="show-small">${sendError(b)}</div></td>
      <td>${esc(b.kind)}</td>
      <td class="hide-small">${when(b.occurrence)}</td>
      <td class="hide-small">${when(b.dueAt)}</td>
      <td><span class="status ${b.state === "open" ? "failed" : "succeeded"}">${esc(b.state)}</span>${b.recoveredAt ? `<div class="muted">${when(b.recoveredAt)}</div>` : ""}</td>
      <td class="hide-small">${alerted(b)}</td>
      <td class="hide-small">${esc(b.message)}${b.recoveryMessage ? `<div class="muted">${esc(b.recoveryMessage)}</div>` : ""}</td>
    </tr>`).join("") || `<tr><td colspan="8">No ${state === "all" ? "" : esc(state) + " "}deadline breaches.</td></tr>`;

  const links = [];
  if (pageNumber > 1) links.push(`<a class="button" href="${address({ page: pageNumber - 1 })}">Newer</a>`);
  if (pageNumber * page.pageSize < page.total) links.push(`<a class="button" href="${address({ page: pageNumber + 1 })}" id="deadline-older">Older</a>`);
  document.getElementById("deadline-pager").innerHTML = links.join("");
});
