import { resolveConfig, type ResolvedConfig } from '../../sim/config.js';
import { parseModel, type Model } from '../../sim/model.js';
import type { SmallModel } from './stats.js';
import type { Rule } from '../../fabric/rules.js';

/** The paper preset with overrides (ideal by default), as tests use it. */
export function testConfig(sets: string[] = [], ideal = true): ResolvedConfig {
  return resolveConfig('dtca-paper', { sets, ideal });
}

export function gridSets(L: number, rules: Rule[], boundary: 'open' | 'torus'): string[] {
  return [`fabric.L=${L}`, `fabric.rules=${JSON.stringify(rules)}`, `fabric.boundary="${boundary}"`];
}

export function toModel(m: SmallModel, L: number, rules: Rule[], boundary: 'open' | 'torus'): Model {
  return parseModel(
    {
      format: 'dtca-model',
      version: 1,
      grid: { L, rules, boundary },
      beta: m.beta,
      stages: [{ bias: m.bias, edges: m.edges, clamp: m.clamp ? [...m.clamp.entries()] : [] }],
    },
    'test model',
  );
}

/** Every wire of an L x L grid for the given rules, each undirected once, as [i, j]. */
export function allWires(L: number, rules: Rule[], boundary: 'open' | 'torus'): [number, number][] {
  const out: [number, number][] = [];
  const seen = new Set<string>();
  for (let y = 0; y < L; y++)
    for (let x = 0; x < L; x++)
      for (const [a, b] of rules)
        for (const [dx, dy] of [
          [a, b],
          [-b, a],
          [-a, -b],
          [b, -a],
        ]) {
          let nx = x + dx;
          let ny = y + dy;
          if (boundary === 'torus') {
            nx = (nx + L) % L;
            ny = (ny + L) % L;
          } else if (nx < 0 || ny < 0 || nx >= L || ny >= L) continue;
          const i = y * L + x;
          const j = ny * L + nx;
          const key = i < j ? `${i},${j}` : `${j},${i}`;
          if (!seen.has(key)) {
            seen.add(key);
            out.push(i < j ? [i, j] : [j, i]);
          }
        }
  return out;
}
