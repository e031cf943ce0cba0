// The wg-quick file of a device whose key was made in this browser. ferryd renders the
// file without the key (it never has it): the [Interface] section holds the placeholder line
//   # PrivateKey = <this device's private key: it never leaves the device>
// (FerryCore's WGQuickConfig.render, GET /v1/peers/{id}/config). renderConfig puts the key
// in its place here, and only in a file that looks exactly like what ferryd writes: the file
// ends up in wg-quick, which runs as root, so anything unexpected (hooks that run commands,
// unknown keys, a second key, control characters) is refused rather than passed on.

import { decodeKey, encodeKey, KeyError } from "./wgkeys.js";

/** Why a config template was refused; `line` is 1-based (0 for the whole text). */
export class ConfigError extends Error {
  constructor(message, line = 0) {
    super(line ? `line ${line}: ${message}` : message);
    this.name = "ConfigError";
    this.line = line;
  }
}

export const MAX_CONFIG_BYTES = 64 * 1024;

// ferryd's placeholder: any wording between the angle brackets, on a line of its own.
const PLACEHOLDER = /^#\s*PrivateKey\s*=\s*<[^<>]*>$/i;
// The keys wg-quick(8) takes that a device's file may hold. PreUp/PostUp/PreDown/PostDown
// run shell commands as root: ferryd never writes them for a device, so they are refused.
const INTERFACE_KEYS = new Set(["address", "listenport", "dns", "mtu", "table", "fwmark", "saveconfig"]);
const PEER_KEYS = new Set(["publickey", "presharedkey", "allowedips", "endpoint", "persistentkeepalive"]);
const HOOKS = new Set(["preup", "postup", "predown", "postdown"]);
// Printable text, tab and line breaks only: no NUL, escapes or bidirectional overrides.
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * The template with its placeholder line replaced by `PrivateKey = <privateKey>`.
 * Throws ConfigError for a template that is not a device's wg-quick file from ferryd with
 * exactly one placeholder in [Interface], and KeyError for a malformed key.
 */
export function renderConfig(template, privateKey) {
  const key = encodeKey(decodeKey(privateKey)); // canonical spelling, or KeyError
  if (typeof template !== "string") throw new ConfigError("the config template is not text");
  if (new TextEncoder().encode(template).length > MAX_CONFIG_BYTES) throw new ConfigError(`the config template is over ${MAX_CONFIG_BYTES} bytes`);
  const lines = template.replace(/\r\n/g, "\n").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  let section = null, interfaces = 0, placeholder = -1, peerHasKey = true;
  const endPeer = (number) => {
    if (section === "peer" && !peerHasKey) throw new ConfigError("[Peer] without PublicKey", number);
  };
  lines.forEach((raw, index) => {
    const number = index + 1;
    if (FORBIDDEN.test(raw)) throw new ConfigError("control or direction-changing characters are not allowed", number);
    const line = raw.trim();
    if (line === "") return;
    if (PLACEHOLDER.test(line)) {
      if (section !== "interface") throw new ConfigError("the PrivateKey placeholder is outside [Interface]", number);
      if (placeholder >= 0) throw new ConfigError("a second PrivateKey placeholder", number);
      placeholder = index;
      return;
    }
    if (line.startsWith("#")) return;
    const content = line.split("#")[0].trim();
    if (content.startsWith("[")) {
      endPeer(number);
      const name = content.toLowerCase();
      if (name === "[interface]") {
        if (++interfaces > 1) throw new ConfigError("a second [Interface] section", number);
        if (section !== null) throw new ConfigError("[Interface] must come first", number);
        section = "interface";
      } else if (name === "[peer]") {
        if (section === null) throw new ConfigError("[Peer] before [Interface]", number);
        section = "peer";
        peerHasKey = false;
      } else {
        throw new ConfigError(`unknown section ${content}`, number);
      }
      return;
    }
    const eq = content.indexOf("=");
    if (eq < 0) throw new ConfigError("expected Key = Value", number);
    const name = content.slice(0, eq).trim().toLowerCase(), value = content.slice(eq + 1).trim();
    if (section === null) throw new ConfigError("a key outside a section", number);
    if (section === "interface") {
      if (name === "privatekey") throw new ConfigError("the template already holds a private key", number);
      if (HOOKS.has(name)) throw new ConfigError(`${content.slice(0, eq).trim()} runs commands: not accepted in a device's config`, number);
      if (!INTERFACE_KEYS.has(name)) throw new ConfigError(`unknown key '${content.slice(0, eq).trim()}' in [Interface]`, number);
    } else {
      if (!PEER_KEYS.has(name)) throw new ConfigError(`unknown key '${content.slice(0, eq).trim()}' in [Peer]`, number);
      if (name === "publickey" || name === "presharedkey") {
        try {
          decodeKey(value);
        } catch (error) {
          if (error instanceof KeyError) throw new ConfigError(`${content.slice(0, eq).trim()}: ${error.message}`, number);
          throw error;
        }
        if (name === "publickey") peerHasKey = true;
      }
    }
    if (value === "") throw new ConfigError(`${content.slice(0, eq).trim()} has no value`, number);
  });
  endPeer(lines.length);
  if (interfaces === 0) throw new ConfigError("no [Interface] section");
  if (placeholder < 0) throw new ConfigError("no PrivateKey placeholder in [Interface]");
  lines[placeholder] = `PrivateKey = ${key}`;
  return lines.join("\n") + "\n";
}

/** A file name wg-quick accepts for `name` (an interface name: at most 15 of [A-Za-z0-9_=+.-]). */
export function configFilename(name) {
  const safe = String(name).replace(/[^A-Za-z0-9_=+.-]+/g, "-").slice(0, 15).replace(/^[-.]+|-+$/g, "");
  return (safe || "ferry") + ".conf";
}

/**
 * Offers `text` as a file download named `filename`, made in this browser (a Blob and an
 * object URL): nothing goes to a server.
 */
export function offerDownload(text, filename, type = "text/plain") {
  if (typeof text !== "string") throw new TypeError("offerDownload takes text");
  if (typeof filename !== "string" || !/^[^\\/\u0000-\u001f]{1,128}$/.test(filename) || filename.startsWith(".")) {
    throw new TypeError("a download's file name is 1 to 128 characters without slashes or control characters, not starting with '.'");
  }
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the Blob by now; the URL would otherwise live as long as the page.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
