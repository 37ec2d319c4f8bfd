/**
 * Model files: `{"format":"dtca-model","version":1,"grid":{L,rules,boundary},"beta":1,
 *   "stages":[{"bias":[L*L numbers],"edges":[[i,j,w],...],"clamp":[[i,+-1],...]}]}`
 * with cell index i = y*L + x and each undirected edge once. JSON for small models, msgpack for
 * large ones (numeric arrays may be plain lists or {dtype, shape, data} typed arrays).
 */
import { readFileSync } from 'node:fs';
import { unpack } from 'msgpackr';
import { UserError } from '../fabric/errors.js';
import { resolveRules, type Rule } from '../fabric/rules.js';
import { wireDirection, type Fabric } from '../fabric/fabric.js';
import { oppositeDirection } from '../fabric/rules.js';
import { emptyPlanes, type Planes } from '../cells/planes.js';
import type { ResolvedConfig } from './config.js';
import { uniform, streamKey, Purpose } from '../rng/counter.js';

export const MODEL_FORMAT = 'dtca-model';
export const MODEL_VERSION = 1;

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
}

export interface Model {
  grid: { L: number; rules: Rule[]; boundary: 'open' | 'torus' };
  beta: number;
  stages: StageModel[];
  dtm?: DtmSpec;
  source: string;
}

/** The forward-process time grid t_k = -ln(1 - k/T), k = 0..T (t_T infinite, stored as null). */
export function timeGrid(T: number): (number | null)[] {
  return Array.from({ length: T + 1 }, (_, k) => (k === T ? null : -Math.log(1 - k / T)));
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
    if (!['T', 'time_grid', 'lambda_image', 'lambda_label', 'image', 'label', 'label_copies', 'image_shape'].includes(k)) {
      throw new UserError(`${at}.${k}: unknown key`);
    }
  }
  if (o.T !== T) throw new UserError(`${at}.T = ${String(o.T)} but the model has ${T} stages`);
  const tg = o.time_grid ?? timeGrid(T);
  if (!Array.isArray(tg) || tg.length !== T + 1) throw new UserError(`${at}.time_grid: needs T + 1 = ${T + 1} entries`);
  const time_grid = tg.map((v, k) => {
    if (k === T) {
      if (v !== null) throw new UserError(`${at}.time_grid[${T}]: must be null (the last interval is infinite)`);
      return null;
    }
    const x = finiteNumber(v, `${at}.time_grid[${k}]`);
    if (k > 0 && x <= (tg[k - 1] as number)) throw new UserError(`${at}.time_grid[${k}]: must increase`);
    return x;
  });
  const lam = (key: string) => {
    const v = finiteNumber(o[key], `${at}.${key}`);
    if (v <= 0) throw new UserError(`${at}.${key}: must be > 0`);
    return v;
  };
  const idx = (key: string) => {
    const a = numbers(o[key] ?? [], `${at}.${key}`);
    const out = Int32Array.from(a);
    out.forEach((v, n) => {
      if (!Number.isInteger(a[n]) || v < 0 || v >= N) throw new UserError(`${at}.${key}[${n}]: cell ${a[n]} outside 0..${N - 1}`);
    });
    return out;
  };
  const image = idx('image');
  const label = idx('label');
  const seen = new Set<number>();
  for (const v of [...image, ...label]) {
    if (seen.has(v)) throw new UserError(`${at}: cell ${v} is listed twice among image and label cells`);
    seen.add(v);
  }
  const copies = o.label_copies ?? (label.length > 0 ? 10 : 1);
  if (typeof copies !== 'number' || !Number.isInteger(copies) || copies < 1 || label.length % copies !== 0) {
    throw new UserError(`${at}.label_copies: must be a positive integer dividing the ${label.length} label cells`);
  }
  let shape = o.image_shape as [number, number] | undefined;
  if (shape === undefined || shape === null) {
    const side = Math.ceil(Math.sqrt(image.length));
    shape = [Math.ceil(image.length / side), side];
  }
  if (!Array.isArray(shape) || shape.length !== 2 || shape[0] * shape[1] < image.length) {
    throw new UserError(`${at}.image_shape: [rows, cols] with rows*cols >= ${image.length} image cells`);
  }
  return {
    T,
    time_grid,
    lambda_image: lam('lambda_image'),
    lambda_label: lam('lambda_label'),
    image,
    label,
    label_copies: copies,
    image_shape: [shape[0], shape[1]],
  };
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
    const o = v as { dtype: string; data: Uint8Array };
    const T = DTYPES[o.dtype];
    if (!T) throw new UserError(`${where}: unsupported dtype "${o.dtype}"`);
    if (!(o.data instanceof Uint8Array)) throw new UserError(`${where}: typed array data must be bytes`);
    if (o.data.byteLength % T.prototype.BYTES_PER_ELEMENT !== 0) {
      throw new UserError(`${where}: ${o.data.byteLength} bytes is not a whole number of ${o.dtype}`);
    }
    const copy = new Uint8Array(o.data); // copy: msgpack data may sit at an odd offset
    return new T(copy.buffer);
  }
  throw new UserError(`${where}: expected a list of numbers`);
}

function finiteNumber(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where}: ${String(v)} is not a finite number`);
  return v;
}

function parseStage(raw: unknown, s: number, L: number, src: string): StageModel {
  const at = `${src}: stages[${s}]`;
  if (!raw || typeof raw !== 'object') throw new UserError(`${at}: must be an object`);
  const o = raw as Record<string, unknown>;
  const N = L * L;
  const b = numbers(o.bias ?? [], `${at}.bias`);
  if (b.length !== N) throw new UserError(`${at}.bias: has ${b.length} values, the grid has L*L = ${N} cells`);
  const bias = new Float64Array(N);
  for (let i = 0; i < N; i++) bias[i] = finiteNumber(b[i], `${at}.bias[${i}]`);
  let ei: Int32Array, ej: Int32Array, ew: Float64Array;
  const edges = o.edges ?? [];
  if (Array.isArray(edges)) {
    ei = new Int32Array(edges.length);
    ej = new Int32Array(edges.length);
    ew = new Float64Array(edges.length);
    edges.forEach((e, n) => {
      if (!Array.isArray(e) || e.length !== 3) throw new UserError(`${at}.edges[${n}]: expected [i, j, w]`);
      ei[n] = finiteNumber(e[0], `${at}.edges[${n}][0]`);
      ej[n] = finiteNumber(e[1], `${at}.edges[${n}][1]`);
      ew[n] = finiteNumber(e[2], `${at}.edges[${n}] weight`);
      if (ei[n] !== e[0] || ej[n] !== e[1]) throw new UserError(`${at}.edges[${n}]: cell indices must be integers`);
    });
  } else if (edges && typeof edges === 'object') {
    const eo = edges as Record<string, unknown>;
    const I = numbers(eo.i, `${at}.edges.i`);
    const J = numbers(eo.j, `${at}.edges.j`);
    const W = numbers(eo.w, `${at}.edges.w`);
    if (I.length !== J.length || I.length !== W.length) throw new UserError(`${at}.edges: i, j, w differ in length`);
    ei = Int32Array.from(I);
    ej = Int32Array.from(J);
    ew = new Float64Array(W.length);
    for (let n = 0; n < W.length; n++) ew[n] = finiteNumber(W[n], `${at}.edges.w[${n}]`);
  } else {
    throw new UserError(`${at}.edges: expected a list of [i, j, w]`);
  }
  for (let n = 0; n < ei.length; n++) {
    if (ei[n] < 0 || ei[n] >= N || ej[n] < 0 || ej[n] >= N) {
      throw new UserError(`${at}.edges[${n}] = (${ei[n]}, ${ej[n]}): cell index outside 0..${N - 1}`);
    }
  }
  const clamp = (o.clamp ?? []) as unknown;
  if (!Array.isArray(clamp)) throw new UserError(`${at}.clamp: expected a list of [cell, spin]`);
  const clampIdx = new Int32Array(clamp.length);
  const clampVal = new Int8Array(clamp.length);
  clamp.forEach((c, n) => {
    if (!Array.isArray(c) || c.length !== 2) throw new UserError(`${at}.clamp[${n}]: expected [cell, spin]`);
    const i = c[0];
    const v = c[1];
    if (!Number.isInteger(i) || i < 0 || i >= N) throw new UserError(`${at}.clamp[${n}]: cell ${i} outside 0..${N - 1}`);
    if (v !== 1 && v !== -1) throw new UserError(`${at}.clamp[${n}]: spin must be +1 or -1, got ${v}`);
    clampIdx[n] = i;
    clampVal[n] = v;
  });
  for (const k of Object.keys(o)) {
    if (!['bias', 'edges', 'clamp'].includes(k)) throw new UserError(`${at}.${k}: unknown key`);
  }
  return { bias, ei, ej, ew, clampIdx, clampVal };
}

export function parseModel(raw: unknown, src: string): Model {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${src}: a model must be an object`);
  const o = raw as Record<string, unknown>;
  if (o.format !== MODEL_FORMAT) throw new UserError(`${src}: not a dtca model (format is ${JSON.stringify(o.format)}, expected "${MODEL_FORMAT}")`);
  if (typeof o.version !== 'number' || o.version > MODEL_VERSION) {
    throw new UserError(`${src}: model format version ${String(o.version)} is newer than this dtca reads (${MODEL_VERSION})`);
  }
  const g = o.grid as Record<string, unknown> | undefined;
  if (!g || typeof g !== 'object') throw new UserError(`${src}: grid: missing ({"L":..,"rules":..,"boundary":..})`);
  const L = g.L;
  if (typeof L !== 'number' || !Number.isInteger(L) || L < 2) throw new UserError(`${src}: grid.L: must be an integer >= 2`);
  if (g.boundary !== 'open' && g.boundary !== 'torus') throw new UserError(`${src}: grid.boundary: must be "open" or "torus"`);
  const rules = resolveRules(g.rules as string | Rule[], `${src}: grid.rules`);
  const beta = o.beta === undefined ? 1 : finiteNumber(o.beta, `${src}: beta`);
  if (!Array.isArray(o.stages) || o.stages.length === 0) throw new UserError(`${src}: stages: at least one stage is needed`);
  const stages = o.stages.map((s, n) => parseStage(s, n, L, src));
  const dtm = o.dtm === undefined ? undefined : parseDtm(o.dtm, src, L * L, stages.length);
  for (const k of Object.keys(o)) {
    if (!['format', 'version', 'grid', 'beta', 'stages', 'dtm'].includes(k)) throw new UserError(`${src}: ${k}: unknown key`);
  }
  return { grid: { L, rules, boundary: g.boundary }, beta, stages, dtm, source: src };
}

export function readModel(path: string): Model {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read model (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  const first = buf.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (first === 0x7b) {
    try {
      raw = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
    }
  } else {
    try {
      raw = unpack(buf);
    } catch (e) {
      throw new UserError(`${path}: neither JSON nor valid msgpack (${(e as Error).message})`);
    }
  }
  return parseModel(raw, path);
}

/** Check the model's grid against the config's fabric, naming the first dimension that differs. */
export function checkModelFitsFabric(m: Model, cfg: ResolvedConfig, rules: Rule[]): void {
  const f = cfg.fabric;
  if (m.grid.L !== f.L) {
    throw new UserError(`${m.source}: grid.L = ${m.grid.L} but the config's fabric.L = ${f.L} (use --set fabric.L=${m.grid.L} or a config with that grid)`);
  }
  if (m.grid.boundary !== f.boundary) {
    throw new UserError(`${m.source}: grid.boundary = ${m.grid.boundary} but the config's fabric.boundary = ${f.boundary} (use --set fabric.boundary=${m.grid.boundary})`);
  }
  const key = (r: Rule[]) => r.map(([a, b]) => `(${a},${b})`).sort().join('');
  if (key(m.grid.rules) !== key(rules)) {
    throw new UserError(`${m.source}: grid.rules = ${JSON.stringify(m.grid.rules)} but the config's fabric.rules = ${JSON.stringify(rules)}`);
  }
}

/** Map a stage's edge list onto the fabric's (cell, direction) weight planes. */
export function stagePlanes(f: Fabric, st: StageModel, where: string): Planes {
  const pl = emptyPlanes(f);
  pl.bias.set(st.bias);
  const D = f.D;
  const seen = new Uint8Array(f.N * D);
  for (let n = 0; n < st.ei.length; n++) {
    const i = st.ei[n];
    const j = st.ej[n];
    const k = wireDirection(f, i, j);
    if (k < 0) {
      const L = f.L;
      throw new UserError(
        `${where}: edges[${n}] = (${i}, ${j}) joins (x=${i % L}, y=${Math.floor(i / L)}) and (x=${j % L}, y=${Math.floor(j / L)}), which no wire of the fabric connects`,
      );
    }
    if (seen[i * D + k]) throw new UserError(`${where}: edges[${n}] = (${i}, ${j}) appears twice (give each undirected edge once)`);
    seen[i * D + k] = 1;
    pl.w[i * D + k] = st.ew[n];
    pl.w[j * D + oppositeDirection(k)] = st.ew[n];
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
  return {
    grid: { L: f.L, rules: f.rules, boundary: f.boundary },
    beta: 1,
    stages: [randomStage(f, seed, 0, scale, biasScale)],
    source: `random model (seed ${seed}, weights U(-${scale}, ${scale}))`,
  };
}

/** A typed array as msgpack-friendly {dtype, shape, data}. */
export function typed(a: Float64Array | Float32Array | Int32Array | Uint8Array | Int8Array): { dtype: string; shape: number[]; data: Uint8Array } {
  const dtype =
    a instanceof Float64Array ? 'float64' : a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : a instanceof Int8Array ? 'int8' : 'uint8';
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
