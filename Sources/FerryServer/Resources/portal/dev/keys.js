// The development page's wiring (dev/keys.html): no inline script, as the portal's CSP wants.
import { generateKeyPair, publicKeyFor } from "../js/wgkeys.js";
import { drawQR } from "../js/qrcode.js";
import { configFilename, offerDownload, renderConfig } from "../js/wgquick.js";

const $ = (id) => document.getElementById(id);
let config = null;

function show(error) {
  $("error").textContent = error ? error.message : "";
}

$("generate").addEventListener("click", async () => {
  show(null);
  $("download").disabled = true;
  try {
    const pair = await generateKeyPair();
    config = renderConfig($("template").value, pair.privateKey);
    $("public").textContent = pair.publicKey;
    $("config").textContent = config;
    drawQR($("qr"), config, { scale: 4, margin: 4 });
    $("download").disabled = false;
  } catch (error) {
    config = null;
    show(error);
  }
});

$("download").addEventListener("click", () => {
  if (config !== null) offerDownload(config, configFilename($("name").value));
});

$("derive").addEventListener("click", async () => {
  show(null);
  $("derived").textContent = "";
  try {
    $("derived").textContent = await publicKeyFor($("reenter").value);
  } catch (error) {
    show(error);
  }
});
