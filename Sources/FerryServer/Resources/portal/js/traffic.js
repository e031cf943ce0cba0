// Traffic charts: each peer's (or gateway's) rx/tx over the last hour from
// GET /portal/api/traffic, drawn as inline SVG built with DOM calls (no library, no inline
// style: the CSP forbids it). Names go in through textContent only.
import { api } from "./portal.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 320, H = 80, PAD = 2;

function el(name, attrs) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

/** Bytes per second between consecutive samples (a counter that went down restarted: 0). */
export function rates(samples, key) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (Date.parse(samples[i].at) - Date.parse(samples[i - 1].at)) / 1000;
    const d = samples[i][key] - samples[i - 1][key];
    out.push({ t: Date.parse(samples[i].at), v: dt > 0 && d > 0 ? d / dt : 0 });
  }
  return out;
}

function human(n) {
  const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n >= 10 || i === 0 ? 0 : 1)} ${units[i]}`;
}

/** One series' chart: an <svg> with an rx and a tx polyline over the last hour. */
export function chart(series, now) {
  const rx = rates(series.samples, "rxBytes"), tx = rates(series.samples, "txBytes");
  const max = Math.max(1, ...rx.map((p) => p.v), ...tx.map((p) => p.v));
  const start = now - 3600 * 1000;
  const x = (t) => (PAD + (W - 2 * PAD) * Math.min(1, Math.max(0, (t - start) / (3600 * 1000)))).toFixed(1);
  const y = (v) => (H - PAD - (H - 2 * PAD) * (v / max)).toFixed(1);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  const title = el("title");
  title.textContent = `${series.name}: peak ${human(max)}`;
  svg.append(title, el("rect", { x: 0, y: 0, width: W, height: H, class: "chart-frame" }));
  for (const [points, cls] of [[rx, "rx"], [tx, "tx"]]) {
    if (points.length === 0) continue;
    svg.append(el("polyline", { class: `line ${cls}`, points: points.map((p) => `${x(p.t)},${y(p.v)}`).join(" ") }));
  }
  const figure = document.createElement("figure");
  figure.dataset.id = series.id;
  const caption = document.createElement("figcaption");
  const last = (a) => (a.length ? a[a.length - 1].v : 0);
  caption.textContent = `${series.name} (${series.kind}) rx ${human(last(rx))} tx ${human(last(tx))}, peak ${human(max)}`;
  figure.append(svg, caption);
  return figure;
}

/** Redraws every chart into `container` from a fresh history. */
export async function drawTraffic(container) {
  const { items } = await api("GET", "/portal/api/traffic");
  const now = Date.now();
  container.replaceChildren(...items.map((s) => chart(s, now)));
  if (items.length === 0) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No traffic recorded yet.";
    container.append(p);
  }
}
