/**
 * Colour-split geometry of the single-chain fast engine. A colour's spins live in a zero-padded
 * "plane" with its cells in row order, so the neighbour of every cell in direction d is at a fixed
 * offset (per row parity) in the other colour's plane: one 128-bit load serves two cells, and open
 * edges read the zero padding (torus edges read copies refreshed after each latch, `pads`).
 * Per-group arrays (node, target, sigmoid cache, the chain's biases) hold four cells of a colour
 * per group of 32 bytes.
 */
import { Arena, roundUp } from './arena.js';
import { struct, structFamily } from './struct.js';
import type { GeomSpec } from './layout.js';
import type { FabricLayout } from '../engine.js';
import { EngineRefusal } from '../engine.js';

export interface RowInfo {
  i0: number;
  count: number;
  groupStart: number;
}

export interface Geometry {
  N: number;
  D: number;
  L: number;
  groups: [number, number];
  rows: [RowInfo[], RowInfo[]];
  /** arena addresses of the row tables (32 bytes per row: i0, count, groupStart, plane base, parity) */
  rowTab: [number, number];
  /** bytes of one spin plane, one group array (the larger colour's) */
  planeBytes: number;
  groupBytes: number;
  /** torus wrap lists per colour (pairs of plane positions: destination, source) and their lengths */
  pads: [number, number];
  nPads: [number, number];
  spec: GeomSpec;
  /** rows of padding above and below the grid (the rules' largest |dy|) and f64 slots per plane row */
  R: number;
  MW: number;
  /** arena blocks this geometry owns */
  blocks: number[];
}

/** Check that the layout's neighbour table is the rule offsets on an L x L grid; else refuse. */
export function checkLayout(f: FabricLayout): void {
  const { L, dirs, boundary, N, D } = f;
  if (N !== L * L || D !== dirs.length || f.nbr.length !== N * D) throw new EngineRefusal('fabric layout does not match N, D');
  for (let y = 0; y < L; y++) {
    for (let x = 0; x < L; x++) {
      const i = y * L + x;
      for (let d = 0; d < D; d++) {
        let nx = x + dirs[d][0];
        let ny = y + dirs[d][1];
        let j: number;
        if (boundary === 'torus') {
          nx = ((nx % L) + L) % L;
          ny = ((ny % L) + L) % L;
          j = ny * L + nx;
        } else j = nx < 0 || ny < 0 || nx >= L || ny >= L ? N : ny * L + nx;
        if (f.nbr[i * D + d] !== j) throw new EngineRefusal('neighbour table is not the rule offsets');
        if (j < N && ((nx + ny) & 1) === ((x + y) & 1)) throw new EngineRefusal('a wire joins cells of one colour');
      }
    }
  }
  for (const c of [0, 1]) {
    const cells = f.colourCells[c];
    let n = 0;
    for (let i = 0; i < N; i++)
      if ((((i % L) + Math.floor(i / L)) & 1) === c && cells[n++] !== i) throw new EngineRefusal('colour lists are not in cell order');
    if (n !== cells.length) throw new EngineRefusal('colour lists are not the checkerboard');
  }
}

/** The geometry of a layout, its tables written into the arena. */
export function buildGeometry(f: FabricLayout, a: Arena, lat: boolean): Geometry {
  checkLayout(f);
  const { L, dirs, boundary, N, D } = f;
  const { R, MW, PL, offs, minOff, imm, planeBytes } = planeLayout(L, dirs);
  const blocks: number[] = [];
  const alloc = (bytes: number): number => {
    const addr = a.alloc(bytes);
    if (addr < 0) {
      for (const b of blocks) a.release(b);
      throw new EngineRefusal('not enough WebAssembly memory for the fabric tables');
    }
    blocks.push(addr);
    return addr;
  };
  const rows: [RowInfo[], RowInfo[]] = [[], []];
  const groups: [number, number] = [0, 0];
  const rowTab: [number, number] = [0, 0];
  for (const c of [0, 1]) {
    const tab = alloc(L * 32);
    rowTab[c] = tab;
    let gs = 0;
    for (let y = 0; y < L; y++) {
      const x0 = (y + c) & 1;
      const count = Math.ceil((L - x0) / 2);
      const i0 = y * L + x0;
      rows[c].push({ i0, count, groupStart: gs });
      const e = tab / 4 + y * 8;
      a.i32[e] = i0;
      a.i32[e + 1] = count;
      a.i32[e + 2] = gs;
      a.i32[e + 3] = (y + R) * MW + PL + minOff;
      a.i32[e + 4] = x0;
      gs += Math.ceil(count / 4);
    }
    groups[c] = gs;
  }
  // torus: plane positions outside the grid that some cell reads, with the wrapped source
  const pads: [number, number] = [0, 0];
  const nPads: [number, number] = [0, 0];
  if (boundary === 'torus') {
    for (const c of [0, 1]) {
      const reader = 1 - c; // cells of the other colour read plane c
      const need = new Map<number, number>();
      for (let y = 0; y < L; y++) {
        const p = (y + reader) & 1;
        for (let x = p; x < L; x += 2) {
          const m = (x - p) >> 1;
          dirs.forEach(([dx, dy], d) => {
            const X = x + dx;
            const Y = y + dy;
            if (X >= 0 && Y >= 0 && X < L && Y < L) return;
            const pos = (y + R) * MW + PL + m + offs[p][d];
            const xs = ((X % L) + L) % L;
            const ys = ((Y % L) + L) % L;
            need.set(pos, (ys + R) * MW + PL + (xs >> 1));
          });
        }
      }
      const list = alloc(Math.max(1, need.size) * 8);
      let n = 0;
      for (const [pos, src] of need) {
        a.i32[list / 4 + 2 * n] = pos;
        a.i32[list / 4 + 2 * n + 1] = src;
        n++;
      }
      pads[c] = list;
      nPads[c] = n;
    }
  }
  const groupBytes = roundUp(Math.max(groups[0], groups[1]) * 32 + 64, 64);
  const spec = geomSpec(D, { imm, minOff, planeBytes }, groupBytes, lat);
  return { N, D, L, groups, rows, rowTab, planeBytes, groupBytes, pads, nPads, spec, R, MW, blocks };
}

/**
 * The spin planes' shape for an L x L grid and these directions: R rows of padding above and
 * below, PL cells on the left, rows of MW cells; per row parity and direction the neighbour's
 * offset (cells), imm the same shifted to be >= 0 by minOff; the bytes of one plane (f64 per cell).
 */
export function planeLayout(L: number, dirs: readonly (readonly [number, number])[]) {
  let R = 0;
  let minH = 0;
  let maxH = 0;
  for (const [dx, dy] of dirs) {
    R = Math.max(R, Math.abs(dy));
    for (const p of [0, 1]) {
      minH = Math.min(minH, (p + dx) >> 1);
      maxH = Math.max(maxH, (p + dx) >> 1);
    }
  }
  const W = Math.ceil(L / 2);
  const PL = Math.max(1, -minH);
  const MW = PL + W + Math.max(maxH + 1, 4);
  const MH = L + 2 * R;
  const offs = [0, 1].map((p) => dirs.map(([dx, dy]) => dy * MW + ((p + dx) >> 1)));
  const minOff = Math.min(...offs.flat());
  const imm = offs.map((row) => row.map((v) => v - minOff)) as [number[], number[]];
  const planeBytes = roundUp((MH * MW + MW + 16) * 8, 64);
  return { R, PL, MW, MH, offs, minOff, imm, planeBytes };
}

/**
 * One chain's memory (struct.ts): its spin planes (s of colour 0 and 1, then sPrev of colour 0
 * and 1), then per colour its four group arrays (node, target, sigmoid cache, the chain's biases).
 * planeBytes and groupBytes are multiples of 64, so every array starts 64-byte aligned.
 */
export const chainMemory = structFamily((planeBytes: number, groupBytes: number) => {
  const plane = <N extends string>(name: N) => ({ name, type: 'f64', count: planeBytes / 8 }) as const;
  const group = <N extends string>(name: N) => ({ name, type: 'f64', count: groupBytes / 8 }) as const;
  return struct(
    'chain memory',
    [
      plane('S0'),
      plane('S1'),
      plane('PREV0'),
      plane('PREV1'),
      group('NODE0'),
      group('TARGET0'),
      group('SIGMA0'),
      group('BIAS0'),
      group('NODE1'),
      group('TARGET1'),
      group('SIGMA1'),
      group('BIAS1'),
    ] as const,
    { align: 64 },
  );
});

/** What the kernels are generated for: the planes' offsets, and the distances in a chain's memory (chainMemory) between what a colour's latch reads. */
export function geomSpec(D: number, plane: { imm: [number[], number[]]; minOff: number; planeBytes: number }, groupBytes: number, lat: boolean): GeomSpec {
  const m = chainMemory(plane.planeBytes, groupBytes).off;
  return {
    D,
    imm: plane.imm,
    minOff: plane.minOff,
    PREV: m.PREV0 - m.S0,
    TGOFF: m.TARGET0 - m.NODE0,
    SGOFF: m.SIGMA0 - m.NODE0,
    BIOFF: m.BIAS0 - m.NODE0,
    lat,
  };
}
