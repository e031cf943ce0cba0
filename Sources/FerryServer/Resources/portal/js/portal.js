// What every portal page shares: the session's CSRF token, JSON calls to /portal/api, error
// display, and live updates (server-sent events) that redraw parts of the page from a fresh
// copy of it, rendered and escaped by ferryd. Text from data only ever goes in through
// textContent: nothing here builds HTML from strings.

const meta = document.querySelector('meta[name="ferry-csrf"]');
export const csrf = meta ? meta.content : "";

/** A JSON call with the CSRF token; resolves to the parsed body (null for 204), throws Error(message). */
export async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || `${method} ${path}: ${response.status}`);
  return data;
}

export function showError(error) {
  const el = document.getElementById("error");
  if (!el) return;
  el.textContent = error ? String(error.message || error) : "";
  el.hidden = !error;
}

/** Replaces the children of each selector's element with those of the same element in a fresh copy of this page. */
export async function redraw(selectors) {
  const response = await fetch(location.pathname, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const selector of selectors) {
    const now = document.querySelector(selector), next = fresh.querySelector(selector);
    if (!now || !next) continue;
    // A select keeps what the person chose (its options are redrawn under them).
    const chosen = now.tagName === "SELECT" ? now.value : null;
    now.replaceChildren(...Array.from(next.childNodes).map((n) => document.importNode(n, true)));
    if (chosen !== null && Array.from(now.options).some((o) => o.value === chosen)) now.value = chosen;
  }
  document.dispatchEvent(new Event("ferry:redrawn"));
}

/** Calls `onChange` on every change of the network (EventSource reconnects by itself). */
export function live(onChange) {
  const events = new EventSource("/portal/api/events");
  let pending = null;
  events.addEventListener("change", () => {
    // A burst of changes redraws once.
    if (pending) return;
    pending = setTimeout(() => { pending = null; onChange(); }, 150);
  });
  return events;
}
