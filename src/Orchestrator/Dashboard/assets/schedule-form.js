// Schedules: the create and edit form. A classic script loaded after app.js (it uses app.js's helpers: esc, api, when, badge, view, …).
"use strict";

async function renderScheduleForm(id) {
  const token = generation;
  // The action types are the server's (GET /api/actions), never a list kept here.
  const [projects, existing, actions] = await Promise.all([
    api("GET", "/api/projects?pageSize=200"),
    id ? api("GET", `/api/schedules/${encodeURIComponent(id)}`) : Promise.resolve(null),
    api("GET", "/api/actions"),
  ]);
  if (stale(token)) return;
  const zone = existing?.trigger?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
  if (existing && !projects.items.some((p) => p.id === existing.project)) projects.items.push({ id: existing.project, name: existing.project });
  view.innerHTML = `
    <h1>${existing ? `Edit ${esc(existing.name)}` : "New schedule"}</h1>${existing ? pauseNote(existing) + deadlineBadge(existing) : ""}
    ${existing?.managed ? `<p class="notice" data-managed>This schedule is <span class="status managed">managed</span> by apply: change its definition document and apply it; saving or deleting it here is refused.</p>` : ""}
    <form id="schedule-form" class="card" novalidate>
      <div class="grid">
        <div class="field"><label for="f-name">Name</label><input id="f-name" name="name" required ${existing ? "readonly" : ""} value="${esc(existing?.name)}"><div class="error" data-error="name"></div></div>
        <div class="field"><label for="f-project">Project</label><select id="f-project" name="project" ${existing ? "disabled" : ""}>${projects.items.map((p) => `<option value="${esc(p.id)}" ${p.id === (existing?.project ?? "default") ? "selected" : ""}>${esc(p.name)} (${esc(p.id)})</option>`).join("")}</select><div class="error" data-error="project"></div></div>
        <div class="field"><label for="f-type">Action type</label><select id="f-type" name="actionType">${actions.map((a) => `<option value="${esc(a.name)}" title="${esc(a.description)}" ${a.name === (existing?.action?.type ?? "noop") ? "selected" : ""}>${esc(a.name)}</option>`).join("")}</select><div class="error" data-error="action.type"></div></div>
      </div>
      <div class="field"><label for="f-when">When (an English phrase or a cron expression)</label>
        <input id="f-when" name="when" required placeholder="every weekday at 9:30" value="${esc(existing?.trigger?.cron ?? "")}">
        <div class="error" data-error="trigger"></div><div id="preview" class="preview" aria-live="polite">${existing && !existing.trigger?.cron
          ? `Now: ${esc(existing.triggerDescription)}. Leave this empty to keep it.`
          : "Type a phrase such as “every weekday at 9:30” or a cron such as “0 30 9 ? * MON-FRI”."}</div></div>
      <div class="field"><label for="f-zone">Time zone</label><input id="f-zone" name="timeZone" value="${esc(zone)}"><div class="error" data-error="trigger.timeZone"></div></div>
      <div class="field"><label for="f-config">Action config (JSON)</label><textarea id="f-config" name="config">${esc(JSON.stringify(existing?.action?.config ?? {}, null, 2))}</textarea><div class="error" data-error="action.config"></div></div>
      <div class="field"><label for="f-concurrency">When a run is still going at the next fire time</label><select id="f-concurrency" name="concurrency">${[["forbid", "forbid — wait for it"], ["skip", "skip — drop the new one"], ["buffer_one", "buffer_one — keep one waiting"], ["cancel_previous", "cancel_previous — cancel it, start the new one"], ["allow", "allow — run both"]].map(([value, label]) => `<option value="${value}" ${value === (existing?.concurrency ?? "forbid") ? "selected" : ""}>${esc(label)}</option>`).join("")}</select><div class="error" data-error="concurrency"></div></div>
      <div class="field"><label for="f-description">Description</label><input id="f-description" name="description" value="${esc(existing?.description ?? "")}"><div class="error" data-error="description"></div></div>
      <div id="form-error" class="error" role="alert"></div>
      <button class="primary" type="submit">${existing ? "Save" : "Create"}</button>
      <a class="button" href="#/schedules">Cancel</a>
    </form>${existing ? `<section id="occurrences-strip" class="card" aria-live="polite"></section>` : ""}`;
  if (existing && typeof renderOccurrenceStrip === "function") renderOccurrenceStrip(document.getElementById("occurrences-strip"), existing.id);

  // The trigger the form will save: the parse answer's (any form a schedule takes), or {cron, timeZone} for a typed cron.
  let trigger = existing?.trigger?.cron ? existing.trigger : null;
  // The other reading the operator picked, if any: its place in the list and the trigger it was.
  let chosen = null;
  let timer = null;
  let asked = 0;
  const whenInput = document.getElementById("f-when");
  const zoneInput = document.getElementById("f-zone");
  const preview = document.getElementById("preview");
  const kind = (t) => (t.cron ? `cron <code>${esc(t.cron)}</code>`
    : t.at ? "one time"
    : t.every ? `calendar interval (every ${esc(t.every)} ${esc(t.unit)}${t.every === 1 ? "" : "s"} from ${esc(t.startAt)})`
    : "interval");
  const showPreview = async () => {
    const text = whenInput.value.trim();
    if (!text) return;
    const mine = ++asked;
    chosen = null;
    const typedCron = looksLikeCron(text);
    const body = typedCron ? { expression: text, timeZone: zoneInput.value, count: 5 } : { text, timeZone: zoneInput.value, count: 5 };
    try {
      const result = await api("POST", typedCron ? "/api/cron/describe" : "/api/cron/parse", body);
      if (mine !== asked) return; // a newer preview was asked for while this one was on its way
      trigger = typedCron ? { cron: result.expression, timeZone: result.timeZone } : result.trigger;
      const zone = result.timeZone ?? body.timeZone;
      const alternatives = result.alternatives ?? [];
      // The reading chosen is said; a phrase that could mean something else lists the other readings, each usable as is.
      preview.innerHTML = `<strong>${esc(result.description)}</strong> — ${kind(trigger)}`
        + (result.reading && result.reading !== result.description ? `<div class="reading">Read as: ${esc(result.reading)}</div>` : "")
        + `<ol>${result.nextFireTimes.map((t) => `<li>${whenIn(t, zone)}</li>`).join("")}</ol>`
        + (alternatives.length ? `<div class="alternatives">Could also mean:<ul>${alternatives.map((a, i) =>
          `<li>${esc(a.reading)} <button type="button" data-alternative="${i}">Use this</button></li>`).join("")}</ul></div>` : "");
      preview.querySelectorAll("[data-alternative]").forEach((button) => button.addEventListener("click", () => {
        const index = Number(button.dataset.alternative);
        const alternative = alternatives[index];
        trigger = alternative.trigger;
        chosen = { index, trigger };
        preview.innerHTML = `<strong>${esc(alternative.description)}</strong> — ${kind(trigger)}<div class="reading">Read as: ${esc(alternative.reading)}</div>`;
      }));
      setError("trigger", "");
    } catch (error) {
      if (mine !== asked) return;
      trigger = null;
      const errors = error.problem?.errors ?? {};
      preview.textContent = "No preview.";
      setError("trigger.timeZone", (errors.timeZone ?? []).join(" "));
      setError("trigger", [...(errors.text ?? []), ...(errors.expression ?? []), ...(errors.count ?? [])].join(" ") || (errors.timeZone ? "" : error.message));
    }
  };
  // A reading's start ("every 2 weeks from Monday 10:00") or one time ("once at 09:00") was worked out when the phrase
  // was read; by the time the form is saved it may have passed, and Quartz would fire a past start at once or refuse a
  // past one time. So the phrase is read again and the same reading taken, with its instants as of now: the very trigger
  // if it is still offered, else the alternative in the same place of the same shape, else any of that shape.
  const shape = (t) => JSON.stringify(Object.keys(t).filter((k) => k !== "startAt" && k !== "at" && t[k] != null).sort().map((k) => [k, t[k]]));
  const chosenAgain = async () => {
    const wanted = chosen; // typing while the answer is on its way starts a new preview, which forgets the choice
    try {
      const result = await api("POST", "/api/cron/parse", { text: whenInput.value.trim(), timeZone: zoneInput.value, count: 1 });
      const readings = [{ trigger: result.trigger }, ...(result.alternatives ?? [])];
      const alternatives = result.alternatives ?? [];
      const sameShape = (a) => a && shape(a.trigger) === shape(wanted.trigger);
      const again = readings.find((a) => JSON.stringify(a.trigger) === JSON.stringify(wanted.trigger))
        ?? (sameShape(alternatives[wanted.index]) ? alternatives[wanted.index] : alternatives.find(sameShape));
      if (again) return again.trigger;
    } catch {
      // Not offered any more, or the phrase is refused now: the fresh preview below says which.
    }
    await showPreview();
    // When the phrase itself is refused now, the preview has already said why.
    if (trigger) setError("trigger", "The reading you chose is no longer offered for this phrase; check the preview and choose again.");
    return null;
  };
  const schedulePreview = () => { clearTimeout(timer); timer = setTimeout(showPreview, 300); };
  whenInput.addEventListener("input", schedulePreview);
  zoneInput.addEventListener("input", schedulePreview);
  if (whenInput.value) showPreview();

  document.getElementById("schedule-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    view.querySelectorAll("[data-error]").forEach((e) => (e.textContent = ""));
    document.getElementById("form-error").textContent = "";
    const keepTrigger = existing && !existing.trigger?.cron && !whenInput.value.trim();
    if (!keepTrigger) {
      // Read the phrase once more, as it is now; a chosen alternative stays chosen, with fresh instants.
      if (chosen) trigger = await chosenAgain();
      else await showPreview();
      if (!trigger) return;
    }
    let config;
    try {
      config = JSON.parse(document.getElementById("f-config").value || "{}");
    } catch (error) {
      setError("action.config", `Not valid JSON: ${error.message}`);
      return;
    }
    const body = {
      name: document.getElementById("f-name").value.trim(),
      project: document.getElementById("f-project").value,
      description: document.getElementById("f-description").value || null,
      action: { type: document.getElementById("f-type").value, config },
      concurrency: document.getElementById("f-concurrency").value,
      // Editing keeps what the form does not show (startAt, endAt, maxRuns) where the new form takes them: a calendar
      // interval brings its own start, a one-time trigger takes none. A trigger stays unless replaced.
      trigger: keepTrigger ? existing.trigger : withKept(trigger, existing?.trigger),
    };
    try {
      if (existing) await api("PUT", `/api/schedules/${encodeURIComponent(existing.id)}`, { ...existing, ...body, id: undefined, state: undefined, nextFireTime: undefined, previousFireTime: undefined, lastRun: undefined, triggerDescription: undefined, managed: undefined, pausedReason: undefined, pausedBy: undefined, pausedAt: undefined, jitterOffsetSeconds: undefined, deadlineStatus: undefined });
      else await api("POST", "/api/schedules", body);
      toast(existing ? "Saved." : `Created ${body.name}.`);
      location.hash = "#/schedules";
    } catch (error) {
      showProblem(error);
    }
  });
}

function withKept(trigger, previous) {
  // A null in the answer is a field the phrase did not set, not an order to clear what the schedule had.
  const given = Object.fromEntries(Object.entries(trigger).filter(([, value]) => value != null));
  if (!previous || given.at) return given;
  const kept = { endAt: previous.endAt, maxRuns: previous.maxRuns };
  return given.every ? { ...kept, ...given } : { startAt: previous.startAt, ...kept, ...given };
}
