// Occurrences: every due time of a schedule and what became of it, as a strip of coloured cells with a legend
// (GET /api/schedules/{id}/occurrences). The strip sits on a schedule's edit view; #/occurrences/{id} shows the
// strip and the table of one range. A classic script loaded after app.js, using its esc/api/when helpers; its
// colours are in occurrences.css (the dashboard's CSP allows no inline styles), one class per kind below.

const OCCURRENCE_KINDS = [
  ["on-time", "On time"],
  ["late", "Late"],
  ["retried", "Retried"],
  ["failed", "Failed"],
  ["coalesced", "Coalesced"],
  ["paused", "Paused"],
  ["skipped", "Skipped"],
  ["missed", "Missed"],
  ["pending", "Pending"],
];

// A due time skipped because the schedule was paused then (current or ended pause) is its own kind, hatched in the
// strip and named in the legend, so it is not read as a policy skip.
// A due time that ran (or was retried) but whose run did not succeed is "failed", whatever its timing: green or
// "on time" would read as a success.
const FAILED_RUN_STATUSES = ["failed", "cancelled", "interrupted"];
const ranAndFailed = (o) => (o.outcome === "ran" || o.outcome === "retried") && FAILED_RUN_STATUSES.includes(o.runStatus);

function occurrenceKind(o) {
  if (ranAndFailed(o)) return "failed";
  if (o.outcome === "ran") return o.late ? "late" : "on-time";
  if (o.outcome === "skipped" && (o.reason || "").startsWith("paused")) return "paused";
  return o.outcome;
}

function occurrenceStripHtml(list, id) {
  const items = list.items;
  const counts = Object.fromEntries(OCCURRENCE_KINDS.map(([kind]) => [kind, 0]));
  items.forEach((o) => { counts[occurrenceKind(o)] += 1; });
  // The server's own failed count when it gives one (the same range), else the one counted here.
  if (Number.isInteger(list.counts?.failed)) counts.failed = list.counts.failed;
  const cells = items.map((o) => {
    const kind = occurrenceKind(o);
    const title = `${when(o.dueAt)}: ${kind === "failed" ? `${o.outcome}, run ${o.runStatus}` : o.outcome}${o.reason ? ` — ${o.reason}` : ""}`;
    return `<span class="occ-${kind}" title="${esc(title)}" data-kind="${kind}"></span>`;
  }).join("");
  return `
    <div class="occ-strip" role="img" aria-label="${esc(`${items.length} due times from ${when(list.from)} to ${when(list.to)}${counts.failed ? `, ${counts.failed} failed` : ""}`)}">${cells || ""}</div>
    <div class="occ-legend">${OCCURRENCE_KINDS.map(([kind, label]) => `<span data-count="${kind}"><i class="occ-${kind}"></i>${label} ${counts[kind]}</span>`).join("")}
      ${id ? `<a href="#/occurrences/${encodeURIComponent(id)}">Details</a>` : ""}</div>
    ${items.length ? "" : `<div class="hint">No due times in this range.</div>`}`;
}

/** Puts the last 24 hours' strip of schedule {id} into {container}; a failure is said there, not thrown. */
async function renderOccurrenceStrip(container, id) {
  try {
    const list = await api("GET", `/api/schedules/${encodeURIComponent(id)}/occurrences`);
    container.innerHTML = `<h2>Last 24 hours</h2>${occurrenceStripHtml(list, id)}`;
  } catch (error) {
    container.innerHTML = `<div class="error">Occurrences: ${esc(error.message)}</div>`;
  }
}

// The outcome in words: a failed run says "failed" (in the failed colour), with what the occurrence was and the run's status.
function outcomeLabel(o) {
  const kind = occurrenceKind(o);
  if (kind === "failed") return `<span class="status failed occ-outcome-failed">failed</span> <span class="muted">${esc(o.outcome)}, run ${esc(o.runStatus)}</span>`;
  return `<span class="status">${esc(kind === "paused" ? "skipped (paused)" : o.outcome)}</span>`;
}

registerPage("occurrences", async (parts, query) => {
  const id = parts[1];
  const from = query.get("from");
  const to = query.get("to");
  const search = new URLSearchParams();
  if (from) search.set("from", from);
  if (to) search.set("to", to);
  const list = await api("GET", `/api/schedules/${encodeURIComponent(id)}/occurrences${search.size ? `?${search}` : ""}`);
  view.innerHTML = `
    <h1>Occurrences of ${esc(id)}</h1>
    <div class="card">${occurrenceStripHtml(list, null)}</div>
    <div class="card table-wrap"><table aria-label="Occurrences">
      <thead><tr><th>Due</th><th>Outcome</th><th>Reason</th><th>Run</th></tr></thead>
      <tbody>${[...list.items].reverse().map((o) => `<tr data-kind="${occurrenceKind(o)}"><td>${when(o.dueAt)}</td><td>${outcomeLabel(o)}</td><td>${esc(o.reason)}</td>
        <td>${o.runId ? `<a href="#/runs/${esc(o.runId)}"><code>${esc(o.runId)}</code></a>` : "—"}</td></tr>`).join("") || `<tr><td colspan="4">No due times in this range.</td></tr>`}</tbody>
    </table></div>
    <a class="button" href="#/schedules/edit/${encodeURIComponent(id)}">Back to the schedule</a>`;
});
