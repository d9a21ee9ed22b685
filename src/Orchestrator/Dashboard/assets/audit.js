// Audit page: who changed what, from where, with the before and after the server recorded (secrets already redacted).
// Newest first; "Older" follows the log's cursor, and the cursors walked so far are kept in the address so "Newer"
// and a reload come back to the same page.
"use strict";

registerPage("audit", async (parts, query) => {
  const token = generation;
  const filters = ["actor", "resource", "action", "project", "from", "to"];
  const trail = (query.get("trail") ?? "").split(",").filter(Boolean);
  const cursor = trail.at(-1);
  view.innerHTML = `
    <h1>Audit log</h1>
    <form id="audit-filters" class="toolbar" role="search">
      <div><label for="a-actor">Actor</label><input id="a-actor" value="${esc(query.get("actor"))}" placeholder="key name or id"></div>
      <div><label for="a-resource">Resource</label><input id="a-resource" value="${esc(query.get("resource"))}" placeholder="schedule or schedule:proj.name"></div>
      <div><label for="a-action">Action</label><input id="a-action" value="${esc(query.get("action"))}" placeholder="schedule.pause or schedule.*"></div>
      <div><label for="a-project">Project</label><select id="a-project"><option value="">any</option>${query.get("project") ? `<option value="${esc(query.get("project"))}" selected>${esc(query.get("project"))}</option>` : ""}</select></div>
      <div><label for="a-from">From</label><input id="a-from" type="datetime-local" value="${esc(query.get("from"))}"></div>
      <div><label for="a-to">To</label><input id="a-to" type="datetime-local" value="${esc(query.get("to"))}"></div>
    </form>
    <div class="table-wrap"><table aria-label="Audit entries"><thead><tr><th>When</th><th>Actor</th><th class="hide-small">Source</th><th>Action</th><th>Resource</th><th class="hide-small">Project</th><th>Reason</th><th>Change</th></tr></thead>
    <tbody id="audit-rows"><tr><td colspan="8">Loading…</td></tr></tbody></table></div>
    <div class="toolbar" id="audit-pager"></div>`;

  const address = (extra) => {
    const next = new URLSearchParams();
    for (const name of filters) if (query.get(name)) next.set(name, query.get(name));
    for (const [name, value] of Object.entries(extra)) if (value) next.set(name, value);
    return `#/audit?${next}`;
  };
  // Applied as they change (typed text after a pause); a new filter starts at the newest entries.
  liveFilters(document.getElementById("audit-filters"), () => {
    const next = new URLSearchParams();
    for (const name of filters) {
      const value = document.getElementById(`a-${name}`).value.trim();
      if (value) next.set(name, value);
    }
    return `#/audit${next.size ? `?${next}` : ""}`;
  });
  // The projects are the server's; the one in the address stays chosen even if the list does not have it.
  api("GET", "/api/projects?pageSize=200").then((projects) => {
    const select = document.getElementById("a-project");
    if (!select || stale(token)) return;
    const chosen = query.get("project") ?? "";
    const ids = projects.items.map((p) => p.id);
    select.innerHTML = ["", ...ids, ...(chosen && !ids.includes(chosen) ? [chosen] : [])]
      .map((id) => `<option value="${esc(id)}"${id === chosen ? " selected" : ""}>${esc(id || "any")}</option>`).join("");
  }).catch(() => {});

  const request = new URLSearchParams({ pageSize: "50" });
  for (const name of ["actor", "resource", "action", "project"]) if (query.get(name)) request.set(name, query.get(name));
  for (const name of ["from", "to"]) {
    const value = new Date(query.get(name) ?? "");
    if (!Number.isNaN(value.getTime())) request.set(name, value.toISOString());
  }
  if (cursor) request.set("cursor", cursor);
  const page = await api("GET", `/api/audit?${request}`);
  if (stale(token)) return;

  const change = (e) => (e.before === null && e.after === null ? "—" : `<details><summary>before / after</summary>
      <div class="audit-change"><div><strong>Before</strong>${json(e.before)}</div><div><strong>After</strong>${json(e.after)}</div></div></details>`);
  document.getElementById("audit-rows").innerHTML = page.items.map((e) => `
    <tr data-audit="${esc(e.id)}">
      <td>${when(e.at)}</td>
      <td title="${esc(e.actor.keyId ?? "")}">${esc(e.actor.name)}${e.clientAddress ? `<div class="hide-small muted">${esc(e.clientAddress)}</div>` : ""}</td>
      <td class="hide-small">${esc(e.source)}</td>
      <td>${esc(e.action)}</td>
      <td>${esc(e.resourceType)}: ${esc(e.resourceId)}</td>
      <td class="hide-small">${esc(e.project ?? "")}</td>
      <td>${esc(e.reason ?? "")}</td>
      <td>${change(e)}</td>
    </tr>`).join("") || `<tr><td colspan="8">No audit entries match.</td></tr>`;

  const pager = document.getElementById("audit-pager");
  const links = [];
  if (trail.length > 0) {
    links.push(`<a class="button" href="${address({})}">Newest</a>`);
    links.push(`<a class="button" href="${address({ trail: trail.slice(0, -1).join(",") })}" id="audit-newer">Newer</a>`);
  }
  if (page.nextCursor) links.push(`<a class="button" href="${address({ trail: [...trail, page.nextCursor].join(",") })}" id="audit-older">Older</a>`);
  pager.innerHTML = links.join("");
});
