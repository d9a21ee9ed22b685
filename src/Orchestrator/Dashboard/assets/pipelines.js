// Pipelines: the list, one pipeline with its DAG, and one pipeline run. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

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
      ${node.error ? `<h2>Error</h2><pre>${esc(node.error)}</pre>` : ""}<h2>Output</h2>${isEmptyResult(node.output) ? "<p>None.</p>" : json(node.output)}` : "";
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

registerPage("pipelines", (parts) => (parts[1] ? renderPipeline(parts[1]) : renderPipelines()));
registerPage("pipeline-runs", (parts) => renderPipelineRun(parts[1]));
