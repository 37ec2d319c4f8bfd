// One chain split by bands of rows over 1, 2 and 3 threads (cells/wasm/tiles.ts) against the
// reference engine, bit for bit: the spins after every sweep (read through the tiles' gather),
// per-sweep tallies and events, energy, moments and the final state, over the engine test's
// fabric set (test/engines.test.ts), ideal and cycle physics, delayed links included.
import { describe, it, expect } from 'vitest';
import { cases, trail, firstDifference, type Case } from './helpers/engine-trail.js';
import { buildChip } from '../sim/chip.js';
import { testConfig } from './helpers/chip.js';
import { bandOf, haloRows } from '../cells/wasm/tiles.js';
import { newDtmModel, generate } from '../sim/dtm.js';
import type { Model } from '../sim/model.js';

const one = (c: Case): Case => ({ ...c, chains: 1 });
const L_OF = (c: Case) => buildChip(testConfig(c.sets, c.ideal)).fabric.L;

describe('bands and halos', () => {
  it('bands cover the rows once; a halo is what the band reads and others own', () => {
    for (const [L, T, R, torus] of [
      [70, 3, 10, false],
      [70, 2, 10, true],
      [5, 3, 10, true],
      [9, 2, 1, false],
    ] as const) {
      const owner = new Int32Array(L).fill(-1);
      for (let t = 0; t < T; t++) {
        const [y0, y1] = bandOf(L, T, t);
        for (let y = y0; y < y1; y++) {
          expect(owner[y]).toBe(-1);
          owner[y] = t;
        }
      }
      expect(owner.every((t) => t >= 0)).toBe(true);
      for (let t = 0; t < T; t++) {
        const [y0, y1] = bandOf(L, T, t);
        const { recv } = haloRows(L, R, torus, y0, y1);
        for (const y of recv) expect(owner[y]).not.toBe(t);
        // every row another band sends this band is one it receives
        for (let u = 0; u < T; u++) {
          if (u === t) continue;
          const [v0, v1] = bandOf(L, T, u);
          const { send } = haloRows(L, R, torus, v0, v1);
          for (const y of recv) if (owner[y] === u) expect(send).toContain(y);
        }
      }
    }
  });
});

describe('one chain over 1, 2 and 3 threads = reference engine, bit for bit', () => {
  for (const c0 of cases) {
    const c = one(c0);
    it(c.name, async () => {
      const N = buildChip(testConfig(c.sets, c.ideal)).fabric.N;
      const ref = await trail(c, 'reference');
      for (const tiles of [1, 2, 3]) {
        const t = await trail(c, 'wasm', { tiles });
        expect(t.used).toBe('wasm');
        if (tiles > L_OF(c)) {
          // more threads than rows: refused, said, and run on one thread
          expect(t.tiles).toBe(1);
          expect(t.refused.join()).toMatch(/tiles for/);
        } else expect(t.tiles).toBe(tiles);
        expect(firstDifference(t, ref, N), `${tiles} tiles`).toBe('');
      }
    });
  }
});

describe('DTM generation of one image over 1, 2 and 3 threads = one engine', () => {
  for (const ideal of [true, false]) {
    it(`${ideal ? 'ideal' : 'cycle'} chip: outputs, denoising strip, events and energy`, async () => {
      const model = newDtmModel({ T: 3, L: 20, rules: 'G8', boundary: 'torus', visible: 30, weights: { random: 0.4 }, seed: 4 });
      const cfg = testConfig(['fabric.L=20', 'fabric.rules="G8"', 'fabric.boundary="torus"'], ideal);
      const of = async (tiles?: number) => {
        const g = await generate(buildChip(cfg), model, { images: 1, sweeps: 7, keepChains: 1, tiles, engine: tiles ? 'wasm' : 'reference' });
        return {
          key: JSON.stringify([g.outputs.map((o) => Array.from(o)), g.strip.map((r) => r.map((x) => Array.from(x))), g.events, g.energy]),
          tiles: g.engine.stats.tiles ?? 1,
        };
      };
      const ref = await of();
      for (const tiles of [1, 2, 3]) {
        const t = await of(tiles);
        expect(t.tiles).toBe(tiles);
        expect(t.key === ref.key, `${tiles} tiles`).toBe(true);
      }
    });
  }
});

describe('bands other than threads (several bands on one thread), no lag = reference engine', () => {
  const some = cases.filter((c) => ['ideal, torus', 'cycle, latency on a torus', 'cycle, paper preset (70x70 G12)', 'ideal, clamped cells'].includes(c.name));
  for (const c0 of some) {
    const c = one(c0);
    it(c.name, async () => {
      const N = buildChip(testConfig(c.sets, c.ideal)).fabric.N;
      const ref = await trail(c, 'reference');
      for (const [threads, bands] of [
        [1, 3],
        [2, 5],
      ]) {
        const t = await trail(c, 'wasm', { tiles: threads, tileModel: { bands } });
        expect(t.tiles).toBe(threads);
        expect(firstDifference(t, ref, N), `${bands} bands on ${threads} threads`).toBe('');
      }
    });
  }
});

// A chip boundary whose links deliver late: each band sees the other bands' rows as they were
// `lag` sweeps earlier (cells/wasm/tiles.ts TileModel), against its zero-latency twin.
describe('a late chip boundary against its zero-latency twin', () => {
  const c: Case = { name: 'late boundary', sets: ['fabric.L=30', 'fabric.boundary="torus"'], ideal: false, chains: 1, sweeps: 10 };
  const bands = 3;
  const L = 30;
  const bandRow = (y: number) => {
    for (let b = 0; b < bands; b++) {
      const [y0, y1] = bandOf(L, bands, b);
      if (y >= y0 && y < y1) return b;
    }
    return -1;
  };
  // the model without the couplings that cross a band boundary
  const cut = (m: Model): Model => {
    const st = m.stages[0];
    const ew = Float64Array.from(st.ew, (w, e) => (bandRow(Math.floor(st.ei[e] / L)) === bandRow(Math.floor(st.ej[e] / L)) ? w : 0));
    return { ...m, stages: [{ ...st, ew }] };
  };
  it('lag 0 is the twin; a lag changes the run; the same for 1, 2 and 3 threads', async () => {
    const N = L * L;
    const twin = await trail(c, 'reference');
    expect(firstDifference(await trail(c, 'wasm', { tiles: 2, tileModel: { bands, lag: 0 } }), twin, N)).toBe('');
    const late = await trail(c, 'wasm', { tiles: 1, tileModel: { bands, lag: 2 } });
    expect(firstDifference(late, twin, N)).not.toBe('');
    for (const tiles of [2, 3]) expect(firstDifference(await trail(c, 'wasm', { tiles, tileModel: { bands, lag: 2 } }), late, N), `${tiles} threads`).toBe('');
  });
  it('the first difference lies within reach of a band boundary', async () => {
    const twin = await trail(c, 'reference');
    const late = await trail(c, 'wasm', { tiles: 2, tileModel: { bands, lag: 1 } });
    // the first sweep: colour 0 reads the loaded spins either way; colour 1 reads colour 0's rows of
    // the sweep before (the loaded ones) across a boundary: only cells within R = 10 rows (the rules'
    // reach, G12) of a boundary of another band can differ
    const N = L * L;
    let diff = 0;
    for (let i = 0; i < N; i++) {
      if (late.spins[0][i] === twin.spins[0][i]) continue;
      diff++;
      const y = Math.floor(i / L);
      const near = Array.from({ length: 21 }, (_, k) => k - 10).some((dy) => bandRow((((y + dy) % L) + L) % L) !== bandRow(y));
      expect(near, `cell ${i} (row ${y})`).toBe(true);
    }
    expect(diff).toBeGreaterThan(0);
  });
  it('without couplings across the boundaries, a lag changes nothing: bit for bit the twin', async () => {
    const N = L * L;
    const twin = await trail(c, 'reference', { edit: cut });
    for (const lag of [1, 3]) {
      const late = await trail(c, 'wasm', { tiles: 2, tileModel: { bands, lag }, edit: cut });
      expect(firstDifference(late, twin, N), `lag ${lag}`).toBe('');
    }
  });
  it('a lag needs one chain split into tiles: otherwise an error, never a silent twin', async () => {
    await expect(trail({ ...c, chains: 2 }, 'wasm', { tileModel: { bands, lag: 1 } })).rejects.toThrow(/late chip boundary/);
  });
});
