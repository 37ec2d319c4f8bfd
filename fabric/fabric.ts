/**
 * The fabric: an L x L grid of cells, rule-based wires, the two-colour checkerboard schedule,
 * and the tile map. Built once into flat typed arrays; stage weights are written into planes
 * elsewhere (cells/) and never rebuild it.
 *
 * Cell index i = y*L + x. Colour = (x + y) mod 2. Direction k of cell i points at nbr[i*D + k],
 * or at the pad index N when the wire would leave an open grid.
 */
import { UserError } from './errors.js';
import { checkRules, directions, type Rule } from './rules.js';

export type Boundary = 'open' | 'torus';

export interface FabricSpec {
  L: number;
  rules: Rule[];
  boundary: Boundary;
  tileSize: number;
  linkLatencyCycles: number;
  /** how errors name the grid size and the rules (default: the config keys fabric.L, fabric.rules) */
  names?: { L: string; rules: string };
}

export interface Fabric {
  readonly L: number;
  readonly N: number;
  readonly D: number;
  readonly rules: Rule[];
  readonly dirs: Rule[];
  readonly boundary: Boundary;
  /** neighbour of cell i in direction k, or N (pad) */
  readonly nbr: Int32Array;
  readonly colour: Uint8Array;
  readonly colourCells: [Int32Array, Int32Array];
  /** wire length in cell pitches per direction, sqrt(a^2 + b^2) */
  readonly wireLen: Float64Array;
  /** total length (pitches) of the wires cell i drives */
  readonly cellWireLen: Float64Array;
  readonly tileSize: number;
  readonly tilesPerSide: number;
  readonly tileOf: Int32Array;
  /** 1 where the wire (i, k) crosses a tile boundary */
  readonly cross: Uint8Array;
  /** number of tile-crossing wires cell i drives */
  readonly crossCount: Uint8Array;
  /** undirected wires in the fabric, and how many cross tiles */
  readonly wires: number;
  readonly crossWires: number;
  readonly linkLatencyCycles: number;
}

export function buildFabric(spec: FabricSpec): Fabric {
  const { L, rules, boundary } = spec;
  const names = spec.names ?? { L: 'fabric.L', rules: 'fabric.rules' };
  if (!Number.isInteger(L) || L < 2) throw new UserError(`${names.L} = ${L}: must be an integer >= 2`);
  checkRules(rules, L, boundary, names.rules, names.L);
  if (!Number.isInteger(spec.tileSize) || spec.tileSize < 1) {
    throw new UserError(`fabric.tile.size = ${spec.tileSize}: must be an integer >= 1`);
  }
  const N = L * L;
  const dirs = directions(rules);
  const D = dirs.length;
  const nbr = new Int32Array(N * D).fill(N);
  const colour = new Uint8Array(N);
  const tileSize = Math.min(spec.tileSize, L);
  const tilesPerSide = Math.ceil(L / tileSize);
  const tileOf = new Int32Array(N);
  for (let y = 0; y < L; y++) {
    for (let x = 0; x < L; x++) {
      const i = y * L + x;
      colour[i] = (x + y) & 1;
      tileOf[i] = Math.floor(y / tileSize) * tilesPerSide + Math.floor(x / tileSize);
    }
  }
  const wireLen = new Float64Array(D);
  dirs.forEach(([dx, dy], k) => (wireLen[k] = Math.hypot(dx, dy)));
  const cellWireLen = new Float64Array(N);
  const cross = new Uint8Array(N * D);
  const crossCount = new Uint8Array(N);
  let directed = 0;
  let crossDirected = 0;
  for (let y = 0; y < L; y++) {
    for (let x = 0; x < L; x++) {
      const i = y * L + x;
      for (let k = 0; k < D; k++) {
        let nx = x + dirs[k][0];
        let ny = y + dirs[k][1];
        if (boundary === 'torus') {
          nx = ((nx % L) + L) % L;
          ny = ((ny % L) + L) % L;
        } else if (nx < 0 || ny < 0 || nx >= L || ny >= L) {
          continue;
        }
        const j = ny * L + nx;
        nbr[i * D + k] = j;
        cellWireLen[i] += wireLen[k];
        directed++;
        if (tileOf[i] !== tileOf[j]) {
          cross[i * D + k] = 1;
          crossCount[i]++;
          crossDirected++;
        }
      }
    }
  }
  const colourCells: [Int32Array, Int32Array] = [new Int32Array(Math.ceil(N / 2)), new Int32Array(Math.floor(N / 2))];
  const fill = [0, 0];
  for (let i = 0; i < N; i++) colourCells[colour[i]][fill[colour[i]]++] = i;
  return {
    L,
    N,
    D,
    rules,
    dirs,
    boundary,
    nbr,
    colour,
    colourCells,
    wireLen,
    cellWireLen,
    tileSize,
    tilesPerSide,
    tileOf,
    cross,
    crossCount,
    wires: directed / 2,
    crossWires: crossDirected / 2,
    linkLatencyCycles: spec.linkLatencyCycles,
  };
}

/** Direction k with nbr[i*D+k] === j, or -1 when (i, j) is not a wire of the fabric. */
export function wireDirection(f: Fabric, i: number, j: number): number {
  for (let k = 0; k < f.D; k++) if (f.nbr[i * f.D + k] === j) return k;
  return -1;
}

/** Where cell i sits on an L x L fabric: column x and row y (the index is i = y*L + x, as buildFabric lays it out). */
export function cellXY(i: number, L: number): { x: number; y: number } {
  return { x: i % L, y: Math.floor(i / L) };
}
