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
import { wireDirection, oppositeDirection, type Fabric } from '../fabric/fabric.js';
import { emptyPlanes, type Planes } from '../cells/bias.js';
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

export interface Model {
  grid: { L: number; rules: Rule[]; boundary: 'open' | 'torus' };
  beta: number;
  stages: StageModel[];
  source: string;
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
  return { grid: { L, rules, boundary: g.boundary }, beta, stages, source: src };
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

/** The default workload: a seeded random-weight model on every wire of the fabric. */
export function randomModel(f: Fabric, seed: number, scale: number, biasScale: number): Model {
  const kW = streamKey(seed, Purpose.model, 0);
  const kB = streamKey(seed, Purpose.model, 1);
  const bias = new Float64Array(f.N);
  for (let i = 0; i < f.N; i++) bias[i] = biasScale * (2 * uniform(kB, i) - 1);
  const ei: number[] = [];
  const ej: number[] = [];
  const ew: number[] = [];
  for (let i = 0; i < f.N; i++) {
    for (let k = 0; k < f.D; k++) {
      const j = f.nbr[i * f.D + k];
      if (j < f.N && j > i) {
        ei.push(i);
        ej.push(j);
        ew.push(scale * (2 * uniform(kW, ei.length) - 1));
      }
    }
  }
  return {
    grid: { L: f.L, rules: f.rules, boundary: f.boundary },
    beta: 1,
    stages: [
      { bias, ei: Int32Array.from(ei), ej: Int32Array.from(ej), ew: Float64Array.from(ew), clampIdx: new Int32Array(0), clampVal: new Int8Array(0) },
    ],
    source: `random model (seed ${seed}, weights U(-${scale}, ${scale}))`,
  };
}
