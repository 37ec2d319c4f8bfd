/**
 * The input classes of issue 19 for the fuzzers (test/fuzz.test.ts, test/fuzz/census.ts):
 *
 *  - hostile files where a model, config or trace goes: devices and endless streams (/dev/zero,
 *    /dev/urandom), FIFOs with no writer, sparse files far beyond any limit, nesting 65..100,000
 *    deep (JSON and msgpack), typed arrays with hostile dtypes ("toString", "__proto__", ...) and
 *    shapes (huge, negative, fractional, too many dimensions);
 *  - trace records that decode and pass their CRC but hold impossible fields (a cell count other
 *    than the header's, a chain, stage or sweep beyond the run, up to 2^40; bytes after the end
 *    record), re-encoded with a valid CRC; and headers with impossible fields (impossibleHeaders:
 *    counts, clock, strings, thinning, a grid other than the records'), every case enumerated;
 *  - damaged training checkpoints: flipped bits, cuts, and fields rewritten with a valid checksum.
 *
 * Every case must end with exit 2 and one line (the hostile files are bad by construction), never
 * a hang, a crash, a stack trace, or an allocation the size of the input's claim.
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { contractBroken, errorLines, type CliPool } from '../helpers/cli-pool.js';
import { encodeRecord, makePackr } from '../../traces/pack.js';
import { validateStageState } from '../../sim/train/checkpoint.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const q = { DTCA_LOG: 'warn' };

// ---------------------------------------------------------------------------------------------
// hostile files

export type HostileFile =
  | { kind: 'device'; path: '/dev/zero' | '/dev/urandom' }
  | { kind: 'fifo' }
  | { kind: 'sparse'; gib: number; ext: 'json' | 'mp' | 'dtct' }
  | { kind: 'deep'; depth: number; form: 'json' | 'mp'; where: 'stages' | 'bias' | 'config' }
  | { kind: 'dtype'; dtype: string }
  | { kind: 'shape'; shape: unknown; dtype: string };

const HOSTILE_DTYPES = [
  'toString',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'prototype',
  'float128',
  'Float64',
  '',
  ' float64',
  'float64\u0000',
  'length',
  'BYTES_PER_ELEMENT',
];

export const hostileFile: fc.Arbitrary<HostileFile> = fc.oneof(
  fc.record({ kind: fc.constant('device' as const), path: fc.constantFrom('/dev/zero' as const, '/dev/urandom' as const) }),
  fc.constant({ kind: 'fifo' as const }),
  fc.record({
    kind: fc.constant('sparse' as const),
    gib: fc.integer({ min: 3, max: 4096 }),
    ext: fc.constantFrom('json' as const, 'mp' as const, 'dtct' as const),
  }),
  fc.record({
    kind: fc.constant('deep' as const),
    depth: fc.oneof(fc.integer({ min: 65, max: 2000 }), fc.constantFrom(10_000, 100_000)),
    form: fc.constantFrom('json' as const, 'mp' as const),
    where: fc.constantFrom('stages' as const, 'bias' as const, 'config' as const),
  }),
  fc.record({ kind: fc.constant('dtype' as const), dtype: fc.constantFrom(...HOSTILE_DTYPES) }),
  fc.record({
    kind: fc.constant('shape' as const),
    dtype: fc.constantFrom('float64', 'float32', 'int32'),
    shape: fc.oneof(
      fc.constantFrom<unknown>([1e15, 1e15], [2 ** 53, 2], [-64], [64.5], [8, 7], [0], [], [65], ['64'], [null], 64, '64', { n: 64 }, new Array(9).fill(2), [
        2 ** 31,
        2 ** 31,
        0,
      ]),
      fc.array(fc.integer({ min: -2, max: 2 ** 40 }), { minLength: 1, maxLength: 4 }),
    ),
  }),
);

const L = 8;
const bm = (bias: unknown) => ({
  format: 'dtca-model',
  version: 1,
  grid: { L, rules: [[0, 1]], boundary: 'open' },
  beta: 1,
  stages: [{ bias, edges: [[0, 1, 0.5]] }],
});
const f64 = (n: number) => new Uint8Array(new Float64Array(n).buffer);

function deepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function deepMp(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x90])]);
}

/** Make the case on disk; returns the path and the command that reads it. */
export function makeHostileFile(dir: string, c: HostileFile): { path: string; args: string[] } {
  const d = mkdtempSync(join(dir, 'hostile-'));
  const model = (path: string) => ({ path, args: ['model', 'info', path] });
  switch (c.kind) {
    case 'device':
      return model(c.path);
    case 'fifo': {
      const p = join(d, 'fifo');
      execFileSync('mkfifo', [p]);
      return model(p);
    }
    case 'sparse': {
      const p = join(d, `big.${c.ext}`);
      writeFileSync(p, '');
      truncateSync(p, c.gib * 2 ** 30);
      return c.ext === 'dtct' ? { path: p, args: ['trace', 'inspect', p] } : c.ext === 'json' ? { path: p, args: ['config', 'validate', p] } : model(p);
    }
    case 'deep': {
      if (c.where === 'config') {
        const p = join(d, 'deep.json');
        writeFileSync(p, `{"extends":"dtca-paper","fabric":{"rules":${deepJson(c.depth)}}}`);
        return { path: p, args: ['config', 'validate', p] };
      }
      const p = join(d, `deep.${c.form === 'json' ? 'json' : 'mp'}`);
      if (c.form === 'json') {
        const inner = deepJson(c.depth);
        writeFileSync(
          p,
          c.where === 'stages'
            ? `{"format":"dtca-model","version":1,"grid":{"L":8,"rules":[[0,1]],"boundary":"open"},"stages":${inner}}`
            : `{"format":"dtca-model","version":1,"grid":{"L":8,"rules":[[0,1]],"boundary":"open"},"stages":[{"bias":${inner}}]}`,
        );
      } else {
        const head = packr.pack({ format: 'dtca-model', version: 1, grid: { L, rules: [[0, 1]], boundary: 'open' } });
        // the same map with one more key: stages (fixmap count + 1), then the deep list
        const body = Buffer.from(head);
        body[0] += 1;
        writeFileSync(p, Buffer.concat([body, packr.pack('stages'), deepMp(c.depth)]));
      }
      return model(p);
    }
    case 'dtype': {
      const p = join(d, 'dtype.mp');
      writeFileSync(p, packr.pack(bm({ dtype: c.dtype, shape: [64], data: f64(64) })));
      return model(p);
    }
    case 'shape': {
      const p = join(d, 'shape.mp');
      const bytes = c.dtype === 'float64' ? f64(64) : new Uint8Array(256);
      writeFileSync(p, packr.pack(bm({ dtype: c.dtype, shape: c.shape, data: bytes })));
      return model(p);
    }
  }
}

/** Is a shape exactly right for 64 values? (the one shape case that must be accepted) */
function goodShape(c: HostileFile): boolean {
  if (c.kind !== 'shape' || !Array.isArray(c.shape) || c.shape.length === 0 || c.shape.length > 8) return false;
  if (!c.shape.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) return false;
  return (c.shape as number[]).reduce((a, b) => a * b, 1) === 64;
}

export async function hostileFileProperty(pool: CliPool, dir: string, c: HostileFile): Promise<string | null> {
  const { args } = makeHostileFile(dir, c);
  const r = await pool.run(args, q);
  const broken = contractBroken(r);
  if (broken) return `${args.slice(0, 2).join(' ')}: ${broken}`;
  if (goodShape(c)) return r.code === 0 ? null : `a good shape ${JSON.stringify((c as { shape: unknown }).shape)} was refused: ${errorLines(r.stderr)[0]}`;
  if (r.code !== 2) return `${args.slice(0, 2).join(' ')} accepted a hostile file (${c.kind})`;
  const line = errorLines(r.stderr)[0] ?? '';
  if (/[\u0080-\u009f\u200b-\u200f\u202a-\u202e\ufffd]/.test(line)) return 'the error line holds decoded garbage';
  if (r.ms > 8000) return `took ${Math.round(r.ms)} ms to refuse`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// trace records with valid CRCs and impossible fields

export interface ImpossibleRecord {
  /** which sweep record (a fraction of them) */
  at: number;
  field: 'chain' | 'stage' | 'sweep' | 'n_cells' | 'tail';
  /** added to the first value out of range (0 = exactly one past the last valid) */
  beyond: number;
  /** bytes appended after the end record ('tail') */
  tail: number[];
}

export const impossibleRecord: fc.Arbitrary<ImpossibleRecord> = fc.record({
  at: fc.integer({ min: 0, max: 1000 }).map((v) => v / 1000),
  field: fc.constantFrom('chain' as const, 'stage' as const, 'sweep' as const, 'n_cells' as const, 'tail' as const),
  beyond: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 40, 2 ** 52)),
  tail: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }),
});

/** The trace with one impossible field (every CRC valid), or bytes after its end record. */
export function impossibleTrace(trace: Buffer, c: ImpossibleRecord): Buffer {
  const recs: Record<string, unknown>[] = [];
  new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(trace, (v: unknown) => {
    recs.push(v as Record<string, unknown>);
  });
  const header = recs[0] as { n_traced: number; run: { chains: number; stages: number; sweeps: number } };
  if (c.field === 'tail') return Buffer.concat([trace, Buffer.from(c.tail)]);
  const sweeps = recs.filter((r) => r.type === 'sweep');
  const r = sweeps[Math.min(sweeps.length - 1, Math.floor(c.at * sweeps.length))];
  if (c.field === 'n_cells') {
    const n = header.n_traced + 1 + (c.beyond % 4096);
    r.n_cells = n;
    r.states = { dtype: 'uint8', shape: [(n + 7) >> 3], data: new Uint8Array((n + 7) >> 3) };
  } else {
    const limit = c.field === 'chain' ? header.run.chains : c.field === 'stage' ? header.run.stages : header.run.sweeps;
    r[c.field] = limit + c.beyond;
  }
  const p = makePackr();
  return Buffer.concat(recs.map((x) => encodeRecord(p, x)));
}

// ---------------------------------------------------------------------------------------------
// trace headers with valid CRCs and impossible fields

/**
 * One header field set to a value dtca never writes there (every CRC valid): a count of the wrong
 * kind or beyond int32 indices, a clock no config holds or other than the config's, strings that
 * are not strings, a thinning outside the run, a grid of another side than the records' (`grid`:
 * layout.L, N, colour and config.fabric.L all of side `value`, the traced cells and records not).
 * `names`: what the refusal must name.
 */
export interface ImpossibleHeader {
  path: string;
  value: unknown;
  names: RegExp;
}

type Hdr = { run: { chains: number; stages: number; sweeps: number; clock_hz: number }; layout: { L: number } };

/** Every case of the corpus (test/fuzz.test.ts runs them all through both readers), for the fixture's header. */
export function impossibleHeaders(h: Hdr): ImpossibleHeader[] {
  const counts = [-1, 0, 2.5, 2 ** 31 + 1, 2 ** 40, 2 ** 53 + 2, '2', null, true, [2]];
  const notString = [5, null, true, ['x'], { s: 'x' }];
  const pools: [string, unknown[], RegExp][] = [
    ['run.chains', counts, /run\.chains is /],
    ['run.stages', counts, /run\.stages is /],
    ['run.sweeps', counts, /run\.sweeps is /],
    // 2e7: a clock no config refuses, but not the config's (both are written from the run's)
    ['run.clock_hz', ['10000000', -1, 0, 1e-300, 2e15, 1e300, Infinity, NaN, null, true, [1e7], h.run.clock_hz * 2], /run\.clock_hz /],
    ['run.mapping', [7, null, true, ['reprogram'], {}], /run\.mapping is /],
    ['run.arrays', ['x', 0, -1, h.run.stages + 1, null], /run\.arrays is /],
    ['layout.label_copies', [0, -1, 2.5, 'x', null, 2 ** 40], /layout\.label_copies is /],
    ['dtca_version', notString, /dtca_version is /],
    ['created', notString, /created is /],
    ['state_packing', notString, /state_packing is /],
    ['config', [null, 5, 'x', [1]], /config is not a map/],
    ['config.clock.clock_hz', [h.run.clock_hz * 2, String(h.run.clock_hz), null, true], /config's clock\.clock_hz/],
    ['config.fabric.L', [h.layout.L + 1, String(h.layout.L), null, h.layout.L + 0.5], /config's fabric\.L/],
    ['thinning.stages', [[h.run.stages], [2 ** 40]], /thinning\.stages holds /],
    ['thinning.chains', [[h.run.chains], [2 ** 31]], /thinning\.chains holds /],
    [
      'thinning.cells',
      [
        [0, 0, h.layout.L, 0],
        [3, 0, 2, 0],
        [0, 0, 0, 2 ** 40],
        [0, 0, 1, 1],
      ],
      /thinning\.cells /,
    ],
    ['layout.L', [1, 46341, 2 ** 40], /layout\.L is /],
    ['grid', [2, 4, h.layout.L + 1, 2 * h.layout.L], /layout\.(visible|image|label) holds cell|traced_cells/],
  ];
  return pools.flatMap(([path, values, names]) => values.map((value) => ({ path, value, names })));
}

/** A trace's header record, decoded. */
export function traceHeader(trace: Buffer): Hdr {
  let h: unknown = null;
  new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(trace, (v: unknown) => {
    h = v;
    return false;
  });
  return h as unknown as Hdr;
}

/** The whole corpus of impossible headers over a trace, each written to DIR/header-K.dtct. */
export function writeImpossibleHeaders(dir: string, trace: Buffer): { cases: ImpossibleHeader[]; files: string[] } {
  const cases = impossibleHeaders(traceHeader(trace));
  const files = cases.map((c, k) => {
    const f = join(dir, `header-${k}.dtct`);
    writeFileSync(f, impossibleHeaderTrace(trace, c));
    return f;
  });
  return { cases, files };
}

/** The trace with its header changed as the case says, every CRC valid. */
export function impossibleHeaderTrace(trace: Buffer, c: ImpossibleHeader): Buffer {
  const recs: Record<string, unknown>[] = [];
  new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(trace, (v: unknown) => {
    recs.push(v as Record<string, unknown>);
  });
  const h = structuredClone(recs[0]) as Record<string, Record<string, unknown>>;
  if (c.path === 'grid') {
    const L = c.value as number;
    Object.assign(h.layout, { L, N: L * L, colour: { dtype: 'uint8', shape: [L * L], data: new Uint8Array(L * L) } });
    (h.config.fabric as Record<string, unknown>).L = L;
  } else {
    const keys = c.path.split('.');
    let o: Record<string, unknown> = h;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys[keys.length - 1]] = c.value;
  }
  recs[0] = h;
  const p = makePackr();
  return Buffer.concat(recs.map(({ crc32: _crc, ...x }) => encodeRecord(p, x)));
}

// ---------------------------------------------------------------------------------------------
// damaged training checkpoints

export type CheckpointDamage =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'field'; field: string; value: unknown }
  | { kind: 'run-json'; edit: 'delete' | 'flip' | 'garbage' };

const FIELDS = ['stage', 'epoch', 'thetaW', 'thetaB', 'adamM', 'adamV', 'adamT', 'lambda', 'rhoPrev', 'cellUpdates', 'wallS', 'log', 'extra'];

export const checkpointDamage: fc.Arbitrary<CheckpointDamage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: 1000 }).map((v) => v / 1000), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: 999 }).map((v) => v / 1000) }),
  fc.record({
    kind: fc.constant('field' as const),
    field: fc.constantFrom(...FIELDS),
    value: fc.constantFrom<unknown>(NaN, Infinity, -1, 1.5, '1', null, [], [NaN], {}, 2 ** 40, true, 'x'.repeat(100), [[1]]),
  }),
  fc.record({ kind: fc.constant('run-json' as const), edit: fc.constantFrom('delete' as const, 'flip' as const, 'garbage' as const) }),
);

/**
 * Damage a copy of a finished training's checkpoints (`base`.ckpt, trained for `epochs`) and
 * resume it: it must be refused naming the file (the damage is never silently trained on), or,
 * for a rewrite that leaves a valid state, end as a resume with nothing left to train.
 */
/** Does the rewritten state still pass the schema, with the shapes the untouched state had? */
let shapes: { wires: number; cells: number; epochs: number } | null = null;
function validFor(st: Record<string, unknown>, c: CheckpointDamage): boolean {
  if (c.kind !== 'field' || shapes === null) return false;
  try {
    validateStageState(st, { stage: 0, ...shapes }, 'x');
    return true;
  } catch {
    return false;
  }
}

/** Remember the shapes of the untouched checkpoint (call once with the base training). */
export function learnCheckpointShapes(base: string, epochs: number): void {
  const env = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(readFileSync(join(`${base}.ckpt`, 'stage-0.mp'))) as Record<string, unknown>;
  const st = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(env.payload as Uint8Array) as Record<string, number[]>;
  shapes = { wires: st.thetaW.length, cells: st.thetaB.length, epochs };
}

export async function checkpointProperty(pool: CliPool, dir: string, base: string, trainArgs: string[], c: CheckpointDamage): Promise<string | null> {
  const d = mkdtempSync(join(dir, 'ckpt-'));
  const out = join(d, 'm.mp');
  cpSync(`${base}.ckpt`, `${out}.ckpt`, { recursive: true });
  const stage = join(`${out}.ckpt`, 'stage-0.mp');
  const runJson = join(`${out}.ckpt`, 'run.json');
  let named = /stage-0\.mp/;
  let mayRun = false;
  if (c.kind === 'flip') {
    const b = readFileSync(stage);
    b[Math.min(b.length - 1, Math.floor(c.at * b.length))] ^= 1 << c.bit;
    writeFileSync(stage, b);
  } else if (c.kind === 'cut') {
    const b = readFileSync(stage);
    writeFileSync(stage, b.subarray(0, Math.floor(c.at * b.length)));
  } else if (c.kind === 'field') {
    const env = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(readFileSync(stage)) as Record<string, unknown>;
    const st = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(env.payload as Uint8Array) as Record<string, unknown>;
    if (c.field === 'extra') st.extra = c.value;
    else st[c.field] = c.value;
    // some rewrites leave a valid state (lambda 1.5, rhoPrev null, ...): those may resume. The
    // schema (sim/train/checkpoint.ts) is the judge here; the property is that nothing else runs
    mayRun = validFor(st, c);
    const payload = packr.pack(st);
    writeFileSync(stage, packr.pack({ ...env, payload, sha256: createHash('sha256').update(payload).digest('hex') }));
  } else {
    named = /run\.json/;
    if (c.edit === 'delete') rmSync(runJson);
    else if (c.edit === 'garbage') writeFileSync(runJson, Buffer.from([0xff, 0xfe, 0x7b, 0x00]));
    else {
      const b = readFileSync(runJson);
      b[Math.floor(b.length / 2)] ^= 0x01;
      writeFileSync(runJson, b);
    }
  }
  const r = await pool.run(['train', ...trainArgs, '--resume', '--out', out], q);
  const broken = contractBroken(r);
  if (broken) return `train --resume: ${broken}`;
  if (r.code === 0) return mayRun ? null : `a damaged checkpoint was trained on (${JSON.stringify(c)})`;
  if (!named.test(errorLines(r.stderr)[0] ?? '')) return `the refusal does not name the damaged file: ${errorLines(r.stderr)[0]}`;
  return null;
}
