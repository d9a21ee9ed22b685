// Home: what the cluster is doing now and how the last day went — counters, then runs per hour by outcome and late
// starts per hour — from one request (GET /api/stats). A classic script loaded after app.js (esc, api, when, view, …).
"use strict";

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
// The zone whose clock hours the server bucketed by: the browser's, or UTC when the server does not know that zone.
let statsZone = null;
// Where the page remembers a zone the server refused, so it asks for UTC at once instead of sending it again.
const refusedZoneKey = "orchestrator.home.refusedZone";
// An hour's start or end as the axis shows it: "14:00" in the zone the buckets follow.
const hourLabel = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", timeZone: statsZone ?? "UTC" });
// "14:00–15:00", and for the current hour "14:00–now (so far)".
const hourSpan = (b) => `${hourLabel(b.start)}–${b.partial ? "now (so far)" : hourLabel(b.end)}`;

// "850 ms", "12 s", "3.5 min", "2.1 h": the latest start's lateness in a bucket.
function lateness(ms) {
  if (ms == null) return "—";
  if (ms < 1000) return `${Math.max(0, ms)} ms`;
  if (ms < 60000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

const counter = (id, label, value, href, detail = "") => `
  <a class="counter" id="${id}" href="${href}">
    <span class="counter-value">${esc(value)}</span>
    <span class="counter-label">${esc(label)}</span>
    ${detail ? `<span class="counter-detail">${esc(detail)}</span>` : ""}
  </a>`;

/**
 * Bars per hour, stacked from the series given (bottom first), drawn to scale in an SVG that stretches to its box.
 * The SVG is an image with a name and a summary for assistive technology; the same numbers are in the table below it.
 */
function barChart(id, title, buckets, series, width) {
  const height = 180;
  const left = 34;
  const bottom = 22;
  const top = 8;
  const totals = buckets.map((b) => series.reduce((sum, s) => sum + (b[s.key] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const slot = (width - left) / Math.max(1, buckets.length);
  const bar = Math.max(2, slot * 0.7);
  const y = (value) => top + (height - top - bottom) * (1 - value / max);
  const bars = buckets.map((b, i) => {
    let base = 0;
    const x = left + i * slot + (slot - bar) / 2;
    const parts = series.map((s) => {
      const value = b[s.key] ?? 0;
      if (!value) return "";
      const rect = `<rect class="${s.css}" x="${x.toFixed(1)}" y="${y(base + value).toFixed(1)}" width="${bar.toFixed(1)}" height="${(y(base) - y(base + value)).toFixed(1)}"></rect>`;
      base += value;
      return rect;
    }).join("");
    const tip = `${hourSpan(b)}: ${series.map((s) => `${b[s.key] ?? 0} ${s.label}`).join(", ")}`;
    // The current hour is not over: its slot is shaded and marked, so a short bar there is not read as a quiet hour.
    const mark = b.partial ? `<rect class="partial" data-partial="true" x="${(left + i * slot).toFixed(1)}" y="${top}" width="${slot.toFixed(1)}" height="${(height - top - bottom).toFixed(1)}"></rect>` : "";
    return `<g${b.partial ? ` class="partial-hour"` : ""}><title>${esc(tip)}</title>${mark}${parts}</g>`;
  }).join("");
  // Each label stands at the start of its hour, on the clock ("14:00"), at least every 80 px; the current hour is "now".
  const every = Math.max(1, Math.ceil((80 * buckets.length) / (width - left)));
  const ticks = buckets.map((b, i) => {
    const last = i === buckets.length - 1;
    if (!last && (buckets.length - 1 - i) % every !== 0) return "";
    return `<text class="axis" x="${(last ? width : left + i * slot).toFixed(1)}" y="${height - 6}" text-anchor="${last ? "end" : "middle"}">${esc(last && b.partial ? `${hourLabel(b.start)}–now` : hourLabel(b.start))}</text>`;
  }).join("");
  const sum = (key) => buckets.reduce((total, b) => total + (b[key] ?? 0), 0);
  const summary = `${title}, ${hourLabel(buckets[0].start)} to now (${statsZone}; the last hour so far): ${series.map((s) => `${sum(s.key)} ${s.label}`).join(", ")}; the busiest hour had ${Math.max(0, ...totals)}.`;
  return `
    <svg id="${id}" class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-title ${id}-desc">
      <title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(summary)}</desc>
      <line class="grid-line" x1="${left}" x2="${width}" y1="${y(max)}" y2="${y(max)}"></line>
      <line class="grid-line" x1="${left}" x2="${width}" y1="${y(0)}" y2="${y(0)}"></line>
      <text class="axis" x="${left - 4}" y="${y(max) + 4}" text-anchor="end">${max}</text>
      <text class="axis" x="${left - 4}" y="${y(0) + 4}" text-anchor="end">0</text>
      ${bars}${ticks}
    </svg>
    <ul class="legend">${series.map((s) => `<li><span class="swatch ${s.css}"></span>${esc(s.label)}</li>`).join("")}</ul>`;
}

function paintHome(stats) {
  const s = stats;
  const last = (counts) => `${counts.succeeded} ok · ${counts.failed} failed${counts.other ? ` · ${counts.other} other` : ""}`;
  // Open deadline breaches (not recovered yet); an older server that does not report them leaves the slot at "—".
  const breaches = s.deadlineBreaches ?? null;
  document.getElementById("home-counters").innerHTML = [
    counter("c-scheduled", "scheduled", s.schedules.active, "#/schedules", `${s.schedules.paused} paused`),
    counter("c-running", "running now", s.running, "#/runs?status=running"),
    counter("c-succeeded", "succeeded, last hour", s.lastHour.succeeded, "#/runs?status=succeeded", `${s.lastDay.succeeded} in 24 h`),
    counter("c-failed", "failed, last hour", s.lastHour.failed, "#/runs?status=failed", `${s.lastDay.failed} in 24 h`),
    counter("c-late", "late starts, last hour", s.lateLastHour, "#/runs?late=true", `started > ${s.lateSeconds} s after due`),
    counter("c-breaches", "deadline breaches open", breaches ?? "—", "#/deadlines", breaches == null ? "not reported" : "alerted once each"),
  ].join("");
  const outcomes = [
    { key: "succeeded", label: "succeeded", css: "ok" },
    { key: "failed", label: "failed", css: "bad" },
    { key: "other", label: "cancelled, interrupted or skipped", css: "other" },
  ];
  const lates = [
    { key: "onTime", label: "on time", css: "ok" },
    { key: "late", label: "late", css: "warn" },
  ];
  const buckets = s.buckets.map((b) => ({ ...b, onTime: b.started - b.late }));
  // Drawn at the width it is shown at (less the card's padding), so its text is not scaled down on a phone.
  const width = Math.max(280, Math.min(1200, (document.getElementById("home-charts").clientWidth || 720) - 34));
  document.getElementById("home-charts").innerHTML = `
    <p class="muted" id="home-zone">Clock hours in ${esc(statsZone)}; the last one is the current hour, so far.</p>
    <section class="card" aria-labelledby="h-outcomes"><h2 id="h-outcomes">Runs finished per hour</h2>${barChart("chart-outcomes", "Runs finished per hour by outcome", buckets, outcomes, width)}</section>
    <section class="card" aria-labelledby="h-late"><h2 id="h-late">Starts per hour, on time and late</h2>${barChart("chart-late", "Scheduled starts per hour, on time and late", buckets, lates, width)}</section>
    <details class="card"><summary>The same as a table</summary>
      <div class="table-wrap"><table aria-label="Runs per hour"><thead><tr><th>Hour</th><th>Succeeded</th><th>Failed</th><th>Other</th><th>Started on schedule</th><th>Late</th><th>Latest start</th></tr></thead>
      <tbody>${s.buckets.slice().reverse().map((b) => `<tr${b.partial ? ` data-partial="true"` : ""}><td>${esc(hourSpan(b))}</td><td>${b.succeeded}</td><td>${b.failed}</td><td>${b.other}</td><td>${b.started}</td><td>${b.late}</td><td>${esc(lateness(b.maxLateMs))}</td></tr>`).join("")}</tbody></table></div>
    </details>`;
  document.getElementById("home-updated").textContent = `Updated ${when(s.generatedAt)}`;
}

function refusedZone() {
  try {
    return localStorage.getItem(refusedZoneKey);
  } catch {
    return null; // storage disabled: the zone is tried again
  }
}

/**
 * The stats in the browser's clock hours; a zone the server does not know (a browser's own name for it) is refused
 * (422), and the page then shows UTC's hours, labelled as UTC, and remembers the refusal so later loads and refreshes
 * ask for UTC at once rather than repeating a request that fails.
 */
async function loadStats() {
  const wanted = browserZone();
  const zone = statsZone ?? (refusedZone() === wanted ? "UTC" : wanted);
  try {
    return { stats: await api("GET", `/api/stats?hours=24&timeZone=${encodeURIComponent(zone)}`), zone };
  } catch (error) {
    if (error.status !== 422 || zone === "UTC") throw error;
    try {
      localStorage.setItem(refusedZoneKey, zone);
    } catch {
      // storage disabled: this page still keeps UTC for its refreshes
    }
    statsZone = "UTC";
    return { stats: await api("GET", "/api/stats?hours=24&timeZone=UTC"), zone: "UTC" };
  }
}

registerPage("home", async () => {
  const token = generation;
  view.innerHTML = `
    <h1>Overview</h1>
    <p class="muted" id="home-updated" aria-live="off"></p>
    <div class="counters" id="home-counters" aria-label="Counters"></div>
    <div id="home-charts"></div>`;
  let shown = "";
  const load = async () => {
    const { stats, zone } = await loadStats();
    if (stale(token)) return;
    statsZone = zone;
    // Repaints only when a figure or the hour changed, so an open table or a focused counter survives the refresh.
    const snapshot = JSON.stringify({ ...stats, generatedAt: null, buckets: stats.buckets.map((b) => ({ ...b, end: null })) });
    if (snapshot === shown) {
      document.getElementById("home-updated").textContent = `Updated ${when(stats.generatedAt)}`;
      return;
    }
    shown = snapshot;
    paintHome(stats);
  };
  // Started first, so leaving mid-load still stops it; a failed refresh keeps the last figures.
  refreshTimer = setInterval(() => load().catch(() => {}), 10000);
  await load();
});
