// "My devices": add a device with a key pair made here (only the public key is sent),
// offer its wg-quick file and QR code (both made here, both holding the private key), and
// rename, revoke, re-key or re-issue devices.
import { api, showError, redraw, live } from "./portal.js";
import { generateKeyPair, publicKeyFor } from "./wgkeys.js";
import { drawQR } from "./qrcode.js";
import { renderConfig, offerDownload, configFilename } from "./wgquick.js";
import { drawTraffic } from "./traffic.js";

// This person's devices' traffic: drawn now, on every change, and every 10 s.
const charts = () => drawTraffic(document.getElementById("traffic")).catch(showError);
charts();
setInterval(charts, 10000);
document.addEventListener("ferry:redrawn", charts);

let current = null; // { text, filename } of the config on show

function show(name, template, privateKey) {
  const text = renderConfig(template, privateKey);
  current = { text, filename: configFilename(name) };
  document.getElementById("config").textContent = text;
  drawQR(document.getElementById("qr"), text, { scale: 4, margin: 4 });
  document.getElementById("new-device").hidden = false;
}

document.getElementById("download").addEventListener("click", () => {
  if (current) offerDownload(current.text, current.filename);
});

document.getElementById("add-device").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(null);
  const name = document.getElementById("device-name").value.trim();
  try {
    const keys = await generateKeyPair();
    const created = await api("POST", "/portal/api/devices", { name, publicKey: keys.publicKey });
    show(created.peer.name, created.config, keys.privateKey);
    document.getElementById("device-name").value = "";
    await redraw(["#devices tbody"]);
  } catch (error) {
    showError(error);
  }
});

// Row actions, by event delegation (the rows are redrawn on every change).
document.getElementById("devices").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("tr");
  const id = row.dataset.id, name = row.querySelector(".name").textContent;
  showError(null);
  try {
    switch (button.dataset.action) {
      case "rename": {
        const to = prompt(`New name for ${name}`, name);
        if (to && to !== name) await api("PATCH", `/portal/api/devices/${encodeURIComponent(id)}`, { name: to });
        break;
      }
      case "revoke":
        if (confirm(`Revoke ${name}? Its config stops working at once.`)) await api("DELETE", `/portal/api/devices/${encodeURIComponent(id)}`);
        break;
      case "rotate": {
        const keys = await generateKeyPair();
        const rotated = await api("POST", `/portal/api/devices/${encodeURIComponent(id)}/rotate-key`, { publicKey: keys.publicKey });
        show(rotated.peer.name, rotated.config, keys.privateKey);
        break;
      }
      case "reissue": {
        const privateKey = prompt(`The private key of ${name} (from its current config; it stays in this browser)`);
        if (!privateKey) break;
        if ((await publicKeyFor(privateKey.trim())) !== row.dataset.publicKey) throw new Error("that private key is not this device's");
        const issued = await api("POST", `/portal/api/devices/${encodeURIComponent(id)}/config`);
        show(issued.peer.name, issued.config, privateKey.trim());
        break;
      }
    }
    await redraw(["#devices tbody"]);
  } catch (error) {
    showError(error);
  }
});

live(() => redraw(["#devices tbody"]));
