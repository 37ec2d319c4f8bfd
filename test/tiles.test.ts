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
