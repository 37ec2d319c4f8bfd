// dtca's model reader (sim/model.ts: readModel, and every edge a wire of the model's own grid, as
// `dtca model info` checks a file) and the Python package's (dtca_trace.model.read) must accept and
// refuse the same files: a model that one reads and the other refuses (grid.boundary missing: Python
// took "open", dtca refused) is a file a user cannot trust. Each mutation of a small sound model below
// goes through both readers; the Python one in one process (/usr/bin/python3).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Packr } from 'msgpackr';
import { ROOT } from './helpers/cli.js';
import { readModel, checkModelWires, modelFabric } from '../sim/model.js';
import { UserError } from '../fabric/errors.js';

type M = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Edit = (m: M) => void | { text: string } | { bytes: Uint8Array };

const L = 4;
const base = (): M => ({
  format: 'dtca-model',
  version: 1,
  grid: { L, rules: [[0, 1]], boundary: 'open' },
  beta: 1,
  stages: [
    {
      bias: Array.from({ length: L * L }, (_, i) => (i % 3) * 0.1),
      edges: [
        [0, 1, 0.5],
        [1, 2, -0.5],
      ],
      clamp: [[3, 1]],
    },
    { bias: Array(L * L).fill(0), edges: { i: [0], j: [4], w: [0.25] } },
  ],
  dtm: { T: 2, lambda_image: 0.9, lambda_label: 0.2, image: [8, 9, 10, 11], label: [12, 13], label_copies: 1, image_shape: [2, 2], label_gain: 2 },
});

const packr = new Packr({ useRecords: false, variableMapSize: true });
const f64 = (a: number[]) => ({ dtype: 'float64', shape: [a.length], data: new Uint8Array(Float64Array.from(a).buffer) });
const i32 = (a: number[]) => ({ dtype: 'int32', shape: [a.length], data: new Uint8Array(Int32Array.from(a).buffer) });
/** The model as msgpack with one number written as a msgpack float64 (`4.0`, where JSON-from-JS would write `4`). */
const SENTINEL = 1234.5678;
function withFloat(m: M, set: (m: M, v: number) => void, value: number): { bytes: Uint8Array } {
  set(m, SENTINEL);
  const b = Buffer.from(packr.pack(m));
  const s = Buffer.alloc(9);
  s[0] = 0xcb;
  s.writeDoubleBE(SENTINEL, 1);
  const at = b.indexOf(s);
  const v = Buffer.alloc(8);
  v.writeDoubleBE(value);
  v.copy(b, at + 1);
  return { bytes: b };
}
const json = (m: M) => JSON.stringify(m);
/**
 * The model as msgpack with a key given twice in one map: `set` adds the key spelt `spare` (as
 * long as `key`, unique in the file), whose name is then overwritten with `key` in the bytes (a JS
 * object cannot hold a key twice). The second copy is sound: a reader that keeps the last value reads a sound model.
 */
function keyTwice(m: M, set: (m: M) => void, spare: string, key: string): { bytes: Uint8Array } {
  set(m);
  const b = Buffer.from(packr.pack(m));
  const name = Buffer.from([0xa0 | spare.length, ...Buffer.from(spare)]);
  const at = b.indexOf(name);
  if (spare.length !== key.length || at < 0 || b.indexOf(name, at + 1) >= 0) throw new Error(`keyTwice: ${spare} not once in the file`);
  Buffer.from(key).copy(b, at + 1);
  return { bytes: b };
}

const CASES: [string, Edit][] = [
  ['sound', () => {}],
  ['sound msgpack typed', (m) => ({ bytes: packr.pack({ ...m, stages: m.stages.map((s: M) => ({ ...s, bias: f64(s.bias) })) }) })],
  // grid
  ['grid.boundary missing', (m) => void delete m.grid.boundary],
  ['grid.boundary null', (m) => void (m.grid.boundary = null)],
  ['grid.boundary "Torus"', (m) => void (m.grid.boundary = 'Torus')],
  ['grid.boundary torus', (m) => void (m.grid.boundary = 'torus')],
  ['grid missing', (m) => void delete m.grid],
  ['grid a list', (m) => void (m.grid = [4])],
  ['grid extra key', (m) => void (m.grid.tile = 4)],
  ['grid.L missing', (m) => void delete m.grid.L],
  ['grid.L "4"', (m) => void (m.grid.L = '4')],
  ['grid.L true', (m) => void (m.grid.L = true)],
  ['grid.L 1', (m) => void (m.grid.L = 1)],
  ['grid.L 46341', (m) => void (m.grid.L = 46341)],
  ['grid.L 4.5', (m) => void (m.grid.L = 4.5)],
  ['grid.L 4.0 (JSON)', (m) => ({ text: json(m).replace('"L":4', '"L":4.0') })],
  ['grid.L 4.0 (msgpack float)', (m) => withFloat(m, (o, v) => (o.grid.L = v), 4)],
  ['grid.rules missing', (m) => void delete m.grid.rules],
  ['grid.rules null', (m) => void (m.grid.rules = null)],
  ['grid.rules []', (m) => void (m.grid.rules = [])],
  ['grid.rules "g8" (L 4: too small)', (m) => void (m.grid.rules = 'g8')],
  ['grid.rules "nope"', (m) => void (m.grid.rules = 'nope')],
  ['grid.rules [[0,2]] (a+b even)', (m) => void (m.grid.rules = [[0, 2]])],
  [
    'grid.rules [[0,1],[1,0]] (one offset twice)',
    (m) =>
      void (m.grid.rules = [
        [0, 1],
        [1, 0],
      ]),
  ],
  ['grid.rules [[0.5,1]]', (m) => void (m.grid.rules = [[0.5, 1]])],
  ['grid.rules [[0,1,2]]', (m) => void (m.grid.rules = [[0, 1, 2]])],
  ['grid.rules [[true,0]]', (m) => void (m.grid.rules = [[true, 0]])],
  [
    'grid.rules [[0,1],[4,1]] (reach 4 on L 4)',
    (m) =>
      void (m.grid.rules = [
        [0, 1],
        [4, 1],
      ]),
  ],
  [
    'grid.rules [[0,1],[2,1]] torus (reach 2 on L 4)',
    (m) =>
      void (
        (m.grid.rules = [
          [0, 1],
          [2, 1],
        ]),
        (m.grid.boundary = 'torus')
      ),
  ],
  ['grid.rules [[0,1],[1,0.0]] (JSON)', (m) => ({ text: json(m).replace('"rules":[[0,1]]', '"rules":[[0,1],[2,1.0]]') })],
  // top level
  ['format missing', (m) => void delete m.format],
  ['format wrong', (m) => void (m.format = 'dtca-trace')],
  ['version missing', (m) => void delete m.version],
  ['version 2', (m) => void (m.version = 2)],
  ['version 0', (m) => void (m.version = 0)],
  ['version "1"', (m) => void (m.version = '1')],
  ['version true', (m) => void (m.version = true)],
  ['version 1.0 (JSON)', (m) => ({ text: json(m).replace('"version":1', '"version":1.0') })],
  ['version 1.0 (msgpack float)', (m) => withFloat(m, (o, v) => (o.version = v), 1)],
  ['unknown top-level key', (m) => void (m.extra = 1)],
  ['sha256 in a JSON model', (m) => void (m.sha256 = '0'.repeat(64))],
  ['a key twice (JSON)', (m) => ({ text: json(m).replace('"beta":1', '"beta":1,"beta":2') })],
  ['a key twice (msgpack): beta', (m) => keyTwice(m, (o) => (o.betX = 2), 'betX', 'beta')],
  ['a key twice (msgpack): grid.boundary', (m) => keyTwice(m, (o) => (o.grid.boundarX = 'torus'), 'boundarX', 'boundary')],
  ['a key twice (msgpack): stages[1].bias', (m) => keyTwice(m, (o) => (o.stages[1].biaX = Array(L * L).fill(0.5)), 'biaX', 'bias')],
  ['a key twice (msgpack): stages[1].edges.w', (m) => keyTwice(m, (o) => (o.stages[1].edges.X = [0.5]), 'X', 'w')],
  ['a key twice (msgpack): dtm.lambda_image', (m) => keyTwice(m, (o) => (o.dtm.lambda_imagX = 0.5), 'lambda_imagX', 'lambda_image')],
  [
    "a key twice (msgpack): a typed bias's dtype",
    (m) => keyTwice(m, (o) => (o.stages[0].bias = { ...f64(o.stages[0].bias), dtypX: 'float64' }), 'dtypX', 'dtype'),
  ],
  ['keys twice in different maps (msgpack)', (m) => keyTwice(m, (o) => (o.dtm.betX = 1), 'betX', 'beta')],
  ['a list, not a model', () => ({ text: '[1,2]' })],
  // beta
  ['beta missing', (m) => void delete m.beta],
  ['beta null', (m) => void (m.beta = null)],
  ['beta 0', (m) => void (m.beta = 0)],
  ['beta -1', (m) => void (m.beta = -1)],
  ['beta "1"', (m) => void (m.beta = '1')],
  ['beta true', (m) => void (m.beta = true)],
  ['beta 1e6', (m) => void (m.beta = 1e6)],
  ['beta 1e7', (m) => void (m.beta = 1e7)],
  // stages
  ['stages missing', (m) => void delete m.stages],
  ['stages []', (m) => void (m.stages = [])],
  ['stages an object', (m) => void (m.stages = {})],
  ['stage a number', (m) => void (m.stages[1] = 1)],
  ['stage extra key', (m) => void (m.stages[0].x = 1)],
  ['bias missing', (m) => void delete m.stages[1].bias],
  ['bias null', (m) => void (m.stages[1].bias = null)],
  ['bias 15 values', (m) => void m.stages[0].bias.pop()],
  ['bias a string value', (m) => void (m.stages[0].bias[2] = 'x')],
  ['bias a null value', (m) => void (m.stages[0].bias[2] = null)],
  ['bias a boolean value', (m) => void (m.stages[0].bias[2] = true)],
  ['bias 1e6', (m) => void (m.stages[0].bias[2] = 1e6)],
  ['bias 1e7', (m) => void (m.stages[0].bias[2] = 1e7)],
  ['bias a number', (m) => void (m.stages[0].bias = 0)],
  [
    'bias typed float32',
    (m) => ({
      bytes: packr.pack({
        ...m,
        stages: [{ ...m.stages[0], bias: { ...f64([]), dtype: 'float32', shape: [16], data: new Uint8Array(new Float32Array(16).buffer) } }, m.stages[1]],
      }),
    }),
  ],
  [
    'bias typed float16',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { dtype: 'float16', shape: [16], data: new Uint8Array(32) } }, m.stages[1]] }) }),
  ],
  [
    'bias typed toString',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { dtype: 'toString', shape: [16], data: new Uint8Array(128) } }, m.stages[1]] }) }),
  ],
  [
    'bias typed odd bytes',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { dtype: 'float64', shape: [16], data: new Uint8Array(127) } }, m.stages[1]] }) }),
  ],
  [
    'bias typed wrong shape',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { ...f64(Array(16).fill(0)), shape: [15] } }, m.stages[1]] }) }),
  ],
  [
    'bias typed shape [4,4]',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { ...f64(Array(16).fill(0)), shape: [4, 4] } }, m.stages[1]] }) }),
  ],
  [
    'bias typed no shape',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { dtype: 'float64', data: f64(Array(16).fill(0)).data } }, m.stages[1]] }) }),
  ],
  [
    'bias typed data a string',
    (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: { dtype: 'float64', shape: [16], data: 'x'.repeat(128) } }, m.stages[1]] }) }),
  ],
  ['bias typed NaN', (m) => ({ bytes: packr.pack({ ...m, stages: [{ ...m.stages[0], bias: f64([NaN, ...Array(15).fill(0)]) }, m.stages[1]] }) })],
  // edges
  ['edges missing', (m) => void delete m.stages[0].edges],
  ['edges null', (m) => void (m.stages[0].edges = null)],
  ['edges []', (m) => void (m.stages[0].edges = [])],
  ['edges a string', (m) => void (m.stages[0].edges = 'x')],
  ['edge joins a cell to itself', (m) => void m.stages[0].edges.push([5, 5, 0.1])],
  ['edge not a wire', (m) => void m.stages[0].edges.push([0, 5, 0.1])],
  ['edge given twice', (m) => void m.stages[0].edges.push([1, 0, 0.1])],
  ['edge cell 16', (m) => void m.stages[0].edges.push([15, 16, 0.1])],
  ['edge cell -1', (m) => void m.stages[0].edges.push([-1, 0, 0.1])],
  ['edge cell 1.5', (m) => void m.stages[0].edges.push([1.5, 2, 0.1])],
  ['edge cell true', (m) => void (m.stages[0].edges[0] = [true, 0, 0.1])],
  ['edge cell "4"', (m) => void m.stages[0].edges.push(['4', 5, 0.1])],
  ['edge cell 5.0 (JSON)', (m) => ({ text: json(m).replace('[1,2,-0.5]', '[1,2,-0.5],[5.0,6,0.1]') })],
  ['edge weight "x"', (m) => void (m.stages[0].edges[0][2] = 'x')],
  ['edge weight null', (m) => void (m.stages[0].edges[0][2] = null)],
  ['edge weight true', (m) => void (m.stages[0].edges[0][2] = true)],
  ['edge weight 1e7', (m) => void (m.stages[0].edges[0][2] = 1e7)],
  ['edge of two numbers', (m) => void (m.stages[0].edges[0] = [0, 1])],
  ['edges {i, j} without w', (m) => void delete m.stages[1].edges.w],
  ['edges {i, j, w, x}', (m) => void (m.stages[1].edges.x = [1])],
  ['edges i, j, w of different lengths', (m) => void m.stages[1].edges.i.push(1)],
  ['edges i a number', (m) => void (m.stages[1].edges.i = 0)],
  [
    'edges typed',
    (m) => ({ bytes: packr.pack({ ...m, stages: [m.stages[0], { ...m.stages[1], edges: { i: i32([0, 5]), j: i32([4, 9]), w: f64([0.25, 0.5]) } }] }) }),
  ],
  [
    'edges typed i float64 1.5',
    (m) => ({ bytes: packr.pack({ ...m, stages: [m.stages[0], { ...m.stages[1], edges: { i: f64([1.5]), j: i32([4]), w: f64([0.25]) } }] }) }),
  ],
  [
    'edges typed i uint8 200',
    (m) => ({
      bytes: packr.pack({
        ...m,
        stages: [m.stages[0], { ...m.stages[1], edges: { i: { dtype: 'uint8', shape: [1], data: Uint8Array.of(200) }, j: i32([4]), w: f64([0.25]) } }],
      }),
    }),
  ],
  // clamp
  ['clamp missing', (m) => void delete m.stages[0].clamp],
  ['clamp null', (m) => void (m.stages[0].clamp = null)],
  ['clamp an object', (m) => void (m.stages[0].clamp = { 3: 1 })],
  ['clamp spin 0', (m) => void (m.stages[0].clamp = [[3, 0]])],
  ['clamp spin 2', (m) => void (m.stages[0].clamp = [[3, 2]])],
  ['clamp spin true', (m) => void (m.stages[0].clamp = [[3, true]])],
  ['clamp spin 1.0 (JSON)', (m) => ({ text: json(m).replace('"clamp":[[3,1]]', '"clamp":[[3,1.0]]') })],
  ['clamp cell 16', (m) => void (m.stages[0].clamp = [[16, 1]])],
  ['clamp cell 2.5', (m) => void (m.stages[0].clamp = [[2.5, 1]])],
  [
    'clamp one cell twice',
    (m) =>
      void (m.stages[0].clamp = [
        [3, 1],
        [3, 1],
      ]),
  ],
  [
    'clamp one cell twice, opposite spins',
    (m) =>
      void (m.stages[0].clamp = [
        [3, 1],
        [3, -1],
      ]),
  ],
  ['clamp row of one', (m) => void (m.stages[0].clamp = [[3]])],
  // dtm
  ['dtm missing', (m) => void delete m.dtm],
  ['dtm null', (m) => void (m.dtm = null)],
  ['dtm a list', (m) => void (m.dtm = [])],
  ['dtm extra key', (m) => void (m.dtm.x = 1)],
  ['dtm.T missing', (m) => void delete m.dtm.T],
  ['dtm.T 3', (m) => void (m.dtm.T = 3)],
  ['dtm.T "2"', (m) => void (m.dtm.T = '2')],
  ['dtm.T 2.0 (JSON)', (m) => ({ text: json(m).replace('"T":2', '"T":2.0') })],
  ['dtm.time_grid null', (m) => void (m.dtm.time_grid = null)],
  ['dtm.time_grid sound', (m) => void (m.dtm.time_grid = [0, 0.5, null])],
  ['dtm.time_grid 2 entries', (m) => void (m.dtm.time_grid = [0, null])],
  ['dtm.time_grid not increasing', (m) => void (m.dtm.time_grid = [0.5, 0.5, null])],
  ['dtm.time_grid last not null', (m) => void (m.dtm.time_grid = [0, 0.5, 1])],
  ['dtm.time_grid a string', (m) => void (m.dtm.time_grid = [0, 'x', null])],
  ['dtm.time_grid a boolean', (m) => void (m.dtm.time_grid = [0, true, null])],
  ['dtm.time_grid first null', (m) => void (m.dtm.time_grid = [null, 1, null])],
  ['dtm.time_grid an infinite coupling', (m) => void (m.dtm.time_grid = [0, 5e-324, null])],
  ['dtm.time_grid an object', (m) => void (m.dtm.time_grid = { a: 1 })],
  ['dtm.lambda_image missing', (m) => void delete m.dtm.lambda_image],
  ['dtm.lambda_image null', (m) => void (m.dtm.lambda_image = null)],
  ['dtm.lambda_image 0', (m) => void (m.dtm.lambda_image = 0)],
  ['dtm.lambda_image 1e-31', (m) => void (m.dtm.lambda_image = 1e-31)],
  ['dtm.lambda_image 1e31', (m) => void (m.dtm.lambda_image = 1e31)],
  ['dtm.lambda_image "0.9"', (m) => void (m.dtm.lambda_image = '0.9')],
  ['dtm.lambda_label true', (m) => void (m.dtm.lambda_label = true)],
  ['dtm.image missing', (m) => void ((m.dtm.image = undefined), delete m.dtm.image, (m.dtm.image_shape = [1, 1]))],
  ['dtm.image null', (m) => void ((m.dtm.image = null), (m.dtm.image_shape = [1, 1]))],
  ['dtm.image a number', (m) => void (m.dtm.image = 4)],
  ['dtm.image cell 16', (m) => void (m.dtm.image[0] = 16)],
  ['dtm.image cell 1.5', (m) => void (m.dtm.image[0] = 1.5)],
  ['dtm.image cell true', (m) => void (m.dtm.image[0] = true)],
  ['dtm.image cell "8"', (m) => void (m.dtm.image[0] = '8')],
  ['dtm.image a cell twice', (m) => void (m.dtm.image[1] = 8)],
  ['dtm.image and label share a cell', (m) => void (m.dtm.label[0] = 8)],
  ['dtm.image typed', (m) => ({ bytes: packr.pack({ ...m, dtm: { ...m.dtm, image: i32(m.dtm.image) } }) })],
  ['dtm.label null', (m) => void ((m.dtm.label = null), (m.dtm.label_copies = 1))],
  ['dtm.label_copies missing (2 labels: 10 copies)', (m) => void delete m.dtm.label_copies],
  ['dtm.label_copies null', (m) => void (m.dtm.label_copies = null)],
  ['dtm.label_copies 2', (m) => void (m.dtm.label_copies = 2)],
  ['dtm.label_copies 3', (m) => void (m.dtm.label_copies = 3)],
  ['dtm.label_copies 0', (m) => void (m.dtm.label_copies = 0)],
  ['dtm.label_copies 2.5', (m) => void (m.dtm.label_copies = 2.5)],
  ['dtm.label_copies true', (m) => void (m.dtm.label_copies = true)],
  ['dtm.label_copies "1"', (m) => void (m.dtm.label_copies = '1')],
  ['dtm.image_shape missing', (m) => void delete m.dtm.image_shape],
  ['dtm.image_shape null', (m) => void (m.dtm.image_shape = null)],
  ['dtm.image_shape [1,2]', (m) => void (m.dtm.image_shape = [1, 2])],
  ['dtm.image_shape [4,5] (more than the grid)', (m) => void (m.dtm.image_shape = [4, 5])],
  ['dtm.image_shape [0,4]', (m) => void (m.dtm.image_shape = [0, 4])],
  ['dtm.image_shape [2.5,2]', (m) => void (m.dtm.image_shape = [2.5, 2])],
  ['dtm.image_shape [true,4]', (m) => void (m.dtm.image_shape = [true, 4])],
  ['dtm.image_shape ["2",2]', (m) => void (m.dtm.image_shape = ['2', 2])],
  ['dtm.image_shape [2,2,1]', (m) => void (m.dtm.image_shape = [2, 2, 1])],
  ['dtm.image_shape "2x2"', (m) => void (m.dtm.image_shape = '2x2')],
  ['dtm.image_source null', (m) => void (m.dtm.image_source = null)],
  ['dtm.image_source another source', (m) => void (m.dtm.image_source = { source: 'mnist', width: 28, height: 28, downscale: 1 })],
  ['dtm.image_source for 784 pixels', (m) => void (m.dtm.image_source = { source: 'fmnist-28', width: 28, height: 28, downscale: 1 })],
  ['dtm.image_source extra key', (m) => void (m.dtm.image_source = { source: 'fmnist-28', width: 2, height: 2, downscale: 14, x: 1 })],
  ['dtm.image_source 2x2', (m) => void (m.dtm.image_source = { source: 'fmnist-28', width: 2, height: 2, downscale: 14 })],
  ['dtm.image_source downscale true', (m) => void (m.dtm.image_source = { source: 'fmnist-28', width: 28, height: 28, downscale: true })],
  ['dtm.label_gain missing', (m) => void delete m.dtm.label_gain],
  ['dtm.label_gain null', (m) => void (m.dtm.label_gain = null)],
  ['dtm.label_gain 0', (m) => void (m.dtm.label_gain = 0)],
  ['dtm.label_gain 100', (m) => void (m.dtm.label_gain = 100)],
  ['dtm.label_gain 101', (m) => void (m.dtm.label_gain = 101)],
  ['dtm.label_gain -1', (m) => void (m.dtm.label_gain = -1)],
  ['dtm.label_gain "2"', (m) => void (m.dtm.label_gain = '2')],
  ['dtm.label_gain true', (m) => void (m.dtm.label_gain = true)],
];

function tsVerdict(path: string): { ok: boolean; detail: string } {
  try {
    const m = readModel(path);
    checkModelWires(modelFabric(m), m);
    return { ok: true, detail: '' };
  } catch (e) {
    if (e instanceof UserError) return { ok: false, detail: e.message };
    return { ok: false, detail: `CRASH ${String(e)}` };
  }
}

describe('the TypeScript and Python model readers', () => {
  it('accept and refuse the same model files (fields missing, of the wrong type, out of range)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-model-readers-'));
    const files = CASES.map(([name, edit], n) => {
      const m = base();
      const r = edit(m);
      const bytes = r && 'bytes' in r ? r.bytes : undefined;
      const path = join(dir, `${n}${bytes ? '.mp' : '.json'}`);
      writeFileSync(path, bytes ?? (r && 'text' in r ? r.text : JSON.stringify(m)));
      return { name, path };
    });
    const py = spawnSync('/usr/bin/python3', [join(ROOT, 'test/helpers/py_model_verdict.py'), ...files.map((f) => f.path)], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const pyv = py.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; detail: string; crash?: boolean });
    expect(pyv).toHaveLength(files.length);
    const rows = files.map((f, n) => ({ name: f.name, ts: tsVerdict(f.path), py: pyv[n] }));
    const differ = rows
      .filter((r) => r.ts.ok !== r.py.ok || r.py.crash || r.ts.detail.startsWith('CRASH'))
      .map(
        (r) =>
          `${r.name}: dtca ${r.ts.ok ? 'accepts' : `refuses (${r.ts.detail.replace(dir, 'DIR')})`}, Python ${r.py.ok ? 'accepts' : `refuses (${r.py.detail.replace(dir, 'DIR')})`}`,
      );
    if (process.env.SHOW_VERDICTS)
      for (const r of rows) console.log(`${r.name}\n  TS: ${r.ts.detail.replace(dir, 'DIR')}\n  PY: ${r.py.detail.replace(dir, 'DIR')}`);
    expect(differ).toEqual([]);
    // every refusal a message naming the field, never the reader's catch-all
    expect(rows.filter((r) => /not a well-formed model/.test(r.py.detail)).map((r) => `${r.name}: ${r.py.detail}`)).toEqual([]);
    const offsetTwice = rows.find((r) => r.name.startsWith('grid.rules [[0,1],[1,0]]'))!;
    expect(offsetTwice.ts.detail).toMatch(/: grid\.rules\[1\] = \(1,0\): gives offset \(1,0\) that rule grid\.rules\[0\] already gives$/); // the file named once
    // a key given twice in one msgpack map: both name it (dtca its path too); in different maps it is no fault
    for (const r of rows.filter((r) => r.name.startsWith('a key twice (msgpack)'))) {
      const path = r.name.slice('a key twice (msgpack): '.length).replace(/'s dtype$/, '');
      const key = path.split('.').pop()!;
      expect(r.ts.detail, r.name).toMatch(/: ".*" is given twice in one map \(byte \d+\); a reader would keep the last one without a word/);
      expect(r.py.detail, r.name).toContain(
        `: "${r.name.endsWith('dtype') ? 'dtype' : key}" is given twice in one map; a reader would keep the last one without a word`,
      );
      if (!r.name.endsWith('dtype')) expect(r.ts.detail, r.name).toContain(`"${path}" is given twice`);
    }
    expect(rows.find((r) => r.name.startsWith('keys twice in different maps'))!.ts).toEqual({
      ok: false,
      detail: expect.stringMatching(/dtm.*beta.*unknown key/),
    });
    expect(rows.find((r) => r.name === 'grid.boundary missing')!.ts.detail).toMatch(/: grid\.boundary: missing \("open" or "torus"\)$/);
    // the sound model is read by both, and each kind of mutation is refused by both somewhere
    expect(rows[0].ts.ok && rows[0].py.ok).toBe(true);
    expect(rows.filter((r) => !r.ts.ok).length).toBeGreaterThan(CASES.length / 2);
  });
});
