// WireGuard keys in the browser (WebCrypto X25519): the private key is made here and never
// sent anywhere; only the public key goes to ferryd. Keys are wg's base64: 44 characters,
// one "=" of padding, the two unused bits of the last character zero (wireguard-tools
// encoding.c), so every key has exactly one spelling, as ferryd's parser requires.
//
// WebCrypto needs a secure context (https, or http on localhost/127.0.0.1).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const X25519 = { name: "X25519" };
// PKCS #8 PrivateKeyInfo for an X25519 key (RFC 8410 section 7), up to the 32 key bytes:
// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING (32) } }.
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

/** Why a key was refused; `message` is meant for people. */
export class KeyError extends Error {
  constructor(message) {
    super(message);
    this.name = "KeyError";
  }
}

/** 32 bytes as wg's base64. */
export function encodeKey(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new KeyError("a key is exactly 32 bytes");
  let out = "";
  for (let i = 0; i < 33; i += 3) {
    // The last group has two bytes (30, 31) and one "=".
    const b0 = bytes[i], b1 = bytes[i + 1], b2 = i + 2 < 32 ? bytes[i + 2] : 0;
    const v = (b0 << 16) | (b1 << 8) | b2;
    out += ALPHABET[(v >> 18) & 63] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63];
    out += i + 2 < 32 ? ALPHABET[v & 63] : "=";
  }
  return out;
}

/** wg's base64 to 32 bytes; throws KeyError saying what is wrong. */
export function decodeKey(text) {
  if (typeof text !== "string") throw new KeyError("a key is text");
  const trimmed = text.trim();
  if (trimmed.length !== 44) throw new KeyError(`a key is 44 characters of base64 (this has ${trimmed.length})`);
  if (trimmed[43] !== "=") throw new KeyError("a key ends with one \"=\"");
  const values = [];
  for (let i = 0; i < 43; i++) {
    const v = ALPHABET.indexOf(trimmed[i]);
    if (v < 0) throw new KeyError(`"${trimmed[i] === undefined ? "" : trimmed[i]}" at position ${i + 1} is not base64`);
    values.push(v);
  }
  // 43 characters carry 258 bits: the last character's two low bits must be zero.
  if ((values[42] & 3) !== 0) throw new KeyError("not a canonical key (the last character's unused bits are set)");
  values.push(0);
  const bytes = new Uint8Array(32);
  for (let i = 0, o = 0; i < 44; i += 4) {
    const v = (values[i] << 18) | (values[i + 1] << 12) | (values[i + 2] << 6) | values[i + 3];
    bytes[o++] = (v >> 16) & 255;
    if (o < 32) bytes[o++] = (v >> 8) & 255;
    if (o < 32) bytes[o++] = v & 255;
  }
  return bytes;
}

/** Whether `text` is a key in wg's base64 (any 32 bytes: public, private or preshared). */
export function isValidKey(text) {
  try {
    decodeKey(text);
    return true;
  } catch (error) {
    if (error instanceof KeyError) return false;
    throw error;
  }
}

function base64urlToBytes(text) {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(standard + "=".repeat((4 - (standard.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function subtle() {
  if (!globalThis.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    throw new KeyError("this page is not a secure context (https or localhost): the browser offers no WebCrypto here");
  }
  return crypto.subtle;
}

async function exportPair(privateKey) {
  const jwk = await subtle().exportKey("jwk", privateKey);
  if (jwk.kty !== "OKP" || jwk.crv !== "X25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new KeyError("the browser exported an unexpected X25519 key");
  }
  const secret = base64urlToBytes(jwk.d), pub = base64urlToBytes(jwk.x);
  const pair = { privateKey: encodeKey(secret), publicKey: encodeKey(pub) };
  secret.fill(0);
  return pair;
}

/**
 * A new key pair: `{privateKey, publicKey}` in wg's base64. The private key is clamped as
 * `wg genkey` clamps it (X25519 clamps anyway, so the public key is the same either way).
 */
export async function generateKeyPair() {
  let pair;
  try {
    pair = await subtle().generateKey(X25519, true, ["deriveBits"]);
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError(`this browser cannot make X25519 keys (${error && error.name}); use a current Chrome, Edge, Firefox or Safari`);
  }
  const keys = await exportPair(pair.privateKey);
  const secret = decodeKey(keys.privateKey);
  secret[0] &= 248;
  secret[31] = (secret[31] & 127) | 64;
  keys.privateKey = encodeKey(secret);
  secret.fill(0);
  return keys;
}

/** The public key of a private key someone re-entered (wg's base64); throws KeyError. */
export async function publicKeyFor(privateKeyBase64) {
  const secret = decodeKey(privateKeyBase64);
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(secret, PKCS8_PREFIX.length);
  secret.fill(0);
  let key;
  try {
    key = await subtle().importKey("pkcs8", pkcs8, X25519, true, ["deriveBits"]);
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError(`the browser refused this private key (${error && error.name})`);
  } finally {
    pkcs8.fill(0);
  }
  return (await exportPair(key)).publicKey;
}
