// Cluster: nodes and misfires. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

async function renderCluster() {
  const token = generation;
  // Two requests whatever the number of schedules: the misfires of all of them come in one.
  const [nodes, page] = await Promise.all([api("GET", "/api/cluster/nodes"), api("GET", "/api/cluster/misfires?pageSize=100")]);
  if (stale(token)) return;
  view.innerHTML = `
    <h1>Cluster</h1>
    <div class="table-wrap"><table aria-label="Cluster nodes"><thead><tr><th>Instance</th><th>State</th><th>Last check-in</th><th class="hide-small">Check-in interval</th><th>This node</th></tr></thead>
    <tbody>${nodes.map((n) => `<tr><td>${esc(n.instanceId)}</td><td>${badge(n.state)}</td><td>${when(n.lastCheckIn)}</td><td class="hide-small">${n.checkInIntervalSeconds == null ? "—" : `${esc(n.checkInIntervalSeconds)} s`}</td><td>${n.isThisNode ? "yes" : ""}</td></tr>`).join("")}</tbody></table></div>
    <h2>Misfires</h2>
    <div class="table-wrap"><table aria-label="Misfires"><thead><tr><th>Schedule</th><th>Missed fire time</th><th>Detected</th><th class="hide-small">Node</th><th>Handling</th></tr></thead>
    <tbody>${page.items.map((m) => `<tr><td>${esc(m.schedule)}</td><td>${when(m.scheduledFireTime)}</td><td>${when(m.detectedAt)}</td><td class="hide-small">${esc(m.node)}</td><td>${esc(m.reason)}</td></tr>`).join("") || `<tr><td colspan="5">No misfires recorded.</td></tr>`}</tbody></table></div>
    ${page.hasMore ? `<p class="muted" id="misfires-more">The newest ${esc(page.pageSize)} misfires are shown; older ones exist.</p>` : ""}`;
}

registerPage("cluster", () => renderCluster());
