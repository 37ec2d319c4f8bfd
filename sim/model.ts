/**
 * Model files: `{"format":"dtca-model","version":1,"grid":{L,rules,boundary},"beta":1,
 *   "stages":[{"bias":[L*L numbers],"edges":[[i,j,w],...],"clamp":[[i,+-1],...]}]}`
 * with cell index i = y*L + x and each undirected edge once. JSON for small models, msgpack for
 * large ones (numeric arrays may be plain lists or {dtype, shape, data} typed arrays).
 *
 * Everything is checked before a run: indices are integers in range (never truncated or wrapped,
 * whatever the dtype), an edge joins two different cells that a wire connects and appears once in
 * either order, a cell is clamped at most once, weights and biases are finite within
 * +-MAX_PARAMETER (so every field stays finite), beta is in (0, MAX_BETA], the rules fit the grid,
 * and a DTM's image shape, time grid and couplings are sound. Errors name the file and the field
 * and show what the file holds.
 */
import { readInputFile, readInputFileAsync, READ_LIMITS } from '../fabric/read.js';
import { unpack } from 'msgpackr';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { makePackr } from '../traces/pack.js';
import { UserError, OptionError } from '../fabric/errors.js';
import { checkDepth, checkMsgpackKeys, kindOf, msgpackProblem, parseJsonText, MAX_DEPTH } from '../fabric/json.js';
import { noteInput } from '../fabric/files.js';
import { resolveRules, checkRules, rulesKey, rulesName, shown, type Rule } from '../fabric/rules.js';
import { wireDirection, buildFabric, type Fabric } from '../fabric/fabric.js';
import { oppositeDirection } from '../fabric/rules.js';
import { emptyPlanes, type Planes } from '../cells/planes.js';
import type { ResolvedConfig } from './config.js';
import { OPTION_NAMES, type ConfigNames } from './config-names.js';
import { uniform, streamKey, Purpose } from '../rng/counter.js';
import { imageSourceOf, parseImageSource, type ImageSource } from './layout.js';
import { CLASSES } from './fmnist.js';

export const MODEL_FORMAT = 'dtca-model';
export const MODEL_VERSION = 1;
/** largest |weight| and |bias| a model may hold (any chip's full scale is far below; fields stay finite) */
export const MAX_PARAMETER = 1e6;
/** largest beta a model (or --beta) may give */
export const MAX_BETA = 1e6;
/** forward-process rates lambda: within [MIN_LAMBDA, MAX_LAMBDA] the couplings J_c stay finite */
export const MIN_LAMBDA = 1e-30;
export const MAX_LAMBDA = 1e30;

export interface StageModel {
  bias: Float64Array;
  /** edges as parallel arrays, in the file's order */
  ei: Int32Array;
  ej: Int32Array;
  ew: Float64Array;
  clampIdx: Int32Array;
  clampVal: Int8Array;
}

/**
 * The denoising part of a model file (`"dtm": {...}`): T stages (stage 0 the cleanest), the
 * forward process, and which cells are visible. time_grid holds t_0..t_T with the last entry
 * null (infinite): the noisiest stage is unconditioned.
 */
export interface DtmSpec {
  T: number;
  time_grid: (number | null)[];
  lambda_image: number;
  lambda_label: number;
  /** image pixel p sits at cell image[p]; label class c copy r at cell label[c * label_copies + r] */
  image: Int32Array;
  label: Int32Array;
  label_copies: number;
  /** [rows, cols] of the image, e.g. [28, 28] */
  image_shape: [number, number];
  /**
   * where the image comes from: binarised 28x28 Fashion-MNIST, pooled by `downscale` (sim/layout.ts);
   * absent in older files (a 784-cell 28x28 image is then Fashion-MNIST itself)
   */
  image_source?: ImageSource;
  /**
   * label guidance: generation with clamped labels multiplies the weights of the wires touching
   * label cells by this (absent: 1). `dtca train` picks it (docs/training.md, "Label guidance").
   */
  label_gain?: number;
}

export interface Model {
  grid: { L: number; rules: Rule[]; boundary: 'open' | 'torus' };
  beta: number;
  stages: StageModel[];
  dtm?: DtmSpec;
  source: string;
  /** seeded random weights made up by dtca (not trained, not read from a file): its energy is not a workload's */
  random_weights?: boolean;
}

/** The forward-process time grid t_k = -ln(1 - k/T), k = 0..T (t_T infinite, stored as null). */
export function timeGrid(T: number): (number | null)[] {
  return Array.from({ length: T + 1 }, (_, k) => (k === T ? null : -Math.log(1 - k / T)));
}

/** A value from a model file in a message: a string in quotes (so "8" is not read as the number 8), escaped; `missing` for none. */
const val = (v: unknown): string => (v === undefined ? 'missing' : typeof v === 'string' ? `"${shown(v)}"` : shown(v));

/** largest label gain (guidance) a model or --label-gain may give */
export const MAX_LABEL_GAIN = 100;

/** Whether v is a label gain: a finite number in [0, MAX_LABEL_GAIN]. */
export function isLabelGain(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_LABEL_GAIN;
}

/** A label gain (isLabelGain); `where` names it in the error. */
export function checkLabelGain(v: unknown, where: string): number {
  if (!isLabelGain(v)) {
    throw new UserError(`${where} = ${val(v)}: must be a number in [0, ${MAX_LABEL_GAIN}]`);
  }
  return v;
}

/**
 * A stage with label guidance: the weights of the wires touching a label cell multiplied by `gain`
 * (a copy; the stage itself when gain is 1). With the label cells clamped, those wires are the
 * class's bias on its neighbours, so the gain sharpens the class evidence the way classifier-free
 * guidance does in diffusion models (docs/training.md, "Label guidance").
 */
export function guidedStage(st: StageModel, label: ArrayLike<number>, gain: number): StageModel {
  if (gain === 1 || label.length === 0) return st;
  const isLabel = new Set<number>(Array.from(label));
  const ew = st.ew.slice();
  for (let e = 0; e < ew.length; e++) if (isLabel.has(st.ei[e]) || isLabel.has(st.ej[e])) ew[e] *= gain;
  return { ...st, ew };
}

/** The model with this label guidance and beta (a gain of 1 is stored as no label_gain). */
export function withGuidance(m: Model, gain: number, beta: number): Model {
  const dtm = { ...m.dtm! };
  if (gain === 1) delete dtm.label_gain;
  else dtm.label_gain = gain;
  return { ...m, beta, dtm };
}

/** J_c = -1/2 ln tanh(lambda dt / 2): the coupling of a visible cell to its input at stage k (0 for the noisiest). */
export function stageCoupling(dtm: Pick<DtmSpec, 'time_grid'>, k: number, lambda: number): number {
  const t0 = dtm.time_grid[k];
  const t1 = dtm.time_grid[k + 1];
  if (t1 === null || t1 === undefined || t0 === null) return 0;
  return -0.5 * Math.log(Math.tanh((lambda * (t1 - t0)) / 2));
}

function parseDtm(raw: unknown, src: string, N: number, T: number): DtmSpec {
  const at = `${src}: dtm`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${at}: must be an object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['T', 'time_grid', 'lambda_image', 'lambda_label', 'image', 'label', 'label_copies', 'image_shape', 'image_source', 'label_gain'].includes(k)) {
      throw new UserError(`${at}.${shown(k)}: unknown key`);
    }
  }
  if (o.T === undefined) throw new UserError(`${at}.T: missing (the model has ${T} stages)`);
  if (o.T !== T) throw new UserError(`${at}.T = ${val(o.T)} but the model has ${T} stages`);
  const tg = o.time_grid ?? timeGrid(T);
  if (!Array.isArray(tg) || tg.length !== T + 1) throw new UserError(`${at}.time_grid: needs T + 1 = ${T + 1} entries`);
  const time_grid = tg.map((v, k) => {
    if (k === T) {
      if (v !== null) throw new UserError(`${at}.time_grid[${T}]: must be null (the last interval is infinite)`);
      return null;
    }
    const x = finiteNumber(v, `${at}.time_grid[${k}]`);
    if (k > 0 && !(x > (tg[k - 1] as number))) throw new UserError(`${at}.time_grid[${k}] = ${shown(x)}: must increase`);
    return x;
  });
  const lam = (key: string) => {
    const v = finiteNumber(o[key], `${at}.${key}`);
    if (!(v >= MIN_LAMBDA && v <= MAX_LAMBDA)) throw new UserError(`${at}.${key} = ${shown(v)}: must be in [${MIN_LAMBDA}, ${MAX_LAMBDA}]`);
    return v;
  };
  const idx = (key: string) => cellIndices(numbers(o[key] ?? [], `${at}.${key}`), N, `${at}.${key}`);
  const image = idx('image');
  const label = idx('label');
  const seen = new Set<number>();
  for (const v of [...image, ...label]) {
    if (seen.has(v)) throw new UserError(`${at}: cell ${v} is listed twice among image and label cells`);
    seen.add(v);
  }
  const copies = o.label_copies ?? (label.length > 0 ? 10 : 1);
  if (typeof copies !== 'number' || !Number.isInteger(copies) || copies < 1 || label.length % copies !== 0) {
    throw new UserError(`${at}.label_copies = ${val(copies)}: must be a positive integer dividing the ${label.length} label cells`);
  }
  let shape = o.image_shape as unknown;
  if (shape === undefined || shape === null) {
    const side = Math.max(1, Math.ceil(Math.sqrt(image.length)));
    shape = [Math.max(1, Math.ceil(image.length / side)), side];
  }
  const sh = shape as number[];
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !sh.every((v) => Number.isSafeInteger(v) && v >= 1) ||
    sh[0] * sh[1] < image.length ||
    sh[0] * sh[1] > Math.max(N, 1)
  ) {
    throw new UserError(`${at}.image_shape = ${shown(shape)}: [rows, cols], positive integers with ${image.length} <= rows*cols <= ${N} (the image's cells)`);
  }
  const spec: DtmSpec = {
    T,
    time_grid,
    lambda_image: lam('lambda_image'),
    lambda_label: lam('lambda_label'),
    image,
    label,
    label_copies: copies,
    image_shape: [sh[0], sh[1]],
  };
  if (o.image_source !== undefined) spec.image_source = parseImageSource(o.image_source, `${at}.image_source`, image.length, spec.image_shape);
  if (o.label_gain !== undefined) spec.label_gain = checkLabelGain(o.label_gain, `${at}.label_gain`);
  for (let k = 0; k < T; k++) {
    for (const key of ['lambda_image', 'lambda_label'] as const) {
      const j = stageCoupling(spec, k, spec[key]);
      if (!Number.isFinite(j))
        throw new UserError(`${at}: time_grid and ${key} give stage ${k} an infinite coupling J_c (the interval t_${k + 1} - t_${k} is too short)`);
    }
  }
  return spec;
}

const DTYPES: Record<string, { new (b: ArrayBuffer): ArrayLike<number> & { BYTES_PER_ELEMENT: number } }> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
};

/** A numeric array from a JSON list or a {dtype, shape, data} typed array. */
export function numbers(v: unknown, where: string): ArrayLike<number> {
  if (Array.isArray(v)) return v as number[];
  if (v && typeof v === 'object' && 'dtype' in v && 'data' in v) {
    const o = v as { dtype: unknown; shape?: unknown; data: Uint8Array };
    // an own key of DTYPES only: "toString" or "__proto__" must not find Object.prototype's members
    const T = typeof o.dtype === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, o.dtype) ? DTYPES[o.dtype] : undefined;
    if (!T)
      throw new UserError(
        `${where}: unsupported dtype ${typeof o.dtype === 'string' ? `"${shown(o.dtype, 30)}"` : `(${typeof o.dtype})`} (${Object.keys(DTYPES).join(', ')})`,
      );
    if (!(o.data instanceof Uint8Array)) throw new UserError(`${where}: typed array data must be bytes`);
    const size = T.prototype.BYTES_PER_ELEMENT;
    if (o.data.byteLength % size !== 0) {
      throw new UserError(`${where}: ${o.data.byteLength} bytes is not a whole number of ${o.dtype}`);
    }
    const n = o.data.byteLength / size;
    if (o.shape !== undefined) {
      const sh = o.shape;
      if (!Array.isArray(sh) || sh.length === 0 || sh.length > 8 || !sh.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new UserError(`${where}: shape ${shown(sh, 40)}: a list of integers >= 0 (at most 8)`);
      }
      const count = (sh as number[]).reduce((a, d) => a * d, 1);
      if (count !== n) throw new UserError(`${where}: shape ${shown(sh, 40)} holds ${count} values, the data ${n}`);
    }
    const copy = new Uint8Array(o.data); // copy: msgpack data may sit at an odd offset
    return new T(copy.buffer);
  }
  throw new UserError(`${where}: expected a list of numbers`);
}

function finiteNumber(v: unknown, where: string): number {
  if (v === undefined) throw new UserError(`${where}: missing (a finite number)`);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where}: ${val(v)} is not a finite number`);
  return v;
}

/** A weight or bias: finite, within +-MAX_PARAMETER. */
function parameter(v: unknown, where: string): number {
  const x = finiteNumber(v, where);
  if (Math.abs(x) > MAX_PARAMETER) throw new UserError(`${where}: ${shown(x)} is beyond +-${MAX_PARAMETER}`);
  return x;
}

/** parameter() over a list into out; the message (built only on failure) names where[n]. */
function parameters(a: ArrayLike<unknown>, out: Float64Array, where: (n: number) => string): void {
  for (let n = 0; n < a.length; n++) {
    const v = a[n];
    // the common case without building a message per value (a model holds ~10^5 of them)
    if (typeof v === 'number' && Math.abs(v) <= MAX_PARAMETER) out[n] = v;
    else out[n] = parameter(v, where(n));
  }
}

/** Cell indices checked as given (never truncated or wrapped by a typed array): integers in 0..N-1. */
function cellIndices(a: ArrayLike<number>, N: number, where: string): Int32Array {
  const out = new Int32Array(a.length);
  for (let n = 0; n < a.length; n++) {
    const v = a[n];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= N)
      throw new UserError(`${where}[${n}]: cell ${val(v)} is not an integer in 0..${N - 1}`);
    out[n] = v;
  }
  return out;
}

function parseStage(raw: unknown, s: number, L: number, src: string): StageModel {
  const at = `${src}: stages[${s}]`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${at}: must be an object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['bias', 'edges', 'clamp'].includes(k)) throw new UserError(`${at}.${shown(k)}: unknown key`);
  }
  const N = L * L;
  const b = numbers(o.bias ?? [], `${at}.bias`);
  if (b.length !== N) throw new UserError(`${at}.bias: has ${b.length} values, the grid has L*L = ${N} cells`);
  const bias = new Float64Array(N);
  parameters(b, bias, (i) => `${at}.bias[${i}]`);
  let ei: Int32Array, ej: Int32Array, ew: Float64Array;
  const edges = o.edges ?? [];
  if (Array.isArray(edges)) {
    ei = new Int32Array(edges.length);
    ej = new Int32Array(edges.length);
    ew = new Float64Array(edges.length);
    edges.forEach((e, n) => {
      if (!Array.isArray(e) || e.length !== 3) throw new UserError(`${at}.edges[${n}] = ${shown(e)}: expected [i, j, w]`);
      const ij = cellIndices([e[0], e[1]], N, `${at}.edges[${n}]`); // edges[n][0] is i, edges[n][1] is j
      ei[n] = ij[0];
      ej[n] = ij[1];
      ew[n] = parameter(e[2], `${at}.edges[${n}] weight`);
    });
  } else if (edges && typeof edges === 'object') {
    const eo = edges as Record<string, unknown>;
    for (const k of Object.keys(eo)) if (!['i', 'j', 'w'].includes(k)) throw new UserError(`${at}.edges.${shown(k)}: unknown key (expected i, j, w)`);
    const I = numbers(eo.i, `${at}.edges.i`);
    const J = numbers(eo.j, `${at}.edges.j`);
    const W = numbers(eo.w, `${at}.edges.w`);
    if (I.length !== J.length || I.length !== W.length) throw new UserError(`${at}.edges: i, j, w differ in length (${I.length}, ${J.length}, ${W.length})`);
    ei = cellIndices(I, N, `${at}.edges.i`);
    ej = cellIndices(J, N, `${at}.edges.j`);
    ew = new Float64Array(W.length);
    parameters(W, ew, (n) => `${at}.edges.w[${n}]`);
  } else {
    throw new UserError(`${at}.edges: expected a list of [i, j, w] (or {i, j, w} arrays)`);
  }
  for (let n = 0; n < ei.length; n++) {
    if (ei[n] === ej[n]) throw new UserError(`${at}.edges[${n}] = (${ei[n]}, ${ej[n]}): joins a cell to itself`);
  }
  const clamp = (o.clamp ?? []) as unknown;
  if (!Array.isArray(clamp)) throw new UserError(`${at}.clamp = ${shown(clamp)}: expected a list of [cell, spin]`);
  const clampIdx = new Int32Array(clamp.length);
  const clampVal = new Int8Array(clamp.length);
  const clamped = new Map<number, number>();
  clamp.forEach((c, n) => {
    if (!Array.isArray(c) || c.length !== 2) throw new UserError(`${at}.clamp[${n}] = ${shown(c)}: expected [cell, spin]`);
    const i = cellIndices([c[0]], N, `${at}.clamp[${n}]`)[0];
    const v = c[1];
    if (v !== 1 && v !== -1) throw new UserError(`${at}.clamp[${n}]: spin must be +1 or -1, got ${shown(v)}`);
    const prev = clamped.get(i);
    if (prev !== undefined) {
      throw new UserError(
        `${at}.clamp[${n}]: cell ${i} is clamped again (clamp[${prev}] already holds it${clampVal[prev] !== v ? ' at the opposite spin' : ''})`,
      );
    }
    clamped.set(i, n);
    clampIdx[n] = i;
    clampVal[n] = v;
  });
  return { bias, ei, ej, ew, clampIdx, clampVal };
}

/** A model from its file's object (JSON.parse of a .json model); `src` names it in errors (default "model"). */
export function parseModel(raw: unknown, src = 'model'): Model {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array)
    throw new UserError(`${src}: a model must be an object, not ${kindOf(raw)}`);
  const o = raw as Record<string, unknown>;
  if (o.format !== MODEL_FORMAT)
    throw new UserError(`${src}: not a dtca model (format is ${o.format === undefined ? 'missing' : shown(o.format)}, expected "${MODEL_FORMAT}")`);
  if (o.version === undefined) throw new UserError(`${src}: version: missing (this dtca reads version ${MODEL_VERSION})`);
  if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 1) {
    throw new UserError(`${src}: version = ${shown(o.version)}: not a format version (an integer >= 1; this dtca reads ${MODEL_VERSION})`);
  }
  if (o.version > MODEL_VERSION) throw new UserError(`${src}: model format version ${o.version} is newer than this dtca reads (${MODEL_VERSION})`);
  const g = o.grid as Record<string, unknown> | undefined;
  if (!g || typeof g !== 'object' || Array.isArray(g)) throw new UserError(`${src}: grid: missing ({"L":..,"rules":..,"boundary":..})`);
  for (const k of Object.keys(g)) if (!['L', 'rules', 'boundary'].includes(k)) throw new UserError(`${src}: grid.${shown(k)}: unknown key`);
  const L = g.L;
  if (L === undefined) throw new UserError(`${src}: grid.L: missing (the grid's side, an integer in 2..46340)`);
  if (typeof L !== 'number' || !Number.isInteger(L) || L < 2 || L > 46340) throw new UserError(`${src}: grid.L = ${val(L)}: must be an integer in 2..46340`);
  if (g.boundary === undefined) throw new UserError(`${src}: grid.boundary: missing ("open" or "torus")`);
  if (g.boundary !== 'open' && g.boundary !== 'torus') throw new UserError(`${src}: grid.boundary = ${val(g.boundary)}: must be "open" or "torus"`);
  if (g.rules === undefined) throw new UserError(`${src}: grid.rules: missing (a preset such as "G12" or a list like [[0,1],[4,1]])`);
  const rules = resolveRules(g.rules, `${src}: grid.rules`);
  checkRules(rules, L, g.boundary, `${src}: grid.rules`, `${src}: grid.L`);
  const beta = o.beta === undefined ? 1 : finiteNumber(o.beta, `${src}: beta`);
  if (!(beta > 0 && beta <= MAX_BETA)) throw new UserError(`${src}: beta = ${shown(beta)}: must be in (0, ${MAX_BETA}]`);
  if (!Array.isArray(o.stages) || o.stages.length === 0) throw new UserError(`${src}: stages: at least one stage is needed`);
  const stages = o.stages.map((s, n) => parseStage(s, n, L, src));
  const dtm = o.dtm === undefined ? undefined : parseDtm(o.dtm, src, L * L, stages.length);
  for (const k of Object.keys(o)) {
    if (!['format', 'version', 'grid', 'beta', 'stages', 'dtm'].includes(k)) throw new UserError(`${src}: ${shown(k)}: unknown key`);
  }
  return { grid: { L, rules, boundary: g.boundary }, beta, stages, dtm, source: src };
}

export function readModel(path: string, opts: { stop?: () => boolean } = {}): Model {
  noteInput(path); // no output of this command may replace it
  // a regular file of bounded size, read in chunks that a signal can end (fabric/read.ts)
  return modelFromBytes(readInputFile(path, { what: 'model file', max: READ_LIMITS.model, stop: opts.stop }), path);
}

/** readModel giving the event loop a turn between chunks of the read: a signal handler on this thread sets what `stop` reads. */
export async function readModelAsync(path: string, opts: { stop?: () => boolean } = {}): Promise<Model> {
  noteInput(path);
  return modelFromBytes(await readInputFileAsync(path, { what: 'model file', max: READ_LIMITS.model, stop: opts.stop }), path);
}

/** A model file's bytes (JSON or msgpack) parsed and checked. */
function modelFromBytes(buf: Buffer, path: string): Model {
  let raw: unknown;
  const first = buf.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  // a msgpack model begins with a map (0x80..0x8f, 0xde, 0xdf): a file that begins with text is JSON
  if (first !== undefined && first < 0x80) {
    raw = parseJsonText(buf.toString('utf8'), path);
    manifestGiven(raw, path);
    if (hasSum(raw)) throw new UserError(`${path}: sha256: a JSON model carries no checksum (only msgpack model files do); remove the key`);
  } else {
    try {
      raw = unpack(buf);
    } catch (e) {
      const deep = e instanceof RangeError;
      throw new UserError(
        `${path}: ${deep ? `nested deeper than ${MAX_DEPTH} levels; not a dtca file` : `not a model file (neither JSON nor valid msgpack: ${msgpackProblem(e)})`}`,
      );
    }
    checkDepth(raw, path);
    checkMsgpackKeys(buf, path);
    checkModelSum(raw, buf, path);
  }
  return parseModel(raw, path);
}

/**
 * A msgpack model file dtca or dtca_trace writes ends with its checksum: the key "sha256" (the
 * map's last) and the SHA-256 of every byte before that key, in 64 hex digits (a str8). A file
 * without the key (written before checksums, or by another tool) is read unchecked.
 */
const SUM_HEAD = Uint8Array.of(0xa6, ...Buffer.from('sha256', 'latin1'), 0xd9, 64);
const SUM_BYTES = SUM_HEAD.length + 64;

/** the checksum entry at the end of `b` is in place: where it starts, or -1 */
function sumEntryAt(b: Uint8Array): number {
  const at = b.length - SUM_BYTES;
  if (at < 0) return -1;
  for (let i = 0; i < SUM_HEAD.length; i++) if (b[at + i] !== SUM_HEAD[i]) return -1;
  return at;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * A model's manifest (MODEL.manifest.json, which dtca train and model tune write beside the model)
 * given where the model belongs: said so, with the model file beside it. `dtca run --model
 * configs/models/fmnist-t8.manifest.json` said "sha256: a JSON model carries no checksum ...;
 * remove the key", telling the user to edit the shipped manifest.
 */
function manifestGiven(raw: unknown, path: string): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  const o = raw as Record<string, unknown>;
  // a model manifest names its model and describes its grid or stages (a run's manifest.json names a model too, and neither)
  if (o.format !== undefined || 'stages' in o || typeof o.model !== 'string' || !('T' in o || 'grid' in o)) return;
  const beside = join(dirname(path), basename(o.model));
  const model = existsSync(beside) ? beside : o.model;
  throw new UserError(`${path}: a model's manifest (written beside a model by dtca train or model tune), not a model file; give the model itself: ${model}`);
}

const hasSum = (raw: unknown): raw is Record<string, unknown> => raw !== null && typeof raw === 'object' && 'sha256' in raw;

/** The checksum of a msgpack model checked against its bytes, then dropped from `raw` (none: nothing to check). */
function checkModelSum(raw: unknown, buf: Uint8Array, path: string): void {
  if (!hasSum(raw)) return;
  const sum = raw.sha256;
  if (typeof sum !== 'string' || !/^[0-9a-f]{64}$/.test(sum))
    throw new UserError(`${path}: sha256 = ${shown(sum)}: expected 64 lower-case hex digits (the file's checksum)`);
  const at = sumEntryAt(buf);
  if (at < 0 || Buffer.from(buf.buffer, buf.byteOffset + at + SUM_HEAD.length, 64).toString('latin1') !== sum)
    throw new UserError(`${path}: sha256: the checksum must be the file's last entry; the file is damaged or was rewritten by another tool`);
  if (sha256Hex(buf.subarray(0, at)) !== sum) throw new UserError(`${path}: checksum mismatch: the model changed after it was written (a damaged copy?)`);
  delete raw.sha256;
}

/**
 * A model file's bytes: JSON text (plain lists) or msgpack (typed arrays) ending with its checksum
 * (checkModelSum), as every dtca command writes model files.
 */
export function modelFileBytes(m: Model, json: boolean): Uint8Array {
  const obj = modelToObject(m, json);
  if (json) return Buffer.from(JSON.stringify(obj) + '\n', 'utf8');
  obj.sha256 = '0'.repeat(64);
  const b = makePackr().pack(obj);
  const at = sumEntryAt(b);
  if (at < 0) throw new Error("modelFileBytes: the checksum entry did not come out as the file's last");
  b.set(Buffer.from(sha256Hex(b.subarray(0, at)), 'latin1'), at + SUM_HEAD.length);
  return b;
}

/**
 * Check the model's grid against the config's fabric, naming in one line every dimension that
 * differs (L, boundary, rules: both values of each) and how to change the config to the model's
 * (`names`: resolveConfig's `sets` for a library caller, --set for the command line). dtca run,
 * probe, eval MODEL and model tune all refuse a grid the command line names with this line.
 */
export function checkModelFitsFabric(m: Model, cfg: ResolvedConfig, rules: Rule[], names: ConfigNames = OPTION_NAMES): void {
  const f = cfg.fabric;
  // every dimension together, with one hint that changes all of them (one at a time took a refusal
  // each; L was named alone before the others), the rules by their preset's name (G8) when they are one
  const differ: string[] = [];
  const gives: string[] = [];
  if (m.grid.L !== f.L) {
    differ.push(`grid.L = ${m.grid.L} but the config's fabric.L = ${f.L}`);
    gives.push(names.give(`fabric.L=${m.grid.L}`));
  }
  if (m.grid.boundary !== f.boundary) {
    differ.push(`grid.boundary = ${m.grid.boundary} but the config's fabric.boundary = ${f.boundary}`);
    gives.push(names.give(`fabric.boundary=${m.grid.boundary}`));
  }
  if (rulesKey(m.grid.rules) !== rulesKey(rules)) {
    const want = rulesName(m.grid.rules);
    differ.push(`grid.rules = ${want} but the config's fabric.rules = ${rulesName(rules)}`);
    gives.push(names.give(`fabric.rules=${want}`));
  }
  if (differ.length) throw new UserError(`${m.source}: ${differ.join(', and ')} (use ${gives.join(' ')} or a config with that grid)`);
}

function notAWire(f: Fabric, where: string, n: number, i: number, j: number): UserError {
  const L = f.L;
  return new UserError(
    `${where}: edges[${n}] = (${i}, ${j}) joins (x=${i % L}, y=${Math.floor(i / L)}) and (x=${j % L}, y=${Math.floor(j / L)}), which no wire of the fabric connects`,
  );
}

/**
 * The wire direction (from ei[n]) of each of a stage's edges, checked: each edge a wire of the
 * fabric, and each wire given once in either order. `seen` (N x D, zeroed) is scratch.
 */
function edgeDirections(f: Fabric, st: StageModel, where: string, seen = new Uint8Array(f.N * f.D)): Int32Array {
  const D = f.D;
  const dir = new Int32Array(st.ei.length);
  for (let n = 0; n < st.ei.length; n++) {
    const i = st.ei[n];
    const j = st.ej[n];
    const k = wireDirection(f, i, j);
    if (k < 0) throw notAWire(f, where, n, i, j);
    if (seen[i * D + k]) throw new UserError(`${where}: edges[${n}] = (${i}, ${j}) appears twice, in either order (give each undirected edge once)`);
    seen[i * D + k] = 1;
    seen[j * D + oppositeDirection(k)] = 1; // (j, i) is the same edge
    dir[n] = k;
  }
  return dir;
}

/**
 * Every stage's edges against a fabric, before anything runs: each edge a wire, and each wire
 * given once in either order (the check stagePlanes makes while programming one stage).
 */
export function checkModelWires(f: Fabric, m: Model): void {
  const seen = new Uint8Array(f.N * f.D); // one scratch for every stage (N x D bytes each: large grids)
  m.stages.forEach((st, s) => {
    if (s > 0) seen.fill(0);
    edgeDirections(f, st, `${m.source}: stages[${s}]`, seen);
  });
}

/** The fabric of the model's own grid (to check a model without a config, e.g. model info). */
export function modelFabric(m: Model): Fabric {
  return buildFabric({
    L: m.grid.L,
    rules: m.grid.rules,
    boundary: m.grid.boundary,
    tileSize: m.grid.L,
    linkLatencyCycles: 0,
    names: { L: `${m.source}: grid.L`, rules: `${m.source}: grid.rules` },
  });
}

/** Map a stage's edge list onto the fabric's (cell, direction) weight planes. */
export function stagePlanes(f: Fabric, st: StageModel, where: string): Planes {
  const pl = emptyPlanes(f);
  pl.bias.set(st.bias);
  const D = f.D;
  const dir = edgeDirections(f, st, where);
  for (let n = 0; n < st.ei.length; n++) {
    const k = dir[n];
    pl.w[st.ei[n] * D + k] = st.ew[n];
    pl.w[st.ej[n] * D + oppositeDirection(k)] = st.ew[n];
  }
  for (let n = 0; n < st.clampIdx.length; n++) pl.clamp[st.clampIdx[n]] = 1;
  pl.programmed = st.ei.length + f.N;
  return pl;
}

/**
 * A stage with seeded random parameters on every wire of the fabric: weights U(-scale, scale),
 * biases U(-biasScale, biasScale), from the counter streams (seed, model, stream) and (.., stream+1).
 */
export function randomStage(f: Fabric, seed: number, stream: number, scale: number, biasScale: number): StageModel {
  const kW = streamKey(seed, Purpose.model, stream);
  const kB = streamKey(seed, Purpose.model, stream + 1);
  const bias = new Float64Array(f.N);
  for (let i = 0; i < f.N; i++) bias[i] = biasScale * (2 * uniform(kB, i) - 1);
  // typed arrays sized up front: a 4096 x 4096 G12 fabric has 100 million wires
  const E = f.wires;
  const ei = new Int32Array(E);
  const ej = new Int32Array(E);
  const ew = new Float64Array(E);
  let n = 0;
  for (let i = 0; i < f.N; i++) {
    for (let k = 0; k < f.D; k++) {
      const j = f.nbr[i * f.D + k];
      if (j < f.N && j > i) {
        ew[n] = scale * (2 * uniform(kW, n) - 1);
        ei[n] = i;
        ej[n] = j;
        n++;
      }
    }
  }
  return { bias, ei, ej, ew, clampIdx: new Int32Array(0), clampVal: new Int8Array(0) };
}

/** The default Boltzmann-machine workload: a seeded random-weight model on every wire of the fabric. */
export function randomModel(f: Fabric, seed: number, scale: number, biasScale: number): Model {
  // a library caller's values, checked as newDtmModel checks its own (NaN weights would fail deep in the run)
  if (!Number.isSafeInteger(seed) || seed < 0) throw new OptionError('seed', seed, 'must be an integer >= 0');
  for (const [name, v] of [
    ['scale', scale],
    ['biasScale', biasScale],
  ] as const) {
    if (!(Number.isFinite(v) && v >= 0 && v <= MAX_PARAMETER)) throw new OptionError(name, v, `must be a number in [0, ${MAX_PARAMETER}]`);
  }
  return {
    grid: { L: f.L, rules: f.rules, boundary: f.boundary },
    beta: 1,
    stages: [randomStage(f, seed, 0, scale, biasScale)],
    source: `random model (seed ${seed}, weights U(-${scale}, ${scale}))`,
    random_weights: scale > 0,
  };
}

/** A typed array as msgpack-friendly {dtype, shape, data}. */
export function typed(a: Float64Array | Float32Array | Int32Array | Uint8Array | Int8Array): { dtype: string; shape: number[]; data: Uint8Array } {
  const dtype =
    a instanceof Float64Array
      ? 'float64'
      : a instanceof Float32Array
        ? 'float32'
        : a instanceof Int32Array
          ? 'int32'
          : a instanceof Int8Array
            ? 'int8'
            : 'uint8';
  return { dtype, shape: [a.length], data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

/** The plain object a model file holds (msgpack: typed arrays; JSON: plain lists). */
export function modelToObject(m: Model, forJson: boolean): Record<string, unknown> {
  const arr = (a: Float64Array | Int32Array | Int8Array) => (forJson ? Array.from(a) : typed(a));
  const out: Record<string, unknown> = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    grid: m.grid,
    beta: m.beta,
    stages: m.stages.map((st) => ({
      bias: arr(st.bias),
      edges: { i: arr(st.ei), j: arr(st.ej), w: arr(st.ew) },
      clamp: Array.from(st.clampIdx, (i, n) => [i, st.clampVal[n]]),
    })),
  };
  if (m.dtm) out.dtm = { ...m.dtm, image: arr(m.dtm.image), label: arr(m.dtm.label) };
  return out;
}

/** A Fashion-MNIST DTM: a Fashion-MNIST image (28x28, or pooled: sim/layout.ts) and 10 classes of label cells, what the quality classifier can judge. */
export function fmnistLayout(m: Model): boolean {
  const d = m.dtm;
  return Boolean(d && imageSourceOf(d) && d.label_copies > 0 && d.label.length === CLASSES * d.label_copies);
}
