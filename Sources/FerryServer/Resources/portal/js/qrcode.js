// A QR code encoder (ISO/IEC 18004, model 2) for the portal: a wg-quick file holding a
// private key made in this browser becomes a QR code in this browser, so the key never
// travels. One byte-mode segment (UTF-8), versions 1-40 chosen by length, levels L/M/Q/H
// (M by default), all eight masks scored by the penalty rules, format and version
// information. The same construction as the Swift encoder in Sources/QRCode, written again
// here because the portal has no build step and no libraries.

/** Why a text could not be encoded (too long for version 40 at this level). */
export class QRError extends Error {
  constructor(message) {
    super(message);
    this.name = "QRError";
  }
}

// Table 12's two bits per level (the standard's order is not the order of strength), the
// column in Table 9, and the next stronger level.
const LEVELS = {
  L: { bits: 0b01, column: 0, stronger: "M" },
  M: { bits: 0b00, column: 1, stronger: "Q" },
  Q: { bits: 0b11, column: 2, stronger: "H" },
  H: { bits: 0b10, column: 3, stronger: null },
};

// Table 9: per version, at L, M, Q and H, [error-correction codewords per block, blocks].
const BLOCKS = [
  [[7, 1], [10, 1], [13, 1], [17, 1]], [[10, 1], [16, 1], [22, 1], [28, 1]],
  [[15, 1], [26, 1], [18, 2], [22, 2]], [[20, 1], [18, 2], [26, 2], [16, 4]],
  [[26, 1], [24, 2], [18, 4], [22, 4]], [[18, 2], [16, 4], [24, 4], [28, 4]],
  [[20, 2], [18, 4], [18, 6], [26, 5]], [[24, 2], [22, 4], [22, 6], [26, 6]],
  [[30, 2], [22, 5], [20, 8], [24, 8]], [[18, 4], [26, 5], [24, 8], [28, 8]],
  [[20, 4], [30, 5], [28, 8], [24, 11]], [[24, 4], [22, 8], [26, 10], [28, 11]],
  [[26, 4], [22, 9], [24, 12], [22, 16]], [[30, 4], [24, 9], [20, 16], [24, 16]],
  [[22, 6], [24, 10], [30, 12], [24, 18]], [[24, 6], [28, 10], [24, 17], [30, 16]],
  [[28, 6], [28, 11], [28, 16], [28, 19]], [[30, 6], [26, 13], [28, 18], [28, 21]],
  [[28, 7], [26, 14], [26, 21], [26, 25]], [[28, 8], [26, 16], [30, 20], [28, 25]],
  [[28, 8], [26, 17], [28, 23], [30, 25]], [[28, 9], [28, 17], [30, 23], [24, 34]],
  [[30, 9], [28, 18], [30, 25], [30, 30]], [[30, 10], [28, 20], [30, 27], [30, 32]],
  [[26, 12], [28, 21], [30, 29], [30, 35]], [[28, 12], [28, 23], [28, 34], [30, 37]],
  [[30, 12], [28, 25], [30, 34], [30, 40]], [[30, 13], [28, 26], [30, 35], [30, 42]],
  [[30, 14], [28, 28], [30, 38], [30, 45]], [[30, 15], [28, 29], [30, 40], [30, 48]],
  [[30, 16], [28, 31], [30, 43], [30, 51]], [[30, 17], [28, 33], [30, 45], [30, 54]],
  [[30, 18], [28, 35], [30, 48], [30, 57]], [[30, 19], [28, 37], [30, 51], [30, 60]],
  [[30, 19], [28, 38], [30, 53], [30, 63]], [[30, 20], [28, 40], [30, 56], [30, 66]],
  [[30, 21], [28, 43], [30, 59], [30, 70]], [[30, 22], [28, 45], [30, 62], [30, 74]],
  [[30, 24], [28, 47], [30, 65], [30, 77]], [[30, 25], [28, 49], [30, 68], [30, 81]],
];

// ---- Versions (section 5.3, Annex E)

const size = (version) => 17 + 4 * version;
const countBits = (version) => (version <= 9 ? 8 : 16); // byte mode's count indicator (Table 3)

// Alignment pattern centres: evenly spaced from the far edge back towards column 6, the
// step rounded up to an even number; version 32 is the standard's one exception.
function alignmentCenters(version) {
  if (version < 2) return [];
  const count = Math.floor(version / 7) + 2, last = size(version) - 7, gaps = count - 1;
  const step = version === 32 ? 26 : Math.floor((last - 6 + 2 * gaps - 1) / (2 * gaps)) * 2;
  const centers = [6];
  for (let g = gaps - 1; g >= 0; g--) centers.push(last - g * step);
  return centers;
}

// Modules left for codewords once function patterns, format and version information are placed.
function totalCodewords(version) {
  const n = size(version);
  let modules = n * n - 3 * 64 - (2 * 15 + 1) - 2 * (n - 16);
  const a = alignmentCenters(version).length;
  if (a > 0) modules -= 25 * (a * a - 3) - 5 * 2 * (a - 2);
  if (version >= 7) modules -= 2 * 18;
  return Math.floor(modules / 8);
}

const blocks = (version, level) => BLOCKS[version - 1][LEVELS[level].column];
const dataCodewords = (version, level) => totalCodewords(version) - blocks(version, level)[0] * blocks(version, level)[1];

// Bytes one byte-mode segment can carry (Table 7).
function byteCapacity(version, level) {
  const bits = dataCodewords(version, level) * 8 - 4 - countBits(version);
  return Math.min(Math.floor(bits / 8), (1 << countBits(version)) - 1);
}

/** The most bytes a QR code holds at `level` (version 40). */
export function maximumBytes(level = "M") {
  return byteCapacity(40, checkLevel(level));
}

function checkLevel(level) {
  if (!Object.hasOwn(LEVELS, level)) throw new QRError(`unknown error-correction level ${String(level)} (L, M, Q or H)`);
  return level;
}

// ---- Codewords (sections 7.4 to 7.6)

function dataBits(bytes, version, level) {
  const capacity = dataCodewords(version, level) * 8;
  const out = [];
  let bitCount = 0;
  const append = (value, bits) => {
    for (let shift = bits - 1; shift >= 0; shift--) {
      if (bitCount % 8 === 0) out.push(0);
      if ((value >>> shift) & 1) out[out.length - 1] |= 0x80 >>> (bitCount % 8);
      bitCount++;
    }
  };
  append(0b0100, 4); // byte mode
  append(bytes.length, countBits(version));
  for (const byte of bytes) append(byte, 8);
  append(0, Math.min(4, capacity - bitCount)); // terminator
  append(0, (8 - (bitCount % 8)) % 8);
  for (let pad = 0xec; out.length < capacity / 8; pad ^= 0xec ^ 0x11) out.push(pad);
  return out;
}

// GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (section 7.5.2).
function gfMultiply(a, b) {
  let product = 0;
  for (; b; b >>>= 1) {
    if (b & 1) product ^= a;
    a = a & 0x80 ? ((a << 1) ^ 0x11d) : a << 1;
  }
  return product;
}

// The generator (x - a^0)...(x - a^(degree-1)), its coefficients below the leading 1.
function generator(degree) {
  let poly = [1];
  for (let i = 0, root = 1; i < degree; i++, root = gfMultiply(root, 2)) {
    const next = [...poly, 0];
    for (let j = 0; j < poly.length; j++) next[j + 1] ^= gfMultiply(poly[j], root);
    poly = next;
  }
  return poly.slice(1);
}

function remainder(data, gen) {
  const r = new Array(gen.length).fill(0);
  for (const byte of data) {
    const factor = byte ^ r[0];
    for (let i = 0; i < gen.length; i++) r[i] = (i + 1 < gen.length ? r[i + 1] : 0) ^ gfMultiply(gen[i], factor);
  }
  return r;
}

// Blocks of Table 9 (shorter ones first), each with its error correction, interleaved (7.6).
function interleave(data, version, level) {
  const [eccLength, count] = blocks(version, level);
  const total = totalCodewords(version);
  const longBlocks = total % count, shortLength = Math.floor(total / count) - eccLength;
  const gen = generator(eccLength);
  const dataBlocks = [];
  for (let i = 0, start = 0; i < count; i++) {
    const length = shortLength + (i >= count - longBlocks ? 1 : 0);
    dataBlocks.push(data.slice(start, start + length));
    start += length;
  }
  const eccBlocks = dataBlocks.map((block) => remainder(block, gen));
  const out = [];
  for (let offset = 0; offset <= shortLength; offset++) {
    for (const block of dataBlocks) if (offset < block.length) out.push(block[offset]);
  }
  for (let offset = 0; offset < eccLength; offset++) for (const block of eccBlocks) out.push(block[offset]);
  return out;
}

// ---- The module grid (section 6.3, 7.7 to 7.10)

class Grid {
  constructor(n) {
    this.size = n;
    this.dark = new Uint8Array(n * n);
    this.fn = new Uint8Array(n * n);
  }
  set(x, y, dark) {
    this.dark[y * this.size + x] = dark ? 1 : 0;
    this.fn[y * this.size + x] = 1;
  }
  copy() {
    const grid = new Grid(this.size);
    grid.dark.set(this.dark);
    grid.fn.set(this.fn);
    return grid;
  }
}

// The remainder of data * x^degree divided by the generator, polynomials over GF(2) as bits.
function bch(data, gen, degree) {
  let r = data << degree;
  for (let bit = 31 - Math.clz32(r); bit >= degree; bit--) if ((r >>> bit) & 1) r ^= gen << (bit - degree);
  return r;
}

// 15 bits: level and mask, BCH(15,5), XOR 101010000010010 (7.9).
const formatBits = (level, mask) => {
  const data = (LEVELS[level].bits << 3) | mask;
  return ((data << 10) | bch(data, 0b10100110111, 10)) ^ 0b101010000010010;
};

// Both copies of the format information; bit i at the i-th position of each (Figure 25).
function drawFormat(grid, bits) {
  const n = grid.size;
  const first = [];
  for (let i = 0; i <= 5; i++) first.push([8, i]);
  first.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i <= 14; i++) first.push([14 - i, 8]);
  const second = [];
  for (let i = 0; i <= 7; i++) second.push([n - 1 - i, 8]);
  for (let i = 8; i <= 14; i++) second.push([8, n - 15 + i]);
  for (const positions of [first, second]) positions.forEach(([x, y], i) => grid.set(x, y, (bits >>> i) & 1));
  grid.set(8, n - 8, true); // the dark module
}

function functionPatterns(version) {
  const n = size(version);
  const grid = new Grid(n);
  for (let i = 0; i < n; i++) {
    grid.set(6, i, i % 2 === 0);
    grid.set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [n - 4, 3], [3, n - 4]]) {
    // Finder (7x7) and its light separator, clipped at the edge.
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx, y = cy + dy;
        if (x < 0 || y < 0 || x >= n || y >= n) continue;
        const ring = Math.max(Math.abs(dx), Math.abs(dy));
        grid.set(x, y, ring !== 2 && ring !== 4);
      }
    }
  }
  const centers = alignmentCenters(version), last = centers.length - 1;
  centers.forEach((cy, i) => centers.forEach((cx, j) => {
    if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) grid.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }));
  drawFormat(grid, 0); // reserved until a mask is chosen
  if (version >= 7) {
    const bits = (version << 12) | bch(version, 0b1111100100101, 12);
    for (let i = 0; i < 18; i++) {
      const near = Math.floor(i / 3), far = n - 11 + (i % 3), dark = (bits >>> i) & 1;
      grid.set(near, far, dark);
      grid.set(far, near, dark);
    }
  }
  return grid;
}

// Codeword bits in two-module columns, up and down alternately from the lower right,
// skipping function modules and column 6; what is left (remainder bits) stays light.
function placeCodewords(grid, codewords) {
  const n = grid.size, bitCount = codewords.length * 8;
  let bit = 0, upward = true;
  for (let right = n - 1; right >= 1; right -= 2, upward = !upward) {
    if (right === 6) right = 5;
    for (let step = 0; step < n; step++) {
      const y = upward ? n - 1 - step : step;
      for (const x of [right, right - 1]) {
        if (grid.fn[y * n + x] || bit >= bitCount) continue;
        grid.dark[y * n + x] = (codewords[bit >>> 3] >>> (7 - (bit & 7))) & 1;
        bit++;
      }
    }
  }
}

// Table 10, i the row and j the column.
const MASKS = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (i, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i + j) % 2) + ((i * j) % 3)) % 2 === 0,
];

function applyMask(grid, mask) {
  const n = grid.size, inverts = MASKS[mask];
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (!grid.fn[y * n + x] && inverts(y, x)) grid.dark[y * n + x] ^= 1;
}

// ---- Penalty (7.8.3, Table 11): the mask with the lowest total wins.

function linePenalty(line) {
  let points = 0, run = 0;
  const n = line.length;
  for (let k = 0; k < n; k++) {
    run = k > 0 && line[k - 1] === line[k] ? run + 1 : 1;
    if ((k === n - 1 || line[k + 1] !== line[k]) && run >= 5) points += run - 2; // N1 = 3, plus 1 past 5
  }
  const light = (from) => {
    for (let k = from; k < from + 4; k++) if (k >= 0 && k < n && line[k]) return false;
    return true;
  };
  for (let s = 0; s + 7 <= n; s++) {
    // 1:1:3:1:1 dark-light-dark-dark-dark-light-dark with four light modules on one side: N3 = 40.
    if (line[s] && !line[s + 1] && line[s + 2] && line[s + 3] && line[s + 4] && !line[s + 5] && line[s + 6]
      && (light(s - 4) || light(s + 7))) points += 40;
  }
  return points;
}

/** The penalty score of a finished grid (exported for tests). */
export function penalty(dark, n) {
  let points = 0;
  const row = new Uint8Array(n), column = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      row[j] = dark[i * n + j];
      column[j] = dark[j * n + i];
    }
    points += linePenalty(row) + linePenalty(column);
  }
  for (let y = 0; y + 1 < n; y++) {
    for (let x = 0; x + 1 < n; x++) {
      const c = dark[y * n + x];
      if (dark[y * n + x + 1] === c && dark[(y + 1) * n + x] === c && dark[(y + 1) * n + x + 1] === c) points += 3;
    }
  }
  let darkCount = 0;
  for (const module of dark) darkCount += module;
  return points + 10 * Math.floor(Math.abs(20 * darkCount - 10 * n * n) / (n * n));
}

// ---- Encoding

/**
 * Encodes `data` (a string, as UTF-8, or a Uint8Array) in byte mode.
 * Options: `level` "L" | "M" (default) | "Q" | "H"; `boost` raises the level while the data
 * fits the same version; `mask` 0-7 forces a mask (for tests).
 * Returns `{version, level, mask, size, modules}` (`modules[y * size + x]` is 1 when dark).
 */
export function encode(data, { level = "M", boost = false, mask } = {}) {
  checkLevel(level);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  if (!(bytes instanceof Uint8Array)) throw new QRError("encode takes a string or a Uint8Array");
  let version = 1;
  while (version <= 40 && bytes.length > byteCapacity(version, level)) version++;
  if (version > 40) {
    throw new QRError(`${bytes.length} bytes are too many for a QR code at level ${level} (at most ${byteCapacity(40, level)})`);
  }
  while (boost && LEVELS[level].stronger && bytes.length <= byteCapacity(version, LEVELS[level].stronger)) level = LEVELS[level].stronger;
  const unmasked = functionPatterns(version);
  placeCodewords(unmasked, interleave(dataBits(bytes, version, level), version, level));
  const masked = (m) => {
    const grid = unmasked.copy();
    applyMask(grid, m);
    drawFormat(grid, formatBits(level, m));
    return grid;
  };
  let best;
  if (Number.isInteger(mask) && mask >= 0 && mask < 8) {
    best = { mask, grid: masked(mask) };
  } else {
    // Scored with the format information in place: it is part of what a reader sees.
    for (let m = 0; m < 8; m++) {
      const grid = masked(m), score = penalty(grid.dark, grid.size);
      if (!best || score < best.score) best = { mask: m, grid, score };
    }
  }
  return { version, level, mask: best.mask, size: best.grid.size, modules: best.grid.dark };
}

/**
 * Draws the QR code of `text` on `canvas`: `scale` pixels a module (default 4), a quiet zone
 * of `margin` modules (default 4, the standard's minimum), dark on light; other options as
 * `encode`. Sizes the canvas to fit and returns what `encode` returned.
 */
export function drawQR(canvas, text, { scale = 4, margin = 4, dark = "#000000", light = "#ffffff", ...options } = {}) {
  if (!Number.isInteger(scale) || scale < 1 || scale > 64) throw new QRError("scale is a whole number of pixels, 1 to 64");
  if (!Number.isInteger(margin) || margin < 0 || margin > 64) throw new QRError("margin is a whole number of modules, 0 to 64");
  const code = encode(text, options);
  const side = (code.size + 2 * margin) * scale;
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext("2d");
  context.fillStyle = light;
  context.fillRect(0, 0, side, side);
  context.fillStyle = dark;
  for (let y = 0; y < code.size; y++) {
    for (let x = 0; x < code.size; x++) {
      if (code.modules[y * code.size + x]) context.fillRect((x + margin) * scale, (y + margin) * scale, scale, scale);
    }
  }
  return code;
}

/** A `data:image/png;base64,...` URL of the QR code of `text` (options as `drawQR`). */
export function toPNGDataURL(text, options = {}) {
  const canvas = document.createElement("canvas");
  drawQR(canvas, text, options);
  return canvas.toDataURL("image/png");
}
