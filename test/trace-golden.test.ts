// Traced DTM runs against trace files written before the per-sweep path was made faster (issue 17
// item 2): every record, sweep records included, byte for byte. The runs cover each engine that
// writes sweep records from different inputs (the many-chain engine's packed spins and per-lane
// tallies, the single-chain engine's spins) under ideal and cycle-accurate physics, full and thinned
// traces. The header's creation time is pinned; everything else is what the writer makes.
// To re-record (only when the trace format changes on purpose, said in the same commit):
// DTCA_RECORD_TRACE_GOLDEN=1 npx vitest run test/trace-golden.test.ts
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../sim/config.js';
import { buildChip } from '../sim/chip.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import { openTraceWriter, type TraceOptions } from '../traces/writer.js';
import type { TraceHeader } from '../traces/types.js';
import { newTally, type EngineChoice, type Tally } from '../cells/engine.js';
import { addSweepEvents, sweepEventsOf, sweepEnergyInto } from '../sim/run.js';
import { energyOf, ENERGY_REPORT_KEYS } from '../power/energy.js';
import { chipEvents } from '../sim/chip.js';
import { ExactEvents } from '../power/events.js';

const GOLDEN = new URL('./fixtures/trace-golden.json', import.meta.url);

interface Case {
  name: string;
  ideal: boolean;
  engine: EngineChoice;
  trace: TraceOptions;
}

const cases: Case[] = [
  { name: 'ideal batch full', ideal: true, engine: 'batch', trace: {} },
  { name: 'ideal wasm full', ideal: true, engine: 'wasm', trace: {} },
  { name: 'cycle batch full', ideal: false, engine: 'batch', trace: {} },
  { name: 'cycle wasm full', ideal: false, engine: 'wasm', trace: {} },
  { name: 'cycle reference full', ideal: false, engine: 'reference', trace: {} },
  { name: 'ideal batch thinned', ideal: true, engine: 'batch', trace: { every: 3, stages: [1], chains: [1, 2], cells: [2, 3, 9, 7] } },
];

async function traceOf(c: Case): Promise<string> {
  const sets = ['fabric.L=16', 'fabric.rules=G8', 'seed=3', 'cell.weight_bits=8'];
  const chip = buildChip(resolveConfig('dtca-paper', { ideal: c.ideal, sets }));
  const dtm = newDtmModel({ T: 2, L: 16, rules: 'G8', boundary: 'open', visible: 40, weights: { random: 0.2 }, seed: 4 });
  const dir = mkdtempSync(join(tmpdir(), 'dtca-trace-golden-'));
  try {
    const path = join(dir, 't.dtct');
    const w = openTraceWriter(path, c.trace);
    const header = w.header.bind(w);
    w.header = (h: TraceHeader) => header({ ...h, created: '2026-01-01T00:00:00.000Z', dtca_version: 'golden' });
    await generate(chip, dtm, { images: 3, sweeps: 7, sink: w, engine: c.engine });
    await w.close();
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('trace files', () => {
  it('are byte-identical to the recorded ones', async () => {
    const now: Record<string, string> = {};
    for (const c of cases) now[c.name] = await traceOf(c);
    if (process.env.DTCA_RECORD_TRACE_GOLDEN === '1') writeFileSync(GOLDEN, JSON.stringify(now, null, 1) + '\n');
    expect(now).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  }, 120_000);
});

describe('one chain’s sweep events', () => {
  it('are the ExactEvents path’s, bit for bit, key for key (small and huge counts, first sweep and later), and so is its energy', () => {
    for (const ideal of [true, false]) {
      const chip = buildChip(resolveConfig('dtca-paper', { ideal, sets: ['fabric.L=16', 'fabric.rules=G8'] }));
      const tally = (k: number, big: boolean): Tally => ({
        ...newTally(),
        latches: 128 + k,
        toggles: 37 * k,
        wireQ: 1234567 * k,
        linkToggles: 3 * k,
        dividerQ: big ? 2 ** 51 + 7 * k : 98765 * k + 1,
      });
      for (let k = 0; k < 20; k++) {
        for (const sweep of [0, 1, 5]) {
          const big = k % 7 === 6;
          const t0 = tally(k, big);
          const t1 = tally(k + 3, false);
          const ev = new ExactEvents();
          addSweepEvents(ev, chip, t0, t1, sweep, 1);
          ev.add('leak_cell_cycles', chip.fabric.N * chip.timing.sweepCycles);
          const want = chipEvents(chip, ev);
          const got = sweepEventsOf(chip, t0, t1, sweep);
          expect(Object.keys(got)).toEqual(Object.keys(want));
          for (const key of Object.keys(want) as (keyof typeof want)[]) expect(Object.is(got[key], want[key]), `${key} k=${k} sweep=${sweep}`).toBe(true);
          // the energy a trace record takes: energyOf's values, bit for bit, in its key order
          const e = energyOf(want, chip.table);
          const at = 1 + (k % 3);
          const out = new Float64Array(at + ENERGY_REPORT_KEYS.length).fill(NaN);
          sweepEnergyInto(chip, t0, t1, sweep, out, at);
          expect(Object.keys(e)).toEqual(ENERGY_REPORT_KEYS);
          ENERGY_REPORT_KEYS.forEach((key, q) => expect(Object.is(out[at + q], e[key as keyof typeof e]), `energy ${key} k=${k} sweep=${sweep}`).toBe(true));
        }
      }
    }
  });
});
