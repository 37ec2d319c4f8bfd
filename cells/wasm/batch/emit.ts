/**
 * Code generation for the many-chain engine (layout.ts): small named emitters over an explicit
 * context, composed into the module's functions:
 *
 *   latch()    for each latching cell of the call: the cell's draw base (scalar hash), then per
 *              vector of eight chains the field (emitField), the draws (emitDraws), the decision
 *              (emitDecideIdeal: the u32 threshold and divider term of each lane's G, looked up
 *              in a table built for this half-sweep's drive scale) and the commit (emitCommit:
 *              new masks, toggles, divider terms); per cell the toggle count times the wire
 *              length and link count it drives.
 *   moments()  per cell the chains with spin +1, per wire the chains whose ends disagree.
 *   pads()     torus wrap copies of a colour's cells into the padding.
 *
 * What each lane computes is the reference engine's arithmetic for its chain: the integer field
 * (exact), the draw latchDraw(key, cell, chain) (rng/counter.ts), the threshold and divider term
 * of cells/physics.ts (the table holds exactly those values, computed in TypeScript).
 */
import { op as o, T, Locals, assemble, type Code, type FuncDef } from '../asm.js';
import { abiLoad, outAddr } from '../abi.js';
import { REC, type BatchGeom } from './layout.js';
import { CELL_STRIDE } from '../../../rng/counter.js';

export interface BatchVariant {
  /** the last block holds fewer chains than lanes: mask the tallies */
  masked: boolean;
  /** accumulate tallies per chain (traces) */
  perChain: boolean;
}

/**
 * The decision table: entry G' = G + gOff (G' in [0, 2 gOff]) at tabBase + 8 G': the threshold
 * with its sign bit flipped (i32), then the divider term (i32). The bias plane holds G's offset
 * gOff, so lanes carry G' and read it unsigned.
 */
export interface TableSpec {
  tabBase: number;
  gOff: number;
  /** splat each cell's weights once into locals (true) or load them at every use (false) */
  splatOnce: boolean;
}

const M1 = 0x7feb352d;
const M2 = 0x846ca68b | 0;
const SIGN = -0x80000000;
/** dwords 0 and 2 of each i64x2 operand (the thresholds), 1 and 3 (the divider terms) */
const LO_DWORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const HI_DWORDS = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
const SWAP64 = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const SWAP32 = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];

function newCtx(g: BatchGeom, v: BatchVariant, tab: TableSpec) {
  const lc = new Locals(0);
  const i32 = () => lc.add(T.i32);
  const i64 = () => lc.add(T.i64);
  const vec = () => lc.add(T.v128);
  const l = {
    rec: i32(),
    n: i32(),
    sp: i32(),
    bp: i32(),
    phi: i32(),
    mask: i32(),
    acc: i32(),
    base: i32(),
    key: i32(),
    cnt: i32(),
    tog64: i64(),
    wire64: i64(),
    link64: i64(),
    G: vec(),
    xA: vec(),
    xB: vec(),
    e0: vec(),
    e1: vec(),
    e2: vec(),
    e3: vec(),
    up: vec(),
    old: vec(),
    tog: vec(),
    tacc: vec(),
    dA: vec(),
    dB: vec(),
    dacc: vec(),
    t32: vec(),
    w: [] as number[],
  };
  if (tab.splatOnce) for (let d = 0; d < g.D; d++) l.w.push(vec());
  return { g, v, tab, lc, l, get: o.get, set: o.set };
}
type Ctx = ReturnType<typeof newCtx>;

/** x ^= x >>> 16; x *= M1; x ^= x >>> 15; x *= M2; x ^= x >>> 16 (rng/counter.ts mix32), in i32x4 lanes */
function mixVec(ctx: Ctx, x: number): Code[] {
  const { get, set } = ctx;
  return [
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
    set(x, o.i32x4_mul(get(x), o.i32x4_splat(o.i32(M1)))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(15)))),
    set(x, o.i32x4_mul(get(x), o.i32x4_splat(o.i32(M2)))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
  ];
}

/** the same, scalar */
function mixScalar(ctx: Ctx, x: number): Code[] {
  const { get, set } = ctx;
  return [
    set(x, o.i32_xor(get(x), o.i32_shr_u(get(x), o.i32(16)))),
    set(x, o.i32_mul(get(x), o.i32(M1))),
    set(x, o.i32_xor(get(x), o.i32_shr_u(get(x), o.i32(15)))),
    set(x, o.i32_mul(get(x), o.i32(M2))),
    set(x, o.i32_xor(get(x), o.i32_shr_u(get(x), o.i32(16)))),
  ];
}

/** the cell's draw base: mix32(key + cell * CELL_STRIDE) */
export function emitCellBase(ctx: Ctx): Code[] {
  const { get, set, l } = ctx;
  return [set(l.base, o.i32_add(get(l.key), o.i32_mul(o.i32_load(get(l.rec), REC.CELL), o.i32(CELL_STRIDE | 0)))), ...mixScalar(ctx, l.base)];
}

/** the cell's doubled weights, splatted once per cell */
export function emitWeights(ctx: Ctx): Code[] {
  const { set, get, l, tab } = ctx;
  return tab.splatOnce ? l.w.map((w, d) => set(w, o.v_load16_splat(get(l.rec), REC.W + 2 * d))) : [];
}

function weight(ctx: Ctx, d: number): Code {
  const { get, l, tab } = ctx;
  return tab.splatOnce ? get(l.w[d]) : o.v_load16_splat(get(l.rec), REC.W + 2 * d);
}

/** G' of vector k: (bias - sum w + gOff) + sum_d (2w_d AND m_d) */
export function emitField(ctx: Ctx, k: number): Code[] {
  const { get, set, l, g } = ctx;
  const own = -g.minOd + 16 * k;
  const out: Code[] = [set(l.G, o.v_load(get(l.bp), own))];
  for (let d = 0; d < g.D; d++) out.push(set(l.G, o.i16x8_add(get(l.G), o.v_and(weight(ctx, d), o.v_load(get(l.sp), g.od[d] - g.minOd + 16 * k)))));
  return out;
}

/** the lanes' draws latchDraw(key, cell, chain) = mix32(base + chain * CHAIN_STRIDE): chains 0-3 in xA, 4-7 in xB */
export function emitDraws(ctx: Ctx, k: number): Code[] {
  const { get, set, l } = ctx;
  return [
    set(l.xA, o.i32x4_add(o.i32x4_splat(get(l.base)), o.v_load(get(l.phi), 32 * k))),
    set(l.xB, o.i32x4_add(o.i32x4_splat(get(l.base)), o.v_load(get(l.phi), 32 * k + 16))),
    ...mixVec(ctx, l.xA),
    ...mixVec(ctx, l.xB),
  ];
}

/**
 * The decision: each lane's table entry for its G (threshold with the sign bit flipped, divider
 * term), gathered lane by lane; up = (draw ^ sign) < threshold' (signed), i.e. draw < threshold.
 * The new masks in `up`; the divider terms of chains 0-3 in dA, 4-7 in dB.
 */
export function emitDecideIdeal(ctx: Ctx): Code[] {
  const { get, set, l, tab } = ctx;
  const entry = (lane: number) => o.i32_shl(o.i16x8_extract_u(get(l.G), lane), o.i32(3));
  const zero = o.v_const_bytes(new Array(16).fill(0));
  const out: Code[] = [];
  const es = [l.e0, l.e1, l.e2, l.e3];
  for (let q = 0; q < 4; q++) {
    out.push(set(es[q], o.v_load64_lane(entry(2 * q), zero, 0, tab.tabBase)));
    out.push(set(es[q], o.v_load64_lane(entry(2 * q + 1), get(es[q]), 1, tab.tabBase)));
  }
  const sign = o.i32x4_splat(o.i32(SIGN));
  out.push(
    set(l.dA, o.shuffle(get(l.e0), get(l.e1), HI_DWORDS)),
    set(l.dB, o.shuffle(get(l.e2), get(l.e3), HI_DWORDS)),
    set(
      l.up,
      o.i16x8_narrow_i32x4_s(
        o.i32x4_lt_s(o.v_xor(get(l.xA), sign), o.shuffle(get(l.e0), get(l.e1), LO_DWORDS)),
        o.i32x4_lt_s(o.v_xor(get(l.xB), sign), o.shuffle(get(l.e2), get(l.e3), LO_DWORDS)),
      ),
    ),
  );
  return out;
}

/** new masks stored, toggles and divider terms counted (masked to the valid lanes of a partial block) */
export function emitCommit(ctx: Ctx, k: number): Code[] {
  const { get, set, l, g, v } = ctx;
  const own = -g.minOd + 16 * k;
  const out: Code[] = [set(l.old, o.v_load(get(l.sp), own)), o.v_store(get(l.sp), get(l.up), own), set(l.tog, o.v_xor(get(l.up), get(l.old)))];
  if (v.masked) {
    out.push(set(l.tog, o.v_and(get(l.tog), o.v_load(get(l.mask), 48 * k))));
    out.push(set(l.dA, o.v_and(get(l.dA), o.v_load(get(l.mask), 48 * k + 16))), set(l.dB, o.v_and(get(l.dB), o.v_load(get(l.mask), 48 * k + 32))));
  }
  out.push(set(l.tacc, o.i16x8_sub(get(l.tacc), get(l.tog))), set(l.dacc, o.i32x4_add(get(l.dacc), o.i32x4_add(get(l.dA), get(l.dB)))));
  if (v.perChain) {
    // per lane: toggles, wire, links, divider (i32 per chain; acc block: 4 x BL i32)
    const BL = g.BL;
    const lo = o.i32x4_extend_low_i16x8_s(get(l.tog));
    const hi = o.i32x4_extend_high_i16x8_s(get(l.tog));
    const accAt = (what: number, half: number) => 4 * (what * BL + 8 * k + 4 * half);
    const add = (what: number, half: number, val: Code) => o.v_store(get(l.acc), o.i32x4_add(o.v_load(get(l.acc), accAt(what, half)), val), accAt(what, half));
    out.push(
      add(0, 0, o.i32x4_sub(o.i32x4_splat(o.i32(0)), lo)),
      add(0, 1, o.i32x4_sub(o.i32x4_splat(o.i32(0)), hi)),
      add(1, 0, o.v_and(lo, o.i32x4_splat(o.i32_load(get(l.rec), REC.WIREQ)))),
      add(1, 1, o.v_and(hi, o.i32x4_splat(o.i32_load(get(l.rec), REC.WIREQ)))),
      add(2, 0, o.v_and(lo, o.i32x4_splat(o.i32_load(get(l.rec), REC.CC)))),
      add(2, 1, o.v_and(hi, o.i32x4_splat(o.i32_load(get(l.rec), REC.CC)))),
      add(3, 0, get(l.dA)),
      add(3, 1, get(l.dB)),
    );
  }
  return out;
}

/** horizontal sum of the i16x8 `from` into the scalar `to` */
function hsum16(ctx: Ctx, from: number, to: number): Code[] {
  const { get, set, l } = ctx;
  return [
    set(l.t32, o.i32x4_extadd_pairwise_i16x8_s(get(from))),
    set(l.t32, o.i32x4_add(get(l.t32), o.shuffle(get(l.t32), get(l.t32), SWAP64))),
    set(l.t32, o.i32x4_add(get(l.t32), o.shuffle(get(l.t32), get(l.t32), SWAP32))),
    set(to, o.i32x4_extract(get(l.t32), 0)),
  ];
}

/** the module: latch(), moments(), pads() */
export function generateBatch(g: BatchGeom, variant: BatchVariant, tab: TableSpec): Uint8Array {
  const ctx = newCtx(g, variant, tab);
  const { get, set, l } = ctx;
  const zero = o.v_const_bytes(new Array(16).fill(0));
  // ---- latch ----
  const cellBody: Code[] = [
    ...emitCellBase(ctx),
    set(l.sp, o.i32_add(abiLoad.i32('bPlane'), o.i32_add(o.i32_load(get(l.rec), REC.POS), o.i32(g.minOd)))),
    set(l.bp, o.i32_add(abiLoad.i32('bBias'), o.i32_add(o.i32_load(get(l.rec), REC.POS), o.i32(g.minOd)))),
    set(l.tacc, zero),
    ...emitWeights(ctx),
  ];
  for (let k = 0; k < g.NV; k++) cellBody.push(...emitField(ctx, k), ...emitDraws(ctx, k), ...emitDecideIdeal(ctx), ...emitCommit(ctx, k));
  cellBody.push(
    ...hsum16(ctx, l.tacc, l.cnt),
    set(l.tog64, o.i64_add(get(l.tog64), o.i64_extend_i32_s(get(l.cnt)))),
    set(l.wire64, o.i64_add(get(l.wire64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), REC.WIREQ))))),
    set(l.link64, o.i64_add(get(l.link64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), REC.CC))))),
    set(l.rec, o.i32_add(get(l.rec), o.i32(g.RB))),
  );
  const lane64 = (x: Code, lane: number) => o.i64_extend_i32_s(o.i32x4_extract(x, lane));
  const latch: FuncDef = {
    name: 'latch',
    params: [],
    results: [],
    locals: ctx.lc.types,
    body: [
      set(l.rec, abiLoad.i32('bCells')),
      set(l.n, abiLoad.i32('bCount')),
      set(l.phi, abiLoad.i32('bPhi')),
      set(l.mask, abiLoad.i32('bMask')),
      set(l.acc, abiLoad.i32('bAcc')),
      set(l.key, abiLoad.i32('bKey')),
      set(l.tog64, o.i64(0)),
      set(l.wire64, o.i64(0)),
      set(l.link64, o.i64(0)),
      set(l.dacc, zero),
      o.block([o.br_if(0, o.i32_le_s(get(l.n), o.i32(0))), o.loop([...cellBody, o.br_if(0, o.i32_gt_s(o.tee(l.n, o.i32_sub(get(l.n), o.i32(1))), o.i32(0)))])]),
      o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.tog64)), outAddr('toggles')),
      o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.wire64)), outAddr('wire')),
      o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.link64)), outAddr('link')),
      o.f64_store(
        o.i32(0),
        o.f64_convert_i64_s(o.i64_add(o.i64_add(lane64(get(l.dacc), 0), lane64(get(l.dacc), 1)), o.i64_add(lane64(get(l.dacc), 2), lane64(get(l.dacc), 3)))),
        outAddr('divider'),
      ),
    ],
  };
  // ---- moments: ups per cell; disagreements per (colour-0 cell, direction) ----
  // list at bCells: per cell (i32 pos, i32 index of its first wire entry in the output, N + n0 D, or -1);
  // out at bOut: N i32 ups, then N0 * D i32 disagreements
  const lm = new Locals(0);
  const m = { rec: lm.add(T.i32), n: lm.add(T.i32), sp: lm.add(T.i32), outp: lm.add(T.i32), cnt: lm.add(T.i32), n0: lm.add(T.i32), a: lm.add(T.v128), t32: lm.add(T.v128), s: lm.add(T.v128) };
  const hs = (from: number, to: number): Code[] => [
    set(m.t32, o.i32x4_extadd_pairwise_i16x8_s(get(from))),
    set(m.t32, o.i32x4_add(get(m.t32), o.shuffle(get(m.t32), get(m.t32), SWAP64))),
    set(m.t32, o.i32x4_add(get(m.t32), o.shuffle(get(m.t32), get(m.t32), SWAP32))),
    set(to, o.i32x4_extract(get(m.t32), 0)),
  ];
  const own = (k: number) => o.v_and(o.v_load(get(m.sp), -g.minOd + 16 * k), o.v_load(abiLoad.i32('bMask'), 48 * k));
  const upsBody: Code[] = [set(m.a, zero)];
  for (let k = 0; k < g.NV; k++) upsBody.push(set(m.a, o.i16x8_sub(get(m.a), own(k))));
  upsBody.push(...hs(m.a, m.cnt), o.i32_store(get(m.outp), get(m.cnt)));
  const pairBody: Code[] = [];
  for (let d = 0; d < g.D; d++) {
    pairBody.push(set(m.a, zero));
    for (let k = 0; k < g.NV; k++) {
      pairBody.push(set(m.s, o.v_xor(o.v_load(get(m.sp), -g.minOd + 16 * k), o.v_load(get(m.sp), g.od[d] - g.minOd + 16 * k))));
      pairBody.push(set(m.a, o.i16x8_sub(get(m.a), o.v_and(get(m.s), o.v_load(abiLoad.i32('bMask'), 48 * k)))));
    }
    pairBody.push(...hs(m.a, m.cnt), o.i32_store(o.i32_add(abiLoad.i32('bOut'), o.i32_shl(get(m.n0), o.i32(2))), get(m.cnt), 4 * d));
  }
  const momentsFn: FuncDef = {
    name: 'moments',
    params: [],
    results: [],
    locals: lm.types,
    body: [
      set(m.rec, abiLoad.i32('bCells')),
      set(m.n, abiLoad.i32('bCount')),
      set(m.outp, abiLoad.i32('bOut')),
      o.block([
        o.br_if(0, o.i32_le_s(get(m.n), o.i32(0))),
        o.loop([
          set(m.sp, o.i32_add(abiLoad.i32('bPlane'), o.i32_add(o.i32_load(get(m.rec), 0), o.i32(g.minOd)))),
          set(m.n0, o.i32_load(get(m.rec), 4)),
          ...upsBody,
          o.if_(o.i32_ge_s(get(m.n0), o.i32(0)), pairBody),
          set(m.rec, o.i32_add(get(m.rec), o.i32(8))),
          set(m.outp, o.i32_add(get(m.outp), o.i32(4))),
          o.br_if(0, o.i32_gt_s(o.tee(m.n, o.i32_sub(get(m.n), o.i32(1))), o.i32(0))),
        ]),
      ]),
    ],
  };
  // ---- pads: torus wrap copies (pairs of byte offsets in the plane) ----
  const lp = new Locals(0);
  const p = { list: lp.add(T.i32), n: lp.add(T.i32), dst: lp.add(T.i32), src: lp.add(T.i32) };
  const copy: Code[] = [];
  for (let k = 0; k < g.NV; k++) copy.push(o.v_store(get(p.dst), o.v_load(get(p.src), 16 * k), 16 * k));
  const padsFn: FuncDef = {
    name: 'pads',
    params: [],
    results: [],
    locals: lp.types,
    body: [
      set(p.list, abiLoad.i32('bPads')),
      set(p.n, abiLoad.i32('bNPads')),
      o.block([
        o.br_if(0, o.i32_le_s(get(p.n), o.i32(0))),
        o.loop([
          set(p.dst, o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(p.list), 0))),
          set(p.src, o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(p.list), 4))),
          ...copy,
          set(p.list, o.i32_add(get(p.list), o.i32(8))),
          o.br_if(0, o.i32_gt_s(o.tee(p.n, o.i32_sub(get(p.n), o.i32(1))), o.i32(0))),
        ]),
      ]),
    ],
  };
  return assemble({ memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true }, imports: [], funcs: [latch, momentsFn, padsFn] });
}
