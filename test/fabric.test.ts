import { describe, it, expect } from 'vitest';
import { buildFabric } from '../fabric/fabric.js';
import { resolveRules, directions, oppositeDirection, checkRules } from '../fabric/rules.js';
import { UserError } from '../fabric/errors.js';

const spec = (L: number, rules = resolveRules('G12'), boundary: 'open' | 'torus' = 'open', tileSize = 14) =>
  buildFabric({ L, rules, boundary, tileSize, linkLatencyCycles: 0 });

describe('fabric', () => {
  it('G12: degree 12, wires symmetric, bipartite, longest wire sqrt(181) ~ 13.45 pitches', () => {
    const f = spec(70);
    expect(f.D).toBe(12);
    expect(Math.max(...f.wireLen)).toBeCloseTo(13.4536, 4);
    for (let i = 0; i < f.N; i++)
      for (let k = 0; k < f.D; k++) {
        const j = f.nbr[i * f.D + k];
        if (j === f.N) continue;
        expect(f.colour[j]).not.toBe(f.colour[i]);
        expect(f.nbr[j * f.D + oppositeDirection(k)]).toBe(i);
      }
    expect(f.colourCells[0].length + f.colourCells[1].length).toBe(4900);
  });

  it('torus: every cell has full degree; open: edge cells lose wires', () => {
    const t = spec(
      8,
      [
        [0, 1],
        [2, 1],
      ],
      'torus',
    );
    expect(t.wires).toBe((64 * 8) / 2);
    const o = spec(8, [[0, 1]], 'open');
    expect(o.wires).toBe(2 * 8 * 7);
  });

  it('tiles: crossings counted per wire; one tile has none', () => {
    expect(spec(28, resolveRules('G8'), 'open', 28).crossWires).toBe(0);
    const f = spec(28, resolveRules('G8'), 'open', 7);
    expect(f.tilesPerSide).toBe(4);
    expect(f.crossWires).toBeGreaterThan(0);
    let c = 0;
    for (const v of f.crossCount) c += v;
    expect(c).toBe(2 * f.crossWires);
  });

  it('rules: rotations, presets and refusals', () => {
    expect(directions([[4, 1]])).toEqual([
      [4, 1],
      [-1, 4],
      [-4, -1],
      [1, -4],
    ]);
    expect(() => checkRules([[1, 1]], 10, 'open')).toThrow(/a\+b is even/);
    expect(() =>
      checkRules(
        [
          [0, 1],
          [1, 0],
        ],
        10,
        'open',
      ),
    ).toThrow(/already gives/);
    expect(() => checkRules([[0, 1]], 5, 'torus')).toThrow(/even L/);
    expect(() => checkRules([[4, 1]], 8, 'torus')).toThrow(/too small/);
    expect(() => resolveRules('G99')).toThrow(UserError);
  });
});
