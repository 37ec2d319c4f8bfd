// Binary traces: the writer (through the TraceSink API, with synthetic runs), the TS reader
// (round trips, thinning, bit packing, truncation at every byte, damage, non-traces), the Python
// reader and examples (via /usr/bin/python3), and `dtca trace inspect|export`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { OptionError, UserError } from '../fabric/errors.js';
import { openTraceWriter, parseCellRect, parseIndexList, type TraceOptions } from '../traces/writer.js';
import { readTrace, inspectTrace, unpackStates, type TraceRecord, type SweepRecord, type HeaderRecord } from '../traces/reader.js';
import { encodeRecord, encodeSweepRecord, counter, makePackr, packStates, unpackBits } from '../traces/pack.js';
import { TRACE_FORMAT, type TraceHeader } from '../traces/types.js';
import { dtca, ROOT } from './helpers/cli.js';

const PY = '/usr/bin/python3';
const TRACES_DIR = fileURLToPath(new URL('../traces/', import.meta.url));
const COMPONENTS = ['rng', 'bias_network', 'cell_output', 'wires', 'links', 'clock', 'leakage', 'programming', 'init', 'readout'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtca-trace-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ----------------------------------------------------------------------------------------------
// a synthetic run

interface Synth {
  L: number;
  stages: number;
  chains: number;
  sweeps: number;
  /** a model summary array of this many doubles in the header (to make a header larger than a read chunk) */
  pad?: number;
}

/** deterministic spin of cell i at (chain, stage, sweep) */
function spinAt(chain: number, stage: number, sweep: number, i: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(sweep + 7, 0x85ebca6b) ^ Math.imul(chain + 3, 0xc2b2ae35) ^ Math.imul(stage + 11, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 1 ? 1 : -1;
}

function spinsAt(N: number, chain: number, stage: number, sweep: number): Float64Array {
  const s = new Float64Array(N + 1); // + the zero pad cell the chip keeps
  for (let i = 0; i < N; i++) s[i] = spinAt(chain, stage, sweep, i);
  return s;
}

function energy(scale: number): Record<string, number> {
  const e: Record<string, number> = {};
  let total = 0;
  COMPONENTS.forEach((c, k) => {
    e[c] = scale * (k + 1) * 1e-15;
    total += e[c];
  });
  e.total = total;
  return e;
}

const CYCLE0 = 5_000_000_000; // above 2^32: 64-bit counters
const SWEEP_CYCLES = 20;
const CLOCK = 1e7;

function header(s: Synth): TraceHeader {
  const { L } = s;
  const N = L * L;
  const colour = Uint8Array.from({ length: N }, (_, i) => ((i % L) + Math.floor(i / L)) % 2);
  // a 4x4 image at x, y in 1..4, then 2 classes x 2 copies of label cells on the last row
  const image = Int32Array.from({ length: 16 }, (_, p) => (1 + Math.floor(p / 4)) * L + 1 + (p % 4));
  const label = Int32Array.from({ length: 4 }, (_, k) => (L - 1) * L + k);
  const visible = Int32Array.from([...image, ...label]);
  return {
    format: TRACE_FORMAT,
    version: 1,
    dtca_version: '0.0.0-test',
    created: '2026-01-01T00:00:00.000Z',
    config: { name: 'synthetic', fabric: { L, rules: [[0, 1]] }, clock: { clock_hz: CLOCK }, seed: 1 },
    model: {
      source: 'synthetic',
      T: s.stages,
      betas: Float64Array.from({ length: s.stages }, (_, k) => 1 + k / 10),
      ...(s.pad ? { pad: Float64Array.from({ length: s.pad }, (_, k) => k / 3) } : {}),
    },
    layout: { L, N, colour, visible, image, label, label_copies: 2 },
    run: { chains: s.chains, stages: s.stages, sweeps: s.sweeps, clock_hz: CLOCK, mapping: 'reuse' },
  };
}

interface Expected {
  chain: number;
  stage: number;
  sweep: number;
  cycle: number;
  spins: Float64Array;
}

/** Drives a writer like the run loop does (stage-major, noisiest stage first); returns the sweeps it was handed. */
async function writeSynthetic(path: string, s: Synth, opts: TraceOptions = {}): Promise<Expected[]> {
  const w = openTraceWriter(path, opts);
  const N = s.L * s.L;
  w.header(header(s));
  const got: Expected[] = [];
  let cycle = CYCLE0;
  let toggles = 0;
  for (let k = s.stages - 1; k >= 0; k--) {
    cycle += 100;
    w.stageBegin({ stage: k, cycle, time_s: cycle / CLOCK, energy_j: energy(100 + k) });
    const c0 = cycle;
    for (let c = 0; c < s.chains; c++) {
      for (let sw = 0; sw < s.sweeps; sw++) {
        cycle += SWEEP_CYCLES;
        toggles += 3;
        if (!w.wantsSweep(c, k, sw)) continue;
        const spins = spinsAt(N, c, k, sw);
        got.push({ chain: c, stage: k, sweep: sw, cycle, spins });
        w.sweep({ chain: c, stage: k, sweep: sw, cycle, time_s: cycle / CLOCK, spins, toggles, energy_j: energy(sw + 1) });
      }
    }
    w.stageEnd({ stage: k, cycle, time_s: cycle / CLOCK, energy_j: energy(1000 + k), toggles, cycles: cycle - c0 });
  }
  w.end({ cycle, time_s: cycle / CLOCK, energy_j: energy(99999), cell_updates: s.stages * s.chains * s.sweeps * N, toggles });
  await w.close();
  return got;
}

async function readAll(path: string) {
  const reader = readTrace(path);
  const recs: TraceRecord[] = [];
  const ends: number[] = [];
  for await (const r of reader) {
    recs.push(r);
    ends.push(reader.position);
  }
  return { recs, ends, reader };
}

/** The synthetic BASE trace written to `path`: its bytes and where each record ends (damage and cut tests start from it). */
async function baseTrace(path: string) {
  await writeSynthetic(path, BASE);
  const full = readFileSync(path);
  const { ends } = await readAll(path);
  return { full, ends };
}

async function readUntilError(path: string) {
  const recs: TraceRecord[] = [];
  try {
    for await (const r of readTrace(path)) recs.push(r);
  } catch (e) {
    return { recs, error: e as Error };
  }
  return { recs, error: null };
}

/**
 * The trace with record k's key `from` renamed to `to` (as long; `to` is a key the record has
 * already) and the record's CRC made good: a record that gives a key twice, which no damage check
 * but the key check catches (msgpack keeps the last value without a word).
 */
function keyTwiceIn(full: Buffer, ends: number[], k: number, from: string, to: string): Buffer {
  const d = Buffer.from(full);
  const start = ends[k - 1];
  const end = ends[k];
  const name = Buffer.from([0xa0 | from.length, ...Buffer.from(from)]);
  const at = d.indexOf(name, start);
  if (at < 0 || at >= end || from.length !== to.length) throw new Error(`keyTwiceIn: no key ${from} in record ${k}`);
  Buffer.from(to).copy(d, at + 1);
  d.writeUInt32BE(crc32(d.subarray(start, end - 4)) >>> 0, end - 4);
  return d;
}

const sweepsOf = (recs: TraceRecord[]) => recs.filter((r): r is SweepRecord => r.type === 'sweep');
const bits = (spins: ArrayLike<number>, cells: ArrayLike<number>) => Uint8Array.from(Array.from(cells, (c) => (spins[c] > 0 ? 1 : 0)));

const BASE: Synth = { L: 6, stages: 3, chains: 2, sweeps: 5 };

// ----------------------------------------------------------------------------------------------

describe('trace writer and TS reader', () => {
  it('writes header, stage records, every sweep of every chain and stage, and end; states round-trip', async () => {
    const p = join(dir, 'full.trace');
    const exp = await writeSynthetic(p, BASE);
    const { recs, reader } = await readAll(p);
    const sw = sweepsOf(recs);
    expect(sw.length).toBe(BASE.chains * BASE.stages * BASE.sweeps);
    expect(recs.length).toBe(1 + 2 * BASE.stages + sw.length + 1);
    expect(recs.map((r) => r.type).slice(0, 2)).toEqual(['header', 'stage_begin']);
    expect(recs[recs.length - 1].type).toBe('end');
    expect(reader.truncated).toBe(false);
    expect(reader.complete).toBe(true);

    const h = recs[0] as HeaderRecord;
    expect(h.format).toBe('dtca-trace');
    expect(h.version).toBe(1);
    expect(h.layout.L).toBe(6);
    expect(h.layout.colour).toBeInstanceOf(Uint8Array);
    expect(h.layout.image).toBeInstanceOf(Int32Array);
    expect(Array.from(h.layout.image)).toEqual(Array.from(header(BASE).layout.image));
    expect(h.model.betas).toBeInstanceOf(Float64Array);
    expect(h.run).toEqual({ chains: 2, stages: 3, sweeps: 5, clock_hz: CLOCK, mapping: 'reuse' });
    expect(h.thinning).toEqual({ every: 1, stages: null, chains: null, cells: null });
    expect(Array.from(h.traced_cells)).toEqual(Array.from({ length: 36 }, (_, i) => i));
    expect(h.n_traced).toBe(36);

    sw.forEach((r, k) => {
      const e = exp[k];
      expect([r.chain, r.stage, r.sweep, r.cycle]).toEqual([e.chain, e.stage, e.sweep, e.cycle]);
      expect(r.cycle).toBeGreaterThan(2 ** 32);
      expect(r.time_s).toBe(e.cycle / CLOCK);
      expect(r.states).toBeInstanceOf(Uint8Array);
      expect(r.states.length).toBe(5);
      expect(Array.from(unpackStates(r, 36))).toEqual(Array.from(bits(e.spins, h.traced_cells)));
      expect(r.energy_j).toEqual(energy(e.sweep + 1));
    });
    const end = recs[recs.length - 1];
    if (end.type !== 'end') throw new Error('no end');
    expect(end.records).toBe(recs.length - 1);
    expect(end.sweep_records).toBe(sw.length);
    expect(end.toggles).toBe(BASE.stages * BASE.chains * BASE.sweeps * 3);

    const s = await inspectTrace(p);
    expect(s).toMatchObject({
      records: recs.length,
      sweep_records: 30,
      stages: 3,
      chains: 2,
      sweeps: 5,
      truncated: false,
      complete: true,
      energy_source: 'end',
    });
    expect(s.energy_j).toEqual(energy(99999));
    expect(s.bytes).toBe(readFileSync(p).length);
    expect(s.error).toBeUndefined();
  });

  it('thins: every N keeps sweeps N-1, 2N-1, ... and always the last', async () => {
    for (const [every, want] of [
      [2, [1, 3, 4]],
      [3, [2, 4]],
      [5, [4]],
      [9, [4]],
    ] as [number, number[]][]) {
      const p = join(dir, `every${every}.trace`);
      await writeSynthetic(p, BASE, { every });
      const { recs } = await readAll(p);
      const sw = sweepsOf(recs);
      expect(sw.length).toBe(BASE.chains * BASE.stages * want.length);
      for (const r of sw) expect(want).toContain(r.sweep);
      expect((recs[0] as HeaderRecord).thinning.every).toBe(every);
    }
  });

  it('thins: stages and chains filters', async () => {
    const p = join(dir, 'stages.trace');
    await writeSynthetic(p, BASE, { stages: [2, 0], chains: [1] });
    const { recs } = await readAll(p);
    const sw = sweepsOf(recs);
    expect(sw.length).toBe(2 * 1 * BASE.sweeps);
    expect(new Set(sw.map((r) => r.stage))).toEqual(new Set([0, 2]));
    expect(new Set(sw.map((r) => r.chain))).toEqual(new Set([1]));
    const stageRecs = recs.filter((r) => r.type === 'stage_begin' || r.type === 'stage_end');
    expect(stageRecs.length).toBe(4);
    expect(recs.filter((r) => r.type === 'end').length).toBe(1);
    expect((recs[0] as HeaderRecord).thinning).toEqual({ every: 1, stages: [0, 2], chains: [1], cells: null });
  });

  it('thins: a cell rectangle stores only its cells, listed in the header', async () => {
    const p = join(dir, 'cells.trace');
    const exp = await writeSynthetic(p, BASE, { cells: [1, 2, 3, 4] });
    const { recs } = await readAll(p);
    const h = recs[0] as HeaderRecord;
    const want: number[] = [];
    for (let y = 2; y <= 4; y++) for (let x = 1; x <= 3; x++) want.push(y * 6 + x);
    expect(Array.from(h.traced_cells)).toEqual(want);
    expect(h.n_traced).toBe(9);
    const sw = sweepsOf(recs);
    expect(sw.length).toBe(30);
    sw.forEach((r, k) => {
      expect(r.n_cells).toBe(9);
      expect(r.states.length).toBe(2);
      expect(Array.from(unpackStates(r))).toEqual(Array.from(bits(exp[k].spins, want)));
    });
  });

  it('rejects bad thinning options with clear errors', async () => {
    // OptionErrors named as the options are (every, cells, stages), as every other library call's
    expect(() => openTraceWriter(join(dir, 'x.trace'), { every: 0 })).toThrow(new OptionError('every', 0, 'must be an integer >= 1'));
    expect(() => openTraceWriter(join(dir, 'x.trace'), { cells: [3, 0, 1, 2] })).toThrow('cells = [3,0,1,2]: need x0 <= x1 and y0 <= y1');
    expect(() => openTraceWriter(join(dir, 'x.trace'), { stages: [-1] })).toThrow('stages = [-1]: must be a non-empty list of integers >= 0');
    expect(() => openTraceWriter(join(dir, 'x.trace'), { stages: [-1] })).toThrow(OptionError);
    const w = openTraceWriter(join(dir, 'x.trace'), { cells: [0, 0, 6, 2] });
    expect(() => w.header(header(BASE))).toThrow(/outside the 6x6 grid/);
    await w.close();
    const w2 = openTraceWriter(join(dir, 'x.trace'), { stages: [3] });
    expect(() => w2.header(header(BASE))).toThrow(/stage 3 does not exist \(the run has 3\)/);
    await w2.close();
    expect(() => openTraceWriter(join(dir, 'no-such-dir', 'x.trace'))).toThrow(/no-such-dir does not exist/);
    expect(parseCellRect('1, 2,3,4')).toEqual([1, 2, 3, 4]);
    expect(() => parseCellRect('1,2,3')).toThrow(UserError);
    expect(parseIndexList('stages', '0,3-5,3')).toEqual([0, 3, 4, 5]);
    expect(() => parseIndexList('stages', '5-3')).toThrow(/backwards/);
  });

  it('bit-packs states: bit i at byte i>>3, bit i&7, 1 = +1, for any length', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 1;
    for (const n of [1, 7, 8, 9, 15, 16, 17, 37, 4900]) {
      const spins = Float64Array.from({ length: n }, () => (rnd() ? 1 : -1));
      const packed = packStates(spins, null, n);
      expect(packed.length).toBe((n + 7) >> 3);
      for (let i = 0; i < n; i++) expect((packed[i >> 3] >> (i & 7)) & 1).toBe(spins[i] > 0 ? 1 : 0);
      expect(Array.from(unpackBits(packed, n))).toEqual(Array.from(spins, (s) => (s > 0 ? 1 : 0)));
      const cells = Int32Array.from({ length: Math.ceil(n / 2) }, (_, k) => n - 1 - 2 * k);
      expect(Array.from(unpackBits(packStates(spins, cells, cells.length), cells.length))).toEqual(Array.from(bits(spins, cells)));
    }
    // the exact layout: cells 0 and 9 up -> bytes 0x01, 0x02
    const s = new Float64Array(10).fill(-1);
    s[0] = 1;
    s[9] = 1;
    expect(Array.from(packStates(s, null, 10))).toEqual([0x01, 0x02]);
  });

  it('reads a trace cut at every byte of its last records up to the cut, and reports the cut', async () => {
    const p = join(dir, 'cut-src.trace');
    const { full, ends } = await baseTrace(p);
    const cutFile = join(dir, 'cut.trace');
    const from = ends[ends.length - 5]; // the last four records: three sweeps... and stage_end, end
    for (let cut = from; cut < full.length; cut++) {
      writeFileSync(cutFile, full.subarray(0, cut));
      const { recs, reader } = await readAll(cutFile);
      const whole = ends.filter((e) => e <= cut).length;
      expect(recs.length, `cut at ${cut}`).toBe(whole);
      const atBoundary = ends.includes(cut);
      expect(reader.truncated, `cut at ${cut}`).toBe(!atBoundary);
      if (!atBoundary) expect(reader.truncatedAt).toBe(ends[whole - 1]);
      expect(reader.complete).toBe(false);
    }
    writeFileSync(cutFile, full.subarray(0, from + 7));
    const s = await inspectTrace(cutFile);
    expect(s).toMatchObject({ truncated: true, truncated_at_byte: from, complete: false, energy_source: 'partial', bytes: from + 7 });
    expect(s.error).toBeUndefined();
    expect(s.energy_j.total).toBeGreaterThan(0);
    await expect(async () => {
      for await (const r of readTrace(cutFile, { strict: true })) void r;
    }).rejects.toThrow(/cut short at byte/);
    // cut inside the header: nothing to read, said plainly
    writeFileSync(cutFile, full.subarray(0, ends[0] - 3));
    await expect(inspectTrace(cutFile)).rejects.toThrow(/not a dtca trace \(no whole record .*cut short before its header/);
  });

  it('damage in the middle: a clear error with the byte offset, after every record before it', async () => {
    const p = join(dir, 'dmg-src.trace');
    const { full, ends } = await baseTrace(p);
    const bad = join(dir, 'dmg.trace');
    const k = 12; // a sweep record in the middle
    const start = ends[k - 1];
    for (let b = start; b < ends[k]; b++) {
      const d = Buffer.from(full);
      d[b] ^= 0xff;
      writeFileSync(bad, d);
      const { recs, error } = await readUntilError(bad);
      expect(error, `byte ${b}`).toBeInstanceOf(UserError);
      expect(error?.message).toMatch(new RegExp(`corrupt at byte ${start} \\(record ${k}\\)`));
      expect(recs.length).toBe(k);
    }
    // a zeroed range across two records
    const d = Buffer.from(full);
    d.fill(0, ends[20] - 10, ends[20] + 30);
    writeFileSync(bad, d);
    let r = await readUntilError(bad);
    expect(r.recs.length).toBe(20);
    expect(r.error?.message).toMatch(/corrupt at byte \d+ \(record 20\)/);
    // a length that claims more than the file holds: damage, not a cut, since whole records follow
    const d2 = Buffer.from(full);
    d2.set([0xc6, 0x7f, 0xff, 0xff, 0xff], ends[9]);
    writeFileSync(bad, d2);
    r = await readUntilError(bad);
    expect(r.recs.length).toBe(10);
    expect(r.error?.message).toMatch(
      new RegExp(`corrupt at byte ${ends[9]} \\(record 10\\): a damaged record \\(a whole record follows at byte ${ends[10]}\\)`),
    );
    const s = await inspectTrace(bad);
    expect(s.records).toBe(10);
    expect(s.error).toMatch(/corrupt at byte/);
    expect(s.truncated).toBe(false);
  });

  it('a record that gives a key twice (its CRC good): refused, naming the key, after every record before it', async () => {
    const p = join(dir, 'twice-src.trace');
    const { full, ends } = await baseTrace(p);
    const k = 14;
    expect((await readAll(p)).recs[k].type).toBe('sweep');
    const bad = join(dir, 'twice.trace');
    writeFileSync(bad, keyTwiceIn(full, ends, k, 'chain', 'stage')); // stage twice, no chain
    const { recs, error } = await readUntilError(bad);
    expect(recs.length).toBe(k);
    expect(error).toBeInstanceOf(UserError);
    expect(error?.message).toBe(`${bad}: corrupt at byte ${ends[k - 1]} (record ${k}): "stage" is given twice in one record; the ${k} records before it read`);
  });

  it("damage inside the header: one line naming the file and the header, never the decoder's own message", async () => {
    const p = join(dir, 'hdr-src.trace');
    const { full, ends } = await baseTrace(p);
    const bad = join(dir, 'hdr.trace');
    // a token msgpack never uses, then an extension type no reader knows, right after "format": "dtca-trace"
    const keys = full.indexOf('dtca-trace') + 'dtca-trace'.length;
    for (const token of [0xc1, 0xd4]) {
      const d = Buffer.from(full);
      d[keys] = d[keys + 1] = token;
      writeFileSync(bad, d);
      const { recs, error } = await readUntilError(bad);
      expect(recs.length).toBe(0);
      expect(error?.message).toBe(`${bad}: corrupt at byte 0 (record 0): the header is damaged (its bytes do not decode as msgpack); no record before it`);
    }
    // every byte of the header flipped: the line is the reader's, whatever the decoder made of it
    for (let b = 0; b < ends[0]; b++) {
      const d = Buffer.from(full);
      d[b] ^= 0xff;
      writeFileSync(bad, d);
      const { error } = await readUntilError(bad);
      expect(error, `byte ${b}`).toBeInstanceOf(UserError);
      expect(error!.message, `byte ${b}`).toMatch(
        new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (not a dtca trace|corrupt at byte 0 \\(record 0\\))`),
      );
      expect(error!.message, `byte ${b}`).not.toMatch(/MessagePack|extension|Invalid property|Unexpected end|token|buffer/i);
    }
  });

  it('not a trace, a newer version, a missing file: clear errors', async () => {
    const cases: [string, Buffer | string, RegExp][] = [
      ['json', '{"format":"dtca-trace"}', /not a dtca trace/],
      ['text', 'hello world\n', /not a dtca trace/],
      ['empty', '', /not a dtca trace \(the file is empty\)/],
      [
        'other-map',
        makePackr().pack({ type: 'header', format: 'something-else', version: 1 }),
        /not a dtca trace \(first record has type "header", format "something-else"\)/,
      ],
      ['model', makePackr().pack({ format: 'dtca-model', version: 1 }), /not a dtca trace/],
      ['garbage', Buffer.from([0xc1, 1, 2, 3]), /not a dtca trace/],
      [
        'newer',
        encodeRecord(makePackr(), { type: 'header', format: 'dtca-trace', version: 3 }),
        /trace format version 3 is newer than this dtca reads \(version 2\)/,
      ],
    ];
    for (const [name, data, re] of cases) {
      const p = join(dir, `${name}.bin`);
      writeFileSync(p, data);
      await expect(inspectTrace(p), name).rejects.toThrow(re);
      const { recs, error } = await readUntilError(p);
      expect(recs.length).toBe(0);
      expect(error).toBeInstanceOf(UserError);
    }
    await expect(inspectTrace(join(dir, 'missing.trace'))).rejects.toThrow(/cannot read \(no such file\)/);
    await expect(inspectTrace(dir)).rejects.toThrow(/is a directory/);
  });

  it('streams: a header larger than the read chunk and a file of many chunks', async () => {
    const s: Synth = { L: 64, stages: 2, chains: 4, sweeps: 300, pad: 200_000 };
    const p = join(dir, 'big.trace');
    const exp = await writeSynthetic(p, s);
    expect(readFileSync(p).length).toBeGreaterThan(3 << 20);
    const { recs, reader, ends } = await readAll(p);
    expect(ends[0]).toBeGreaterThan(1 << 20);
    const h = recs[0] as HeaderRecord;
    const pad = h.model.pad as Float64Array;
    expect(pad.length).toBe(200_000);
    expect(pad[199_999]).toBe(199_999 / 3);
    const sw = sweepsOf(recs);
    expect(sw.length).toBe(2400);
    expect(reader.complete).toBe(true);
    const all = Array.from({ length: 4096 }, (_, i) => i);
    for (const k of [0, 777, 2399]) expect(Array.from(unpackStates(sw[k]))).toEqual(Array.from(bits(exp[k].spins, all)));
    // cut in the middle of the big file: everything before the cut
    const cut = join(dir, 'big-cut.trace');
    writeFileSync(cut, readFileSync(p).subarray(0, ends[1500] + 100));
    const c = await readAll(cut);
    expect(c.recs.length).toBe(1501);
    expect(c.reader.truncatedAt).toBe(ends[1500]);
  });
});

// ----------------------------------------------------------------------------------------------

const pyCheck = spawnSync(PY, ['-c', 'import msgpack, numpy'], { encoding: 'utf8' });
const pyOk = pyCheck.status === 0;
if (!pyOk && !process.env.CI) {
  console.warn(`trace tests: skipping the Python reader tests: ${PY} cannot import msgpack and numpy (install python3-msgpack python3-numpy)`);
}
const pyIt = pyOk || process.env.CI ? it : it.skip;

function py(args: string[], input?: string) {
  if (!pyOk) throw new Error(`${PY} cannot import msgpack and numpy (CI is set, so this fails): ${pyCheck.stderr ?? pyCheck.error}`);
  const r = spawnSync(PY, args, { encoding: 'utf8', input, env: { ...process.env, PYTHONPATH: TRACES_DIR, PYTHONDONTWRITEBYTECODE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PY_DUMP = `
import json, sys, warnings
import numpy as np
import dtca_trace
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    try:
        h, t = dtca_trace.load(sys.argv[1])
    except dtca_trace.TraceError as e:
        recs = []
        try:
            for r in dtca_trace.iter_records(sys.argv[1]):
                recs.append(r['type'])
        except dtca_trace.TraceError:
            pass
        print(json.dumps({'error': str(e), 'offset': e.offset, 'before': len(recs)}))
        sys.exit(0)
print(json.dumps({
  'n_traced': int(h['n_traced']), 'traced_cells': h['traced_cells'].tolist(), 'L': h['layout']['L'],
  'image_dtype': str(h['layout']['image'].dtype), 'betas': h['model']['betas'].tolist(),
  'chain': t.chain.tolist(), 'stage': t.stage.tolist(), 'sweep': t.sweep.tolist(), 'cycle': t.cycle.tolist(),
  'time_s': t.time_s.tolist(), 'toggles': t.toggles.tolist(), 'states': t.states.tolist(), 'states_dtype': str(t.states.dtype),
  'energy_total': t.energy_total.tolist(), 'energy_rng': t.energy['rng'].tolist(),
  'truncated': t.truncated, 'truncated_at': t.truncated_at, 'complete': t.complete,
  'end_total': None if t.end is None else t.end['energy_j']['total'], 'stage_records': len(t.stage_records),
  'warnings': [str(x.message) for x in w],
}))
`;

describe('Python reader (traces/dtca_trace/)', () => {
  pyIt('reads what the TS writer wrote: header, columns, states, energy', async () => {
    const p = join(dir, 'py.trace');
    const exp = await writeSynthetic(p, BASE, { cells: [0, 1, 5, 3], every: 2 });
    const { recs } = await readAll(p);
    const h = recs[0] as HeaderRecord;
    const sw = sweepsOf(recs);
    const r = py(['-c', PY_DUMP, p]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.n_traced).toBe(18);
    expect(o.traced_cells).toEqual(Array.from(h.traced_cells));
    expect(o.image_dtype).toBe('int32');
    expect(o.betas).toEqual([1, 1.1, 1.2]);
    expect(o.chain).toEqual(sw.map((x) => x.chain));
    expect(o.stage).toEqual(sw.map((x) => x.stage));
    expect(o.sweep).toEqual(sw.map((x) => x.sweep));
    expect(o.cycle).toEqual(exp.map((x) => x.cycle));
    expect(o.time_s).toEqual(sw.map((x) => x.time_s));
    expect(o.toggles).toEqual(sw.map((x) => x.toggles));
    expect(o.states_dtype).toBe('uint8');
    expect(o.states).toEqual(exp.map((x) => Array.from(bits(x.spins, h.traced_cells))));
    expect(o.energy_total).toEqual(sw.map((x) => x.energy_j.total));
    expect(o.energy_rng).toEqual(sw.map((x) => x.energy_j.rng));
    expect(o).toMatchObject({ truncated: false, truncated_at: null, complete: true, end_total: energy(99999).total, stage_records: 6, warnings: [] });
  });

  pyIt('reads a cut trace up to its last whole record and says so; damage and non-traces raise TraceError', async () => {
    const p = join(dir, 'py-src.trace');
    const { full, ends } = await baseTrace(p);
    const f = join(dir, 'py-cut.trace');
    for (const cut of [ends[ends.length - 3] + 1, ends[ends.length - 2] + 17, full.length - 1]) {
      writeFileSync(f, full.subarray(0, cut));
      const ts = await readAll(f);
      const o = JSON.parse(py(['-c', PY_DUMP, f]).stdout);
      expect(o.truncated).toBe(true);
      expect(o.truncated_at).toBe(ts.reader.truncatedAt);
      expect(o.chain.length).toBe(sweepsOf(ts.recs).length);
      expect(o.complete).toBe(false);
      expect(o.warnings.join(' ')).toMatch(/cut short; whole records end at byte/);
    }
    const d = Buffer.from(full);
    d[ends[14] + 40] ^= 0xff;
    writeFileSync(f, d);
    let o = JSON.parse(py(['-c', PY_DUMP, f]).stdout);
    expect(o.error).toMatch(new RegExp(`corrupt at byte ${ends[14]} \\(record 15\\)`));
    expect(o.offset).toBe(ends[14]);
    expect(o.before).toBe(15);
    const d2 = Buffer.from(full);
    d2.set([0xc6, 0x7f, 0xff, 0xff, 0xff], ends[9]);
    writeFileSync(f, d2);
    o = JSON.parse(py(['-c', PY_DUMP, f]).stdout);
    expect(o.error).toMatch(new RegExp(`corrupt at byte ${ends[9]}`));
    expect(o.before).toBe(10);
    // a record that gives a key twice, its CRC good: refused as dtca refuses it
    writeFileSync(f, keyTwiceIn(full, ends, 14, 'chain', 'stage')); // record 14: a sweep record
    o = JSON.parse(py(['-c', PY_DUMP, f]).stdout);
    expect(o.error).toBe(`${f}: corrupt at byte ${ends[13]} (record 14): "stage" is given twice in one record; the 14 records before it read`);
    expect(o.before).toBe(14);
    writeFileSync(f, '{"not": "a trace"}');
    expect(JSON.parse(py(['-c', PY_DUMP, f]).stdout).error).toMatch(/not a dtca trace/);
    writeFileSync(f, encodeRecord(makePackr(), { type: 'header', format: 'dtca-trace', version: 3 }));
    expect(JSON.parse(py(['-c', PY_DUMP, f]).stdout).error).toMatch(/format version 3 is newer than this reader \(version 2\)/);
    writeFileSync(f, '');
    expect(JSON.parse(py(['-c', PY_DUMP, f]).stdout).error).toMatch(/not a dtca trace \(the file is empty\)/);
  });

  pyIt(
    'decodes each record once, the key check after the CRC as in dtca: records split across reads, a key twice behind a bad CRC or in a record cut short',
    async () => {
      const { full, ends } = await baseTrace(join(dir, 'py-once-src.trace'));
      // msgpack.unpackb refused: a record decoded a second time (for the key check) fails; CHUNK:
      // the bytes per read (7: every record arrives in pieces, and its maps' keys are checked across them)
      const once = `
import json, sys, warnings, msgpack
import dtca_trace
dtca_trace.CHUNK = int(sys.argv[2])
def twice(*a, **k):
    raise AssertionError("a record decoded a second time")
msgpack.unpackb = twice
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        it = dtca_trace.iter_records(sys.argv[1])
        n = sum(1 for _ in it)
        print(json.dumps({"status": it.status, "records": n}))
    except dtca_trace.TraceError as e:
        print(json.dumps({"error": str(e)}))
`;
      const read = (f: string, chunk: number) => {
        const r = py(['-c', once, f, String(chunk)]);
        expect(r.stderr).toBe('');
        return JSON.parse(r.stdout) as { status?: string; records?: number; error?: string };
      };
      const f = join(dir, 'py-once.trace');
      writeFileSync(f, full);
      for (const chunk of [7, 1 << 20]) expect(read(f, chunk)).toEqual({ status: 'complete', records: ends.length });
      // record 14 (a sweep record) gives "stage" twice, its CRC good
      const twice = keyTwiceIn(full, ends, 14, 'chain', 'stage');
      writeFileSync(f, twice);
      const said = `${f}: corrupt at byte ${ends[13]} (record 14): "stage" is given twice in one record; the 14 records before it read`;
      for (const chunk of [7, 1 << 20]) expect(read(f, chunk)).toEqual({ error: said });
      expect((await readUntilError(f)).error?.message).toBe(said);
      // the same record with its CRC bad: the CRC is what both readers name (dtca checks it first)
      const badCrc = Buffer.from(twice);
      badCrc[ends[14] - 1] ^= 0xff;
      writeFileSync(f, badCrc);
      const crc = `${f}: corrupt at byte ${ends[13]} (record 14): sweep record fails its CRC check; the 14 records before it read`;
      for (const chunk of [7, 1 << 20]) expect(read(f, chunk)).toEqual({ error: crc });
      expect((await readUntilError(f)).error?.message).toBe(crc);
      // cut short inside it, after the key given twice: a cut, not damage, in both
      writeFileSync(f, twice.subarray(0, ends[14] - 3));
      for (const chunk of [7, 1 << 20]) expect(read(f, chunk)).toEqual({ status: 'truncated', records: 14 });
      const ts = await readAll(f);
      expect([ts.reader.truncated, ts.recs.length]).toEqual([true, 14]);
    },
  );

  pyIt("checks a record's CRC in place: no copy of its bytes (the check copied every record twice), the same verdicts", () => {
    // a 1 MiB record (its crc32 last, a uint32) checked under tracemalloc: the copies showed as 2 MiB
    const code = `
import json, tracemalloc, zlib, msgpack
import dtca_trace
raw = bytearray(msgpack.packb({"type": "sweep", "states": bytes(1 << 20), "crc32": 0xFFFFFFFF}))
crc = zlib.crc32(bytes(raw[:-4]))
raw[-4:] = crc.to_bytes(4, "big")
rec = {"type": "sweep", "crc32": crc}
bad = bytearray(raw)
bad[100] ^= 1
verdicts = [dtca_trace._crc_ok(x, rec) for x in (raw, bytes(raw), memoryview(raw), bad, raw[:-1], raw[:4])]
tracemalloc.start()
tracemalloc.reset_peak()
ok = dtca_trace._crc_ok(raw, rec)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"verdicts": verdicts, "ok": ok, "peak": peak}))
`;
    const r = py(['-c', code]);
    expect(r.stderr).toBe('');
    const o = JSON.parse(r.stdout) as { verdicts: boolean[]; ok: boolean; peak: number };
    expect(o.verdicts).toEqual([true, true, true, false, false, false]);
    expect(o.ok).toBe(true);
    // a memoryview and the comparison: well under a kibibyte; a copy of the record: 1 MiB or more
    expect(o.peak).toBeLessThan(64 * 1024);
  });

  pyIt('examples: autocorr, energy, decode_image; python -m dtca_trace as a script', async () => {
    const p = join(dir, 'ex.trace');
    const exp = await writeSynthetic(p, { ...BASE, sweeps: 12 });
    const ex = (name: string, ...args: string[]) => py([join(TRACES_DIR, 'examples', name), ...args]);
    let r = ex('autocorr.py', p);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lag-1 autocorrelation of 20 visible cells \(lag = 1 sweep\)/);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => /^\s+\d+\s+2\s+24\s+-?\d\.\d{4}$/.test(l)).length,
    ).toBe(3);
    r = ex('energy.py', p);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stage\s+sweep\s+E_sweep/);
    expect(Number(/run total\s+(\S+) J/.exec(r.stdout)?.[1])).toBeCloseTo(energy(99999).total, 15);
    expect(r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\S+e-\d+\s+\S+e-\d+$/.test(l)).length).toBe(3 * 12);
    r = ex('decode_image.py', p);
    expect(r.code).toBe(0);
    const last = exp[exp.length - 1];
    const img = header(BASE).layout.image;
    const want = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => (last.spins[img[y * 4 + x]] > 0 ? '#' : '.')).join(''));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`record ${exp.length - 1}: chain ${last.chain}, stage ${last.stage}, sweep ${last.sweep}, cycle ${last.cycle}`);
    expect(lines.slice(1, 5)).toEqual(want);
    expect(lines[5]).toMatch(/^label: class [01]/);
    r = ex('decode_image.py', p, '0');
    expect(r.stdout.split('\n')[0]).toMatch(/^record 0: chain 0, stage 2, sweep 0/);
    r = ex('decode_image.py', p, '9999');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/record 9999: the trace has \d+ sweep records/);
    const partial = join(dir, 'ex-cells.trace');
    await writeSynthetic(partial, BASE, { cells: [0, 0, 2, 2] });
    r = ex('decode_image.py', partial);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/image cells are not traced/);
    r = py(['-m', 'dtca_trace', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sweeps\s+72 records/);
    r = ex('autocorr.py', join(dir, 'nope.trace'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read/);
  });
});

describe('TS example', () => {
  it('reader_example.ts runs', async () => {
    const p = join(dir, 'tsex.trace');
    await writeSynthetic(p, BASE);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(TRACES_DIR, 'examples', 'reader_example.ts'), p], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/dtca-trace v1: L=6, 36 traced cells, 20 visible/);
    expect(r.stdout).toMatch(/stage 0: mean visible spin -?\d\.\d{4}/);
  });
});

// ----------------------------------------------------------------------------------------------

/** Parses a .npy file written by dtca: dtype descr, shape and the raw data bytes. */
function readNpy(path: string) {
  const b = readFileSync(path);
  expect(b.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const hl = b.readUInt16LE(8);
  const head = b.subarray(10, 10 + hl).toString('latin1');
  expect((10 + hl) % 64).toBe(0);
  const descr = /'descr': '([^']+)'/.exec(head)?.[1];
  const shape = (/'shape': \(([^)]*)\)/.exec(head)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const data = b.subarray(10 + hl);
  return { descr, shape, data };
}

describe('dtca trace inspect | export', () => {
  it('inspect --json and the table', async () => {
    const p = join(dir, 'cli.trace');
    await writeSynthetic(p, BASE, { every: 2 });
    let r = dtca(['trace', 'inspect', p, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ records: 26, sweep_records: 18, stages: 3, chains: 2, sweeps: 3, truncated: false, complete: true, L: 6, n_traced: 36 });
    expect(s.bytes).toBe(readFileSync(p).length);
    expect(s.energy_j).toEqual(energy(99999));
    expect(s.by_type).toEqual({ header: 1, stage_begin: 3, sweep: 18, stage_end: 3, end: 1 });
    r = dtca(['trace', 'inspect', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/records\s+26 \(1 header, 3 stage_begin, 18 sweep, 3 stage_end, 1 end\)/);
    expect(r.stdout).toMatch(/status\s+complete/);
    expect(r.stdout).toMatch(/thinning\s+every 2, stages all, chains all, cells all/);
    // cut short: a report, exit 0
    const full = readFileSync(p);
    const cut = join(dir, 'cli-cut.trace');
    writeFileSync(cut, full.subarray(0, full.length - 9));
    r = dtca(['trace', 'inspect', cut, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ truncated: true, complete: false, records: 25 });
    r = dtca(['trace', 'inspect', cut]);
    expect(r.stdout).toMatch(/status\s+cut short: whole records end at byte \d+ of \d+/);
  });

  it('inspect: bad input is one line on stderr and exit 2', async () => {
    let r = dtca(['trace', 'inspect', join(dir, 'missing.trace')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: .*missing\.trace: cannot read \(no such file\)\n$/);
    const notTrace = join(dir, 'not.trace');
    writeFileSync(notTrace, '{"x": 1}');
    r = dtca(['trace', 'inspect', notTrace]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: .*not a dtca trace/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // damage: the summary of what read, then the error
    const p = join(dir, 'cli-dmg-src.trace');
    const { full: d, ends } = await baseTrace(p);
    d[ends[5] + 20] ^= 0x5a;
    const dmg = join(dir, 'cli-dmg.trace');
    writeFileSync(dmg, d);
    r = dtca(['trace', 'inspect', dmg, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 6 });
    expect(r.stderr).toMatch(new RegExp(`^dtca: .*corrupt at byte ${ends[5]} \\(record 6\\)`));
    r = dtca(['trace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/name a trace command/);
  });

  it('export --csv and --npy', async () => {
    const p = join(dir, 'exp.trace');
    const exp = await writeSynthetic(p, BASE, { cells: [0, 0, 4, 1] });
    const { recs } = await readAll(p);
    const sw = sweepsOf(recs);
    const csv = join(dir, 'out.csv');
    const npyDir = join(dir, 'npy');
    const r = dtca(['trace', 'export', p, '--csv', csv, '--npy', npyDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(['chain,stage,sweep,cycle,time_s,toggles,energy_total_j', ...COMPONENTS.map((c) => `energy_${c}_j`)].join(','));
    expect(lines.length).toBe(1 + 30);
    const row = lines[7].split(',').map(Number);
    const s6 = sw[6];
    expect(row.slice(0, 7)).toEqual([s6.chain, s6.stage, s6.sweep, s6.cycle, s6.time_s, s6.toggles, s6.energy_j.total]);
    expect(row.slice(7)).toEqual(COMPONENTS.map((c) => s6.energy_j[c]));

    const names = readdirSync(npyDir).sort();
    const layoutFiles = ['layout', 'colour', 'pixel_index', 'label_index', 'pixel_column', 'label_column'];
    const stageFiles = ['stage', 'kind', 'cycle', 'time_s', 'energy_total_j', ...COMPONENTS.map((c) => `energy_${c}_j`)].map((n) => `stage_records_${n}`);
    expect(names).toEqual(
      [
        'cells',
        'chain',
        'cycle',
        'energy_total_j',
        'stage',
        'states',
        'sweep',
        'time_s',
        'toggles',
        ...COMPONENTS.map((c) => `energy_${c}_j`),
        ...layoutFiles,
        ...stageFiles,
      ]
        .map((n) => `${n}.npy`)
        .sort(),
    );
    // issue 19 item 13: the cell layout (pixels, label copies, their states.npy columns) ...
    const h = header(BASE);
    const i32 = (f: string) => {
      const a = readNpy(join(npyDir, `${f}.npy`));
      expect(a.descr).toBe('<i4');
      return { shape: a.shape, v: Array.from(new Int32Array(new Uint8Array(a.data).buffer)) };
    };
    const lay = readNpy(join(npyDir, 'layout.npy'));
    expect(lay.shape).toEqual([36]);
    expect(Array.from(lay.data)).toEqual(Array.from({ length: 36 }, (_, c) => (h.layout.image.includes(c) ? 1 : h.layout.label.includes(c) ? 2 : 0)));
    expect(i32('pixel_index')).toEqual({ shape: [16], v: Array.from(h.layout.image) });
    expect(i32('label_index')).toEqual({ shape: [2, 2], v: Array.from(h.layout.label) });
    // traced cells: rows 0 and 1, x 0..4 (cells 0-4, 6-10): pixel (0,0) is cell 7, column 6
    const pc = i32('pixel_column');
    expect(pc.v.slice(0, 4)).toEqual([6, 7, 8, 9]);
    expect(pc.v.slice(4)).toEqual(new Array(12).fill(-1));
    expect(i32('label_column').v).toEqual([-1, -1, -1, -1]);
    // ... and the stage records: begin (programming) and end (the stage's totals), noisiest stage first
    expect(i32('stage_records_stage').v).toEqual([2, 2, 1, 1, 0, 0]);
    expect(Array.from(readNpy(join(npyDir, 'stage_records_kind.npy')).data)).toEqual([0, 1, 0, 1, 0, 1]);
    const f64 = (f: string) => Array.from(new Float64Array(new Uint8Array(readNpy(join(npyDir, `${f}.npy`)).data).buffer));
    expect(f64('stage_records_energy_total_j')).toEqual([2, 1, 0].flatMap((k) => [energy(100 + k).total, energy(1000 + k).total]));
    expect(f64(`stage_records_energy_${COMPONENTS[0]}_j`)).toEqual([2, 1, 0].flatMap((k) => [energy(100 + k)[COMPONENTS[0]], energy(1000 + k)[COMPONENTS[0]]]));
    const st = readNpy(join(npyDir, 'states.npy'));
    expect(st.descr).toBe('|u1');
    expect(st.shape).toEqual([30, 10]);
    const cells = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10];
    exp.forEach((e, k) => expect(Array.from(st.data.subarray(k * 10, k * 10 + 10))).toEqual(Array.from(bits(e.spins, cells))));
    const cy = readNpy(join(npyDir, 'cycle.npy'));
    expect(cy.descr).toBe('<i8');
    expect(cy.shape).toEqual([30]);
    expect(Number(cy.data.readBigInt64LE(8 * 6))).toBe(s6.cycle);
    const cl = readNpy(join(npyDir, 'cells.npy'));
    expect(cl.descr).toBe('<i4');
    expect(Array.from(new Int32Array(new Uint8Array(cl.data).buffer))).toEqual(cells);
    const tm = readNpy(join(npyDir, 'time_s.npy'));
    expect(tm.descr).toBe('<f8');
    expect(new Float64Array(new Uint8Array(tm.data).buffer)[6]).toBe(s6.time_s);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);

    if (pyOk) {
      const o = py([
        '-c',
        `import numpy as np, json, sys; d=sys.argv[1]; s=np.load(d+'/states.npy'); c=np.load(d+'/cycle.npy'); print(json.dumps({'shape': list(s.shape), 'dtype': str(s.dtype), 'sum': int(s.sum()), 'c6': int(c[6])}))`,
        npyDir,
      ]);
      expect(o.code).toBe(0);
      expect(JSON.parse(o.stdout)).toEqual({
        shape: [30, 10],
        dtype: 'uint8',
        sum: exp.reduce((a, e) => a + bits(e.spins, cells).reduce((x, y) => x + y, 0), 0),
        c6: s6.cycle,
      });
    }
  });

  it('export: errors leave nothing behind', async () => {
    const p = join(dir, 'exp2.trace');
    await writeSynthetic(p, BASE);
    let r = dtca(['trace', 'export', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: trace export: name an output: --csv OUT, --npy DIR and\/or --vcd OUT.vcd\n$/);
    const { ends } = await readAll(p);
    const d = readFileSync(p);
    d[ends[10] + 30] ^= 0xff;
    const dmg = join(dir, 'exp2-dmg.trace');
    writeFileSync(dmg, d);
    const out = join(dir, 'exp2-out');
    mkdirSync(out);
    r = dtca(['trace', 'export', dmg, '--csv', join(out, 'a.csv'), '--npy', join(out, 'npy')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/corrupt at byte/);
    expect(readdirSync(out)).toEqual([]);
    mkdirSync(join(out, 'keep'));
    r = dtca(['trace', 'export', dmg, '--npy', join(out, 'keep')]);
    expect(r.code).toBe(2);
    expect(readdirSync(out)).toEqual(['keep']);
    expect(readdirSync(join(out, 'keep'))).toEqual([]);
    r = dtca(['trace', 'export', p, '--csv', join(out, 'no', 'such', 'dir.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: --csv .*: directory .*no.such does not exist; create it first\n$/);
    r = dtca(['trace', 'export', p, '--npy', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists and is not a directory/);
    // an existing directory holding something else is refused, as rng --out refuses it (25 files were written into it)
    const other = join(out, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    r = dtca(['trace', 'export', p, '--npy', other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dtca: --npy .*other: not empty \(notes\.txt\); choose another directory \(or an earlier --npy export\)\n$/);
    expect(readdirSync(other)).toEqual(['notes.txt']);
    // a dangling or looping symbolic link named .npy beside states.npy: refused the same way (was an ENOENT/ELOOP stack trace)
    for (const [name, target] of [
      ['dangling', '/nonexistent-dtca'],
      ['loop', 'a.npy'],
    ]) {
      const d = join(out, name);
      mkdirSync(d);
      writeFileSync(join(d, 'states.npy'), '');
      symlinkSync(target, join(d, 'a.npy'));
      r = dtca(['trace', 'export', p, '--npy', d]);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(/^dtca: --npy .*: not empty \(a\.npy, states\.npy\); choose another directory \(or an earlier --npy export\)\n$/);
    }
    // its own earlier export is written over
    const mine = join(out, 'mine');
    expect(dtca(['trace', 'export', p, '--npy', mine]).code).toBe(0);
    r = dtca(['trace', 'export', p, '--npy', mine]);
    expect(r.code, r.stderr).toBe(0);
    // a cut trace exports its whole records
    const cut = join(dir, 'exp2-cut.trace');
    writeFileSync(cut, readFileSync(p).subarray(0, ends[10] + 5));
    r = dtca(['trace', 'export', cut, '--csv', join(out, 'cut.csv')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'cut.csv'), 'utf8').trim().split('\n').length).toBe(1 + 9);
    expect(r.stderr).toMatch(/cut short/);
  });
});

describe('hand-written sweep record encoder', () => {
  it('writes exactly the bytes msgpackr writes for the same record', () => {
    const packr = makePackr();
    let seed = 99;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const cases: [number, number, number, number, number][] = [
      [0, 0, 0, 0, 0],
      [1, 7, 249, 1234, 4900],
      [300, 127, 128, 70000, 2 ** 33 + 5],
      [65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 40],
    ];
    for (const [chain, stage, sweep, toggles, cycle] of cases) {
      for (const nCells of [1, 36, 4900, 600000]) {
        const states = Uint8Array.from({ length: (nCells + 7) >> 3 }, () => Math.floor(rnd() * 256));
        const energy_j: Record<string, number> = {
          total: rnd() * 1e-12,
          rng: 3.5e-16,
          bias_network: rnd() * 1e-15,
          programming: 0,
          init: 0,
          readout: 1,
          links: -0.5,
          // negative integers in each of msgpack's signed forms, and -0 (msgpackr writes it as the integer 0)
          n5: -5,
          n100: -100,
          n40000: -40000,
          nmin: -(2 ** 31),
          nzero: -0,
        };
        const time_s = cycle / 1e7;
        const mine = encodeSweepRecord({ chain, stage, sweep, cycle, time_s, toggles, n_cells: nCells, states, energy_j });
        const ref = encodeRecord(packr, {
          type: 'sweep',
          chain,
          stage,
          sweep,
          cycle: counter(cycle),
          time_s,
          toggles: counter(toggles),
          n_cells: nCells,
          states: { dtype: 'uint8', shape: [states.length], data: states },
          energy_j,
        });
        expect(Buffer.from(mine).equals(ref)).toBe(true);
      }
    }
  });
});
