// Runs: the list and one run. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

async function renderRuns(params) {
  const token = generation;
  const schedule = params.get("schedule") ?? "";
  const status = params.get("status") ?? "";
  const project = params.get("project") ?? "";
  const actionType = params.get("actionType") ?? "";
  const triggeredBy = params.get("triggeredBy") ?? "";
  // "true": the late starts the home page counts (GET /api/stats and the runs list share one definition); "false": the rest.
  const late = ["true", "false"].includes(params.get("late")) ? params.get("late") : "";
  const option = (value, chosen, label = value) => `<option value="${esc(value)}" ${value === chosen ? "selected" : ""}>${esc(label || "any")}</option>`;
  const sort = params.get("sort") === "scheduled" ? "scheduled" : "created";
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const pageSize = 50;
  view.innerHTML = `
    <h1>Runs</h1>
    <form id="run-filters" class="toolbar" role="search">
      <div><label for="r-schedule">Schedule</label><input id="r-schedule" type="search" data-apply="change" value="${esc(schedule)}" placeholder="project.name, then Enter"></div>
      <div><label for="r-project">Project</label><select id="r-project">${option("", project)}${project ? option(project, project) : ""}</select></div>
      <div><label for="r-status">Status</label><select id="r-status">${["", "pending", "running", "succeeded", "failed", "cancelled", "interrupted", "skipped"].map((s) => option(s, status)).join("")}</select></div>
      <div><label for="r-action">Action type</label><select id="r-action">${option("", actionType)}${actionType ? option(actionType, actionType) : ""}</select></div>
      <div><label for="r-trigger">Triggered by</label><select id="r-trigger">${["", "schedule", "manual", "retry", "recovery", "backfill", "pipeline"].map((t) => option(t, triggeredBy)).join("")}</select></div>
      <div><label for="r-late">Start</label><select id="r-late">${option("", late, "any")}${option("true", late, "late (> 1 s after due)")}${option("false", late, "not late")}</select></div>
      <div><label for="r-from">From</label><input id="r-from" type="datetime-local" value="${esc(params.get("from") ?? "")}"></div>
      <div><label for="r-to">To</label><input id="r-to" type="datetime-local" value="${esc(params.get("to") ?? "")}"></div>
      <div><label for="r-sort">Order</label><select id="r-sort"><option value="created" ${sort === "created" ? "selected" : ""}>newest first</option><option value="scheduled" ${sort === "scheduled" ? "selected" : ""}>by scheduled time</option></select></div>
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
  // Applied as they change (typed text after a pause); a new filter starts at page 1.
  liveFilters(document.getElementById("run-filters"), () => {
    const next = new URLSearchParams();
    const values = { schedule: "r-schedule", project: "r-project", status: "r-status", actionType: "r-action", triggeredBy: "r-trigger", late: "r-late", from: "r-from", to: "r-to" };
    for (const [name, id] of Object.entries(values)) if (document.getElementById(id).value.trim()) next.set(name, document.getElementById(id).value.trim());
    if (document.getElementById("r-sort").value === "scheduled") next.set("sort", "scheduled");
    return `#/runs${next.size ? `?${next}` : ""}`;
  });
  const load = async () => {
    const query = new URLSearchParams({ page: String(page), pageSize: String(pageSize), sort });
    if (schedule) query.set("scheduleId", schedule);
    if (status) query.set("status", status);
    if (project) query.set("project", project);
    if (actionType) query.set("actionType", actionType);
    if (triggeredBy) query.set("triggeredBy", triggeredBy);
    if (late) query.set("late", late);
    for (const name of ["from", "to"]) {
      const value = new Date(params.get(name) ?? "");
      if (!Number.isNaN(value.getTime())) query.set(name, value.toISOString());
    }
    let result;
    try {
      result = await api("GET", `/api/runs?${query}`);
    } catch (error) {
      // A schedule or project that is not there: the server's words in the table, the filters kept to correct it, and
      // no refresh asking again every two seconds.
      if (error.status !== 404) throw error;
      clearInterval(refreshTimer);
      const body = document.getElementById("run-rows");
      if (body && !stale(token)) body.innerHTML = `<tr><td colspan="9" class="error" role="alert">${esc(error.message)}</td></tr>`;
      document.getElementById("run-pager")?.replaceChildren();
      return;
    }
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
  // The action types are the server's (GET /api/actions), asked for once the key has proved good on the runs; the one
  // in the address stays chosen meanwhile.
  api("GET", "/api/actions").then((actions) => {
    const select = document.getElementById("r-action");
    if (!select || stale(token)) return;
    select.innerHTML = option("", actionType) + actions.map((a) => option(a.name, actionType)).join("");
  }).catch(() => {});
  // The projects too: chosen from the server's list, the one in the address kept even if the list does not have it.
  api("GET", "/api/projects?pageSize=200").then((projects) => {
    const select = document.getElementById("r-project");
    if (!select || stale(token)) return;
    const ids = projects.items.map((p) => p.id);
    select.innerHTML = option("", project) + [...ids, ...(project && !ids.includes(project) ? [project] : [])].map((id) => option(id, project)).join("");
  }).catch(() => {});
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

// A run of a schedule that has finished can be run again; a pipeline's node runs with its pipeline.
const requeueable = (run) => !unfinished(run.status) && !run.pipelineRunId && run.triggeredBy !== "pipeline";

/**
 * A retried or recovered run's attempts, 1 to the latest (a run of one attempt is its own record above): what Quartz's history recorded of it (node, start, duration, result,
 * error), "running" for the one in progress, and for one with no record the likely reason.
 */
function attemptHistory(run, attempts) {
  if (run.attempt < 2) return "";
  const rows = [];
  for (let n = 1; n <= run.attempt; n++) {
    const recorded = attempts.filter((a) => a.attempt === n);
    if (recorded.length) {
      for (const a of recorded) {
        rows.push(`<tr data-attempt="${n}"><td>${n}</td><td>${badge(a.result)}${a.retryScheduled ? ` <span class="muted">retry scheduled</span>` : ""}</td><td>${when(a.firedAt)}</td>
          <td>${esc(a.durationMs)} ms</td><td class="hide-small">${esc(a.node)}</td><td>${a.error ? `<div class="error">${esc(a.error)}</div>` : ""}</td></tr>`);
      }
    } else if (n === run.attempt && unfinished(run.status)) {
      rows.push(`<tr data-attempt="${n}"><td>${n}</td><td>${badge(run.status)}</td><td>${when(run.startedAt)}</td><td>${duration(run)}</td><td class="hide-small">${esc(run.node)}</td><td></td></tr>`);
    } else {
      const why = n === run.attempt ? `${esc(run.error ?? "")}` : "No record: its node stopped during it, or the history has been trimmed.";
      rows.push(`<tr data-attempt="${n}"><td>${n}</td><td>${n === run.attempt ? badge(run.status) : "—"}</td><td>${n === run.attempt ? when(run.startedAt) : "—"}</td><td>${n === run.attempt ? duration(run) : "—"}</td>
        <td class="hide-small">${n === run.attempt ? esc(run.node) : ""}</td><td>${why ? `<span class="muted">${why}</span>` : ""}</td></tr>`);
    }
  }
  return `
    <h2>Attempts</h2>
    <div class="table-wrap"><table aria-label="Attempts"><thead><tr><th>#</th><th>Result</th><th>Started</th><th>Duration</th><th class="hide-small">Node</th><th>Error</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
}

// A call's answer as the run recorded it ({status, durationMs, headers, body, bodyTruncated}: call_api, a webhook):
// the status, the headers kept and the start of the body, never a whole body however long the server kept it.
const BODY_SHOWN = 2000;
const isResponse = (result) => result && typeof result === "object" && Number.isInteger(result.status) && ("body" in result || "headers" in result);
function responseView(result) {
  const body = typeof result.body === "string" ? result.body : result.body == null ? "" : JSON.stringify(result.body, null, 2);
  const cut = body.length > BODY_SHOWN;
  const headers = result.headers && typeof result.headers === "object" ? Object.entries(result.headers) : [];
  return `<div class="card response" data-response>
      <div><strong>HTTP ${esc(result.status)}</strong>${result.durationMs == null ? "" : ` <span class="muted">in ${esc(result.durationMs)} ms</span>`}</div>
      ${headers.length ? `<dl class="headers">${headers.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>` : ""}
      ${body ? `<pre>${esc(cut ? body.slice(0, BODY_SHOWN) : body)}${cut ? "\n…" : ""}</pre>` : `<p class="muted">Empty body.</p>`}
      ${cut || result.bodyTruncated ? `<p class="muted">Only the start of the body is shown${result.bodyTruncated ? "; the server kept only its start too" : ""}.</p>` : ""}
    </div>`;
}

// What a run produced: nothing said as "None." rather than "{}" or "null"; a call's answer as a response.
const resultView = (result) => (isEmptyResult(result) ? "<p>None.</p>" : isResponse(result) ? responseView(result) : json(result));

// How long the run took: from its first attempt's start to its end. With several attempts, the last one's too, labelled.
function runDuration(run, attempts) {
  if (run.attempt < 2) return esc(duration(run));
  const first = attempts.filter((a) => a.attempt === 1).map((a) => a.firedAt).sort()[0];
  const last = `<span class="muted">last attempt (${esc(run.attempt)}):</span> ${esc(duration(run))}`;
  if (!first) return `${last} <span class="muted">(the first attempt's start is not recorded)</span>`;
  return `<span data-duration="whole">${esc(duration({ startedAt: first, finishedAt: run.finishedAt }))}</span> <span class="muted">over ${esc(run.attempt)} attempts</span><div>${last}</div>`;
}

async function renderRun(id) {
  const token = generation;
  let shown = null;
  let historyTries = 0;
  // One chain of polls at a time: a poll still on its way when Cancel starts a new one must not schedule its own.
  let chain = 0;
  const paint = (run, steps, attempts) => {
    view.innerHTML = `
    <h1>Run ${badge(run.status)}</h1>
    <p>${fullId(run.id, `#/runs/${esc(run.id)}`)}</p>
    <div class="card grid">
      <div><label>Schedule</label>${esc(run.scheduleId)}</div><div><label>Action</label>${esc(run.actionType)}</div>
      <div><label>Triggered by</label>${esc(run.triggeredBy)}</div><div><label>Attempt</label>${esc(run.attempt)}</div>
      <div><label>Node</label>${esc(run.node)}</div><div><label>Scheduled</label>${when(run.scheduledFireTime)}</div>
      <div><label>Started</label>${when(run.startedAt)}</div><div><label>Finished</label>${when(run.finishedAt)}</div>
      <div><label>Duration</label>${runDuration(run, attempts)}</div>
      <div><label>Idempotency key</label><code>${esc(run.idempotencyKey)}</code></div>
    </div>
    ${unfinished(run.status) ? `<button type="button" class="danger" id="cancel-run">Cancel run</button>` : ""}
    ${requeueable(run) ? `<button type="button" id="requeue-run" aria-describedby="requeue-hint">Requeue</button> <span class="hint" id="requeue-hint">Runs the schedule again now with this run's config snapshot.</span>` : ""}
    ${run.pipelineRunId ? `<p><a href="#/pipeline-runs/${esc(run.pipelineRunId)}">Open the pipeline run</a></p>` : ""}
    <h2>Error</h2>${run.error ? `<pre>${esc(run.error)}</pre>` : "<p>None.</p>"}
    ${run.status === "failed" && isResponse(run.result) ? `<h2>Response${run.attempt > 1 ? " to the last attempt" : ""}</h2>${responseView(run.result)}` : ""}
    ${attemptHistory(run, attempts)}
    ${run.usage && steps ? agentSteps(run.usage, steps) : ""}
    ${run.status === "failed" && (isResponse(run.result) || isEmptyResult(run.result)) ? "" : `<h2>Result</h2>${unfinished(run.status) ? "<p>Not yet.</p>" : resultView(run.result)}`}
    <h2>Config snapshot</h2>${isEmptyResult(run.configSnapshot) ? "<p>None: this run's action took no settings.</p>" : json(run.configSnapshot)}`;
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
    document.getElementById("requeue-run")?.addEventListener("click", async (event) => {
      event.target.disabled = true;
      try {
        const requeued = await api("POST", `/api/runs/${encodeURIComponent(id)}/requeue`);
        toast("Requeued.");
        if (!stale(token)) location.hash = `#/runs/${encodeURIComponent(requeued.id)}`;
      } catch (error) {
        toast(error.message);
        event.target.disabled = false;
      }
    });
  };
  // Repaints only when the run changed, so a focused button or a selection survives the polls in between.
  const load = async (mine) => {
    const run = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
    const [steps, attempts] = await Promise.all([
      run.usage ? api("GET", `/api/runs/${encodeURIComponent(id)}/steps`) : null,
      run.attempt > 1 ? api("GET", `/api/runs/${encodeURIComponent(id)}/attempts`) : [],
    ]);
    if (stale(token)) return;
    const snapshot = JSON.stringify([run, steps, attempts]);
    if (snapshot !== shown) {
      shown = snapshot;
      paint(run, steps, attempts);
    }
    // Quartz writes its history a moment after a run ends: a finished run whose last attempt is not listed yet is
    // read again a few times.
    const recorded = run.attempt < 2 || attempts.some((a) => a.attempt === run.attempt);
    if (mine === chain && (unfinished(run.status) || (!recorded && historyTries++ < 3))) refreshTimer = setTimeout(() => poll(mine), 2000);
  };
  // Like the runs list, a failed poll (a restarting node, say) is retried rather than shown over the page.
  const poll = (mine) => {
    if (stale(token) || mine !== chain) return;
    load(mine).catch(() => { if (!stale(token) && mine === chain) refreshTimer = setTimeout(() => poll(mine), 2000); });
  };
  await load(chain);
}

registerPage("runs", (parts, query) => (parts[1] ? renderRun(parts[1]) : renderRuns(query)));
