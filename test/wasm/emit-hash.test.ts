// The generated WebAssembly modules, byte for byte: a hash of every emitted module over a matrix
// of fabrics and variants (single-chain kernel and aux, many-chain module), against the hashes recorded in emit-hashes.json. It guards refactors
// of the generator (cells/wasm/): a restructuring must leave the emitted bytes identical. A change
// of what the kernels compute changes the bytes on purpose; then the file is re-recorded
// (DTCA_RECORD_EMIT=1 npx vitest run test/wasm/emit-hash.test.ts) in the same commit, which says why.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKernel } from '../../cells/wasm/emit/kernel.js';
import { generateAux } from '../../cells/wasm/emit/aux.js';
import { generateBatch, type BatchVariant } from '../../cells/wasm/batch/emit.js';
import { batchGeom } from '../../cells/wasm/batch/layout.js';
import type { GeomSpec, Variant } from '../../cells/wasm/layout.js';
import { geomSpec, planeLayout } from '../../cells/wasm/geometry.js';
import { roundUp } from '../../cells/wasm/arena.js';
import { resolveRules, directions } from '../../fabric/rules.js';

const HASHES = new URL('./emit-hashes.json', import.meta.url);

/**
 * The spec the single-chain engine derives for an L x L grid (cells/wasm/geometry.ts: the planes'
 * shape and the chain memory's layout), with a stand-in for the group arrays' size: the engine's
 * comes from the rows' groups (about L^2 / 8), this one from ceil(L / 4) L groups, as when the
 * hashes were recorded (any size pins the generator; this one keeps the recorded hashes).
 */
function specFor(L: number, rules: Parameters<typeof resolveRules>[0], lat: boolean): GeomSpec {
  const dirs = directions(resolveRules(rules));
  const groupBytes = roundUp(Math.ceil(L / 4) * L * 32 + 64, 64);
  return geomSpec(dirs.length, planeLayout(L, dirs), groupBytes, lat);
}

const fabrics: [number, string][] = [
  [70, 'G12'],
  [31, 'G8'],
  [33, 'G16'],
  [17, 'Z1'],
  [2, '[[0,1]]'],
];
const variants: Variant[] = [
  { cycle: false },
  { cycle: true, n1: 4, nMid: 0, n2: 4 },
  { cycle: true, n1: 0, nMid: 0, n2: 4 },
  { cycle: true, n1: 8, nMid: 4, n2: 4 },
  { cycle: true, n1: 20, nMid: 2, n2: 18 },
  { cycle: true, n1: 3, nMid: 1, n2: 1 },
];

/** the many-chain engine's variants: ideal or cycle physics, partial last block, per-chain tallies */
const batchVariants: BatchVariant[] = [
  { masked: false, perChain: false, cycle: null },
  { masked: true, perChain: true, cycle: null },
  { masked: false, perChain: true, cycle: { n1: 4, nMid: 0, n2: 4, lat: false } },
  { masked: true, perChain: false, cycle: { n1: 3, nMid: 1, n2: 1, lat: true } },
  { masked: false, perChain: true, cycle: { n1: 2, nMid: 1, n2: 2, lat: true } },
  // training's latches read no energy: no divider terms
  { masked: false, perChain: false, cycle: null, noDivider: true },
  { masked: false, perChain: false, cycle: { n1: 4, nMid: 0, n2: 4, lat: false }, noDivider: true },
];

function hashes(): Record<string, string> {
  const out: Record<string, string> = {};
  const h = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);
  for (const [L, rules] of fabrics) {
    for (const lat of [false, true]) {
      const spec = specFor(L, rules.startsWith('[') ? JSON.parse(rules) : rules, lat);
      out[`aux ${rules} L=${L} lat=${lat}`] = h(generateAux(spec));
      for (const v of variants) {
        if (!v.cycle && lat) continue;
        const name = v.cycle ? `cycle ${v.n1},${v.nMid},${v.n2}` : 'ideal';
        out[`kernel ${name} ${rules} L=${L} lat=${lat}`] = h(generateKernel(spec, v));
      }
    }
    const dirs = directions(resolveRules(rules.startsWith('[') ? JSON.parse(rules) : rules));
    for (const BL of [8, 64]) {
      for (const v of batchVariants) {
        const name = v.cycle ? `cycle ${v.cycle.n1},${v.cycle.nMid},${v.cycle.n2} lat=${v.cycle.lat}` : 'ideal';
        out[`batch ${name} masked=${v.masked} perChain=${v.perChain} ${rules} L=${L} BL=${BL}`] = h(
          generateBatch(batchGeom(L, dirs, BL), v, { tabBase: 4096, gOff: 300 }),
        );
      }
    }
  }
  return out;
}

describe('emitted WebAssembly bytes', () => {
  it('match the recorded hashes over fabrics x variants', () => {
    const now = hashes();
    if (process.env.DTCA_RECORD_EMIT === '1') writeFileSync(HASHES, JSON.stringify(now, null, 1) + '\n');
    const recorded = JSON.parse(readFileSync(HASHES, 'utf8')) as Record<string, string>;
    expect(Object.keys(now).length).toBeGreaterThan(50);
    expect(now).toEqual(recorded);
  });
});
