// The admin page: peer filters, ephemeral peers' TTL countdown, the policy preview before
// a rule is applied or removed, segments, gateway key rotation, tokens (secret shown once),
// sessions, and the live audit tail: every change redraws the tables from ferryd's page.
import { api, showError, redraw, live } from "./portal.js";
import { drawTraffic } from "./traffic.js";

const TABLES = ["#peers tbody", "#segments tbody", "#rules tbody", "#gateways tbody", "#tokens tbody", "#sessions tbody", "#rule-from", "#token-segment"];
const $ = (id) => document.getElementById(id);

// The audit log: the live tail (the page's last records) until a filter is set, then the
// filtered records from /portal/api/admin/audit, re-read on every change.
let auditFilter = null;
function readAuditFilter() {
  const q = new URLSearchParams();
  for (const [id, key] of [["audit-peer", "peer"], ["audit-actor", "actor"], ["audit-action", "action"]]) {
    const v = $(id).value.trim();
    if (v) q.set(key, v);
  }
  for (const [id, key] of [["audit-since", "since"], ["audit-until", "until"]]) {
    // datetime-local is the browser's local time; the API takes RFC 3339 (UTC).
    const v = $(id).value;
    if (v) q.set(key, new Date(v).toISOString());
  }
  return q.toString() ? q : null;
}
async function drawAudit() {
  if (!auditFilter) return redraw(["#audit tbody"]);
  const { items } = await api("GET", `/portal/api/admin/audit?${auditFilter}&limit=200`);
  $("audit").tBodies[0].replaceChildren(...items.map((e) => {
    const tr = document.createElement("tr");
    for (const text of [e.seq, e.at, e.actor, e.action, `${e.objectType}/${e.objectID}`]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    return tr;
  }));
}
$("audit-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  showError(null);
  auditFilter = readAuditFilter();
  $("live").textContent = auditFilter ? "filtered" : "live";
  drawAudit().catch(showError);
});
$("audit-clear").addEventListener("click", () => {
  $("audit-filter").reset();
  auditFilter = null;
  $("live").textContent = "live";
  drawAudit().catch(showError);
});

// Traffic charts: drawn now, on every change, and every 10 s (counters move without changes).
const charts = () => drawTraffic($("traffic")).catch(showError);
charts();
setInterval(charts, 10000);

// Filters: by segment, kind, owner (substring) and state.
function filter() {
  const want = { segment: $("filter-segment").value.trim(), kind: $("filter-kind").value.trim(), owner: $("filter-owner").value.trim(), state: $("filter-state").value };
  for (const row of document.querySelectorAll("#peers tbody tr")) {
    row.hidden = Object.entries(want).some(([k, v]) => v && !(row.dataset[k] || "").includes(v));
  }
}
for (const id of ["filter-segment", "filter-kind", "filter-owner", "filter-state"]) $(id).addEventListener("input", filter);

// TTL countdown of ephemeral peers: once a second, from their expiry time.
function countdown() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".ttl[data-expires]")) {
    const left = Math.floor((Date.parse(el.dataset.expires) - now) / 1000);
    el.textContent = left <= 0 ? "expired" : left >= 3600 ? `${Math.floor(left / 3600)}h ${Math.floor(left % 3600 / 60)}m`
      : left >= 60 ? `${Math.floor(left / 60)}m ${left % 60}s` : `${left}s`;
    el.classList.toggle("expired", left <= 0);
  }
}
setInterval(countdown, 1000);
countdown();

// The audit tail is redrawn with the tables unless a filter is set (then it is re-read).
const refresh = () => Promise.all([redraw(auditFilter ? TABLES : [...TABLES, "#audit tbody"]), auditFilter ? drawAudit() : null, charts()]);
document.addEventListener("ferry:redrawn", () => { filter(); countdown(); });
const events = live(refresh);
events.addEventListener("open", () => { $("live").textContent = auditFilter ? "filtered" : "live"; });
events.addEventListener("error", () => { $("live").textContent = "reconnecting…"; });

async function act(work) {
  showError(null);
  try { await work(); await refresh(); } catch (error) { showError(error); }
}

$("add-segment").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => { await api("POST", "/portal/api/admin/segments", { name: $("segment-name").value.trim() }); $("segment-name").value = ""; });
});

// Policy: a change is previewed (access added and removed, peers affected) before it is applied.
let proposed = null;
function listInto(id, title, items) {
  const ul = $(id);
  ul.replaceChildren();
  for (const text of items) {
    const li = document.createElement("li");
    li.textContent = `${title} ${text}`;
    ul.append(li);
  }
}
async function preview(change, apply) {
  const p = await api("POST", "/portal/api/admin/policy/preview", change);
  listInto("preview-added", "gives", p.added);
  listInto("preview-removed", "takes away", p.removed);
  $("preview-affected").textContent = p.affected.length === 0 ? "No peer is affected."
    : `${p.affected.length} peer${p.affected.length === 1 ? " is" : "s are"} affected: ${p.affected.map((a) => `${a.name} (${a.segment})`).join(", ")}`;
  $("preview").hidden = false;
  proposed = apply;
}
$("add-rule").addEventListener("submit", (event) => {
  event.preventDefault();
  const rule = { from: $("rule-from").value };
  rule[$("rule-kind").value] = $("rule-to").value.trim();
  const ports = $("rule-ports").value.trim();
  if (ports) rule.ports = ports.split(/[\s,]+/);
  act(() => preview({ add: rule }, () => api("POST", "/portal/api/admin/policy/rules", rule)));
});
$("apply-rule").addEventListener("click", () => act(async () => {
  if (!proposed) return;
  const apply = proposed;
  proposed = null;
  await apply();
  $("preview").hidden = true;
  $("add-rule").reset();
}));
$("cancel-rule").addEventListener("click", () => { proposed = null; $("preview").hidden = true; });

// Token: the secret is shown once, with a copy button.
$("add-token").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { name: $("token-name").value.trim(), scope: $("token-scope").value };
  if ($("token-segment").value) body.segment = $("token-segment").value;
  act(async () => {
    const created = await api("POST", "/portal/api/admin/tokens", body);
    $("secret").textContent = created.secret;
    $("token-secret").hidden = false;
    $("add-token").reset();
  });
});
$("copy-secret").addEventListener("click", () => navigator.clipboard.writeText($("secret").textContent));

// Table buttons, by event delegation (tables are redrawn).
document.querySelector("main").addEventListener("click", (event) => {
  const b = event.target.closest("button");
  if (!b) return;
  const d = b.dataset;
  if (d.deletePeer && confirm("Remove this peer?")) act(() => api("DELETE", `/portal/api/admin/peers/${encodeURIComponent(d.deletePeer)}`));
  if (d.deleteRule) act(() => preview({ remove: [d.deleteRule] }, () => api("DELETE", `/portal/api/admin/policy/rules/${encodeURIComponent(d.deleteRule)}`)));
  if (d.rotateGateway && confirm("Rotate this gateway's key? Devices with static configs need new ones.")) {
    act(() => api("POST", `/portal/api/admin/gateways/${encodeURIComponent(d.rotateGateway)}/rotate-key`));
  }
  if (d.revokeToken && confirm("Revoke this token? Whatever uses it is refused from now on.")) {
    act(() => api("DELETE", `/portal/api/admin/tokens/${encodeURIComponent(d.revokeToken)}`));
  }
  if (d.revokeSession && confirm("Revoke this session?")) act(() => api("DELETE", `/portal/api/admin/sessions/${encodeURIComponent(d.revokeSession)}`));
});
