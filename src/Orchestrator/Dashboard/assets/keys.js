// Keys page: list API keys, create one (its key is shown once, with a copy button), revoke one after a confirmation.
// A classic script loaded after app.js; it uses app.js's esc/api/when/badge/view/toast/showProblem/generation.
"use strict";

registerPage("keys", async () => {
  const token = generation;
  const [keys, projects] = await Promise.all([api("GET", "/api/keys?pageSize=200"), api("GET", "/api/projects?pageSize=200")]);
  if (stale(token)) return;
  view.innerHTML = `
    <h1>API keys</h1>
    <form id="key-form" class="card" novalidate aria-labelledby="key-form-title">
      <h2 id="key-form-title">New key</h2>
      <div class="grid">
        <div class="field"><label for="k-name">Name</label><input id="k-name" name="name" required maxlength="100" aria-describedby="k-name-error"><div class="error" id="k-name-error" data-error="name"></div></div>
        <div class="field"><label for="k-role">Role</label><select id="k-role" name="role" aria-describedby="k-role-error">
          <option value="viewer">viewer</option><option value="operator">operator</option><option value="admin">admin</option></select>
          <div class="error" id="k-role-error" data-error="role"></div></div>
        <div class="field"><label for="k-expires">Expires (optional)</label><input id="k-expires" name="expiresAt" type="datetime-local" aria-describedby="k-expires-error"><div class="error" id="k-expires-error" data-error="expiresAt"></div></div>
      </div>
      <div class="field"><label for="k-projects">Projects (optional: none selected means every project)</label>
        <select id="k-projects" name="projects" multiple size="${Math.min(6, Math.max(2, projects.items.length))}" aria-describedby="k-projects-hint k-projects-error">
          ${projects.items.map((p) => `<option value="${esc(p.id)}">${esc(p.name)} (${esc(p.id)})</option>`).join("")}</select>
        <div class="hint" id="k-projects-hint">A key with projects sees and changes only those projects.</div>
        <div class="error" id="k-projects-error" data-error="projects"></div></div>
      <div id="form-error" class="error" role="alert"></div>
      <button class="primary" type="submit">Create key</button>
    </form>
    <div id="new-key"></div>
    <div class="table-wrap"><table aria-label="API keys"><thead><tr><th>Name</th><th>Prefix</th><th>Role</th><th class="hide-small">Projects</th><th>Status</th>
      <th class="hide-small">Created</th><th class="hide-small">Expires</th><th>Last used</th><th></th></tr></thead>
    <tbody>${keys.items.map((k) => `<tr data-key="${esc(k.id)}">
      <td>${esc(k.name)}</td><td><code>${esc(k.prefix)}</code></td><td>${esc(k.role)}</td>
      <td class="hide-small">${k.projects ? esc(k.projects.join(", ")) : "all"}</td>
      <td>${badge(k.status)}${k.revokedAt ? ` <span class="hint">${when(k.revokedAt)}</span>` : ""}</td>
      <td class="hide-small">${when(k.createdAt)}</td><td class="hide-small">${when(k.expiresAt)}</td><td>${when(k.lastUsedAt)}</td>
      <td class="actions">${k.status === "revoked" ? "" : `<button type="button" class="danger" data-revoke="${esc(k.id)}" data-name="${esc(k.name)}" aria-label="Revoke ${esc(k.name)}">Revoke</button>`}</td>
    </tr>`).join("") || `<tr><td colspan="9">No keys.</td></tr>`}</tbody></table></div>`;

  document.getElementById("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    view.querySelectorAll("#key-form .error").forEach((e) => { e.textContent = ""; });
    // By id, not form.name/form.role: those are the form's own name and ARIA role properties.
    const selected = [...document.getElementById("k-projects").selectedOptions].map((o) => o.value);
    const expires = document.getElementById("k-expires").value;
    const body = { name: document.getElementById("k-name").value.trim(), role: document.getElementById("k-role").value };
    if (selected.length > 0) body.projects = selected;
    // datetime-local is the browser's local time without an offset; the API wants an instant with one.
    if (expires) body.expiresAt = new Date(expires).toISOString();
    try {
      const created = await api("POST", "/api/keys", body);
      await renderKeysAgain(created);
    } catch (error) {
      if (error.status === 401) return;
      showProblem(error);
    }
  });

  view.querySelectorAll("[data-revoke]").forEach((button) => button.addEventListener("click", async () => {
    if (!confirm(`Revoke key '${button.dataset.name}'? Requests with it are refused at once, on every node.`)) return;
    try {
      await api("DELETE", `/api/keys/${encodeURIComponent(button.dataset.revoke)}`);
      toast(`Key '${button.dataset.name}' revoked.`);
      await renderKeysAgain(null);
    } catch (error) {
      if (error.status !== 401) toast(error.message);
    }
  }));
});

/** Draws the page again; a key just created is shown above the list, once, with a copy button. */
async function renderKeysAgain(created) {
  await pages.get("keys")();
  if (!created) return;
  const box = document.getElementById("new-key");
  box.innerHTML = `
    <section class="card" role="status" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Key '${esc(created.name)}' created</h2>
      <p>Copy it now: it is shown this once and cannot be read again.</p>
      <div class="field"><label for="new-key-value">Key</label><input id="new-key-value" readonly value="${esc(created.key)}"></div>
      <button type="button" id="copy-key">Copy</button>
    </section>`;
  const input = document.getElementById("new-key-value");
  document.getElementById("copy-key").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Key copied.");
    } catch {
      // No clipboard permission (an insecure origin, a locked-down browser): select it for a manual copy instead.
      input.select();
      toast("Select and copy the key by hand (Ctrl+C).");
    }
  });
  input.focus();
  input.select();
}
