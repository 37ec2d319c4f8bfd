// Counter draws in bulk (cells/wasm/draws.ts) against rng/counter.ts one counter at a time, and the
// draw32 of rng/counter.ts against its definition written out: the trainer's initial spins and
// forward-process noise come from either, so they must agree bit for bit.
import { describe, it, expect } from 'vitest';
import { Draws } from '../cells/wasm/draws.js';
import { draw32, uniform, mix32, streamKey, TWO_POW_32 } from '../rng/counter.js';
import { hintonP, hintonSpin, hintonThreshold, initialSpins } from '../sim/run.js';
import { noise, noiseInto } from '../sim/train/forward.js';

/** draw32 as rng/counter.ts defines it: mix32(mix32(key + i * golden) ^ key), unsigned */
const draw32Def = (key: number, i: number) => mix32((mix32((key + Math.imul(i, 0x9e3779b9)) >>> 0) ^ key) >>> 0);

describe('counter draws', () => {
  it('draw32 is its definition, for keys and counters over their whole ranges', () => {
    const k = streamKey(11, 12);
    for (let n = 0; n < 20000; n++) {
      const key = draw32Def(k, 2 * n);
      const i = n % 7 === 0 ? draw32Def(k, 2 * n + 1) : n;
      expect(draw32(key, i)).toBe(draw32Def(key, i));
    }
    expect(draw32(0, 0)).toBe(draw32Def(0, 0));
    expect(draw32(0xffffffff, 0x7fffffff)).toBe(draw32Def(0xffffffff, 0x7fffffff));
  });

  it('a Hinton draw against its threshold is the draw of initialSpins', () => {
    const N = 500;
    const bias = Float64Array.from({ length: N }, (_, i) => (i % 41) - 20);
    for (const beta of [0.3, 1, 7]) {
      const key = streamKey(3, beta * 10);
      const s = initialSpins(N, bias, 0.25, [], [], key, 'hinton', beta);
      for (let i = 0; i < N; i++) {
        expect(hintonSpin(key, i, hintonThreshold(bias[i], 0.25, beta))).toBe(s[i]);
        expect(hintonThreshold(bias[i], 0.25, beta)).toBe(hintonP(bias[i], 0.25, beta) * TWO_POW_32);
      }
    }
  });

  it('noiseInto is noise, into a given array', () => {
    const x = Int8Array.from({ length: 300 }, (_, v) => (v % 3 ? 1 : -1));
    const p = Float64Array.from({ length: 300 }, (_, v) => (v < 30 ? 0 : v < 60 ? 0.5 : (v % 10) / 20));
    const key = streamKey(5, 6);
    const out = new Int8Array(300);
    noiseInto(out, x, p, key, 1234);
    const ref = Int8Array.from(x, (xv, v) => (p[v] > 0 && uniform(key, 1234 + v) < p[v] ? -xv : xv));
    expect(Array.from(out)).toEqual(Array.from(ref));
    expect(Array.from(noise(x, p, key, 1234))).toEqual(Array.from(ref));
  });
});

describe('bulk draws (WebAssembly SIMD) = draws one at a time', () => {
  const d = Draws.create(1000, 2, 3, 1);
  it.skipIf(!d)('spins, flips and scatter, over lengths, offsets and thresholds at the edges', () => {
    const D = d!;
    const k = streamKey(21, 22);
    for (let trial = 0; trial < 60; trial++) {
      const key = draw32(k, 3 * trial);
      const from = trial % 4 === 0 ? draw32(k, 3 * trial + 1) & 0x7fffffff : trial * 1000;
      const n = [1, 15, 16, 17, 999, 1000][trial % 6];
      for (let e = 0; e < n; e++) {
        const r = uniform(k, 1e6 + trial * 1000 + e);
        // random thresholds, the draw itself (not below it), 0, 2^32 and p = 1/2
        D.thr[0][e] = r < 0.1 ? draw32(key, from + e) : r < 0.15 ? 0 : r < 0.2 ? TWO_POW_32 : r < 0.25 ? 0.5 * TWO_POW_32 : r * TWO_POW_32;
        D.bytes[0][e] = uniform(k, 2e6 + trial * 1000 + e) < 0.5 ? 1 : -1;
      }
      const spins = Array.from(D.spins(key, from, n, 0, 1).subarray(0, n));
      expect(spins).toEqual(Array.from({ length: n }, (_, e) => (uniform(key, from + e) < D.thr[0][e] / TWO_POW_32 ? 1 : -1)));
      const flips = Array.from(D.flips(key, from, n, 0, 0, 2).subarray(0, n));
      expect(flips).toEqual(Array.from({ length: n }, (_, e) => (draw32(key, from + e) < D.thr[0][e] ? -D.bytes[0][e] : D.bytes[0][e])));
      // scatter: a permutation of part of the array
      const m = Math.min(n, 300);
      for (let e = 0; e < m; e++) D.lists[0][e] = (e * 7 + trial) % n;
      const before = Array.from(D.bytes[1].subarray(0, n));
      const after = Array.from(D.scatter(m, 0, 0, 1).subarray(0, n));
      for (let e = 0; e < m; e++) before[D.lists[0][e]] = D.bytes[0][e];
      expect(after).toEqual(before);
    }
  });
  it.skipIf(!d)('refuses more entries than it holds', () => {
    expect(() => d!.spins(1, 0, 1001, 0, 0)).toThrow(RangeError);
  });
});
