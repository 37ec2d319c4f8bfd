/**
 * Code generation for the many-chain engine (layout.ts): small named emitters over an explicit
 * context, composed into the module's functions:
 *
 *   latch()    for each latching cell of the call: the cell's draw base (scalar hash), then per
 *              vector of eight chains the field (emitField), the draws (emitDraws), the decision
 *              and the commit (new masks, toggles, divider terms); per cell the toggle count
 *              times the wire length and link count it drives.
 *              Ideal physics (emitDecideIdeal): each lane's threshold and divider term looked up
 *              in a table built for this half-sweep's drive scale.
 *              Cycle physics (emitCycle): each lane's drive h = G hScale in f64, the node's
 *              relaxation over the interval's segments, the single-precision estimate of P with
 *              its error bound (the emitters of the single-chain engine, ../emit/estimate.ts), and
 *              the exact decision (../emit/exact.ts) for the rare lanes the estimate cannot decide.
 *   moments()  per cell the chains with spin +1, per wire the chains whose ends disagree.
 *   pads()     torus wrap copies of a colour's cells into the padding.
 *
 * What each lane computes is the reference engine's arithmetic for its chain: the integer field
 * (exact), the draw latchDraw(key, cell, chain) (rng/counter.ts), the threshold, node values and
 * divider terms of cells/physics.ts.
 */
import { op as o, T, Locals, assemble, type Code, type FuncDef } from '../asm.js';
import { abiLoad, outAddr, constAddr, i32Addr, KC } from '../abi.js';
import { REC, ACC, type BatchGeom } from './layout.js';
import { CELL_STRIDE } from '../../../rng/counter.js';
import { emitTaylorTerm } from '../emit/estimate.js';
import { emitSigmoid32 } from '../emit/sigmoid.js';
import { exactFunc } from '../emit/exact.js';
import type { F32Ctx } from '../emit/sigmoid.js';

export interface BatchVariant {
  /** the last block holds fewer chains than lanes: mask the tallies */
  masked: boolean;
  /** accumulate tallies per chain (traces) */
  perChain: boolean;
  /** cycle-accurate physics: substeps of the interval's segments, delayed links */
  cycle: null | { n1: number; nMid: number; n2: number; lat: boolean };
}

/**
 * The decision table (ideal physics): entry G' = G + gOff (G' in [0, 2 gOff]) at tabBase + 8 G':
 * the threshold with its sign bit flipped (i32), then the divider term (i32). The bias plane holds
 * G's offset gOff, so lanes carry G' and read it unsigned.
 */
export interface TableSpec {
  tabBase: number;
  gOff: number;
}

const M1 = 0x7feb352d;
const M2 = 0x846ca68b | 0;
const SIGN = -0x80000000;
/** dwords 0 and 2 of each i64x2 operand (the thresholds), 1 and 3 (the divider terms) */
const LO_DWORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const HI_DWORDS = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
const SWAP64 = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const SWAP32 = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
const ZERO16 = new Array(16).fill(0);
const EXP = 0; // the imported Math.exp
const F_EXACT = 1;

function newCtx(g: BatchGeom, v: BatchVariant, tab: TableSpec) {
  const lc = new Locals(0);
  const i32 = () => lc.add(T.i32);
  const i64 = () => lc.add(T.i64);
  const vec = () => lc.add(T.v128);
  const vecs = (n: number) => Array.from({ length: n }, vec);
  const l = {
    rec: i32(),
    n: i32(),
    sp: i32(),
    bp: i32(),
    pp: i32(),
    phi: i32(),
    mask: i32(),
    acc: i32(),
    acc64: i32(),
    kv: i32(),
    base: i32(),
    key: i32(),
    cnt: i32(),
    nfb: i32(),
    vp: i32(),
    tp: i32(),
    gp: i32(),
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
    // cycle: f64 lanes (two chains each) of a vector of eight chains
    h: vecs(4),
    hm: vecs(4),
    V0: vecs(4),
    T1: vecs(4),
    V: vecs(4),
    d1: vecs(2),
    dm: vecs(2),
    d2: vecs(2),
    upq: vecs(2),
    amb: vecs(2),
    stale: vec(),
    OI: vec(),
    gi64: lc.add(T.f64),
    oi64: lc.add(T.f64),
    // the f32 estimate's registers (../emit/sigmoid.ts F32Ctx)
    yq: vec(),
    zq: vec(),
    kq: vec(),
    ax: vec(),
    qq: vec(),
    sg: vec(),
    mag: vec(),
    GI: vec(),
    tmp: vec(),
    sp32: vec(),
    x2q: vec(),
    xq: vec(),
    Pq: vec(),
    Mq: vec(),
    SL: vec(),
  };
  const dups: [number, number][] = [];
  const K = (slot: number): Code => {
    const copy = KC.DUPS + dups.length;
    if (copy >= KC.DUPS_END) throw new Error('batch: too many constant use sites');
    dups.push([copy, slot]);
    return o.v_load(o.i32(0), constAddr(copy));
  };
  const ZERO = o.v_const_bytes(ZERO16);
  const get = o.get;
  const set = o.set;
  const f32: F32Ctx = { get, set, K, ZERO, l: { ...l, sp: l.sp32 } };
  return { g, v, tab, lc, l, get, set, K, ZERO, dups, f32 };
}
type Ctx = ReturnType<typeof newCtx>;

/** x ^= x >>> 16; x *= M1; x ^= x >>> 15; x *= M2; x ^= x >>> 16 (rng/counter.ts mix32), in the i32x4 lanes of local x */
export function mix32Lanes(x: number): Code[] {
  const { get, set } = o;
  return [
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
    set(x, o.i32x4_mul(get(x), o.i32x4_splat(o.i32(M1)))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(15)))),
    set(x, o.i32x4_mul(get(x), o.i32x4_splat(o.i32(M2)))),
    set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
  ];
}

function mixVec(_ctx: Ctx, x: number): Code[] {
  return mix32Lanes(x);
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

/** the cell's draw base mix32(key + cell * CELL_STRIDE), and its pointers */
export function emitCellStart(ctx: Ctx): Code[] {
  const { get, set, l, g, v } = ctx;
  const pos = o.i32_add(o.i32_load(get(l.rec), REC.POS), o.i32(g.minOd));
  const out: Code[] = [
    set(l.base, o.i32_add(get(l.key), o.i32_mul(o.i32_load(get(l.rec), REC.CELL), o.i32(CELL_STRIDE | 0)))),
    ...mixScalar(ctx, l.base),
    set(l.sp, o.i32_add(abiLoad.i32('bPlane'), pos)),
    set(l.bp, o.i32_add(abiLoad.i32('bBias'), pos)),
    set(l.tacc, ctx.ZERO),
  ];
  if (v.cycle) {
    // node and target: one f32 per lane; the sigmoid cache: two (sigma~, |gain T|)
    const cellLanes = (slot: 'bNode' | 'bTarget' | 'bSig', bytes: number) => o.i32_add(abiLoad.i32(slot), o.i32_mul(o.i32_load(get(l.rec), REC.CELL), o.i32(g.BL * bytes)));
    out.push(set(l.vp, cellLanes('bNode', 4)), set(l.tp, cellLanes('bTarget', 4)), set(l.gp, cellLanes('bSig', 8)));
    out.push(set(l.GI, o.v_load32_splat(get(l.rec), REC.GAIN)), set(l.OI, o.v_load32_splat(get(l.rec), REC.OFF)));
    out.push(set(l.gi64, o.f64_load(get(l.rec), REC.GAIN64)), set(l.oi64, o.f64_load(get(l.rec), REC.OFF64)));
    if (v.cycle.lat) out.push(set(l.pp, o.i32_add(abiLoad.i32('bPrev'), pos)));
  }
  return out;
}

const weight = (ctx: Ctx, d: number): Code => o.v_load16_splat(ctx.get(ctx.l.rec), REC.W + 2 * d);

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
 * Ideal decision: each lane's table entry for its G (threshold with the sign bit flipped, divider
 * term), gathered lane by lane; up = (draw ^ sign) < threshold' (signed), i.e. draw < threshold.
 * The new masks in `up`; the divider terms of chains 0-3 in dA, 4-7 in dB.
 */
export function emitDecideIdeal(ctx: Ctx): Code[] {
  const { get, set, l, tab } = ctx;
  const entry = (lane: number) => o.i32_shl(o.i16x8_extract_u(get(l.G), lane), o.i32(3));
  const zero = o.v_const_bytes(ZERO16);
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

/** the drives f(f(G) f(hScale)) of an i16x8 value G' (minus gOff) as two f32x4: chains 0-3, 4-7 */
function drives(ctx: Ctx, from: Code, out: number[]): Code[] {
  const { get, set, K, l, tab } = ctx;
  const off = o.i32x4_splat(o.i32(tab.gOff));
  return [
    set(l.t32, from),
    set(out[0], o.f32x4_mul(o.f32x4_convert_i32x4_s(o.i32x4_sub(o.i32x4_extend_low_i16x8_s(get(l.t32)), off)), K(KC.FTB))),
    set(out[1], o.f32x4_mul(o.f32x4_convert_i32x4_s(o.i32x4_sub(o.i32x4_extend_high_i16x8_s(get(l.t32)), off)), K(KC.FTB))),
  ];
}

/** f32x4 lanes of magnitude below KC.FTINY set to 0 (x is read twice: pass a local) */
const flushTiny32 = (K: (slot: number) => Code, x: Code): Code => o.v_andnot(x, o.f32x4_lt(o.f32x4_abs(x), K(KC.FTINY)));

/**
 * Cycle decision of vector k, in single precision (cells/physics.ts): drives, node relaxation,
 * estimate per half (four chains, one f32x4 each), the exact decision of undecided lanes; leaves
 * the new masks in `up`, the node values in V, stores targets, nodes and the sigmoid cache.
 */
export function emitCycle(ctx: Ctx, k: number): Code[] {
  const { get, set, K, ZERO, l, g, v, f32 } = ctx;
  const cy = v.cycle!;
  const out: Code[] = [];
  const own = -g.minOd + 16 * k;
  out.push(...drives(ctx, get(l.G), l.h));
  if (cy.lat) {
    // stale = sum_d (2w_d x AND prev_d) - (2w_d x AND m_d) on tile-crossing wires: w (sPrev - s)
    out.push(set(l.stale, ZERO));
    for (let d = 0; d < g.D; d++) {
      const wx = o.v_load16_splat(get(l.rec), REC.W + 2 * g.D + 2 * d);
      const at = g.od[d] - g.minOd + 16 * k;
      out.push(set(l.stale, o.i16x8_add(get(l.stale), o.i16x8_sub(o.v_and(wx, o.v_load(get(l.pp), at)), o.v_and(o.v_load16_splat(get(l.rec), REC.W + 2 * g.D + 2 * d), o.v_load(get(l.sp), at))))));
    }
    out.push(...drives(ctx, o.i16x8_add(get(l.G), get(l.stale)), l.hm));
  }
  for (let q = 0; q < 2; q++) out.push(set(l.V0[q], o.v_load(get(l.vp), 32 * k + 16 * q)), set(l.T1[q], o.v_load(get(l.tp), 32 * k + 16 * q)));
  // segments: V = f(T + f(f(V_start - T) aB^n)) (cells/physics.ts), distances for the estimate
  for (let q = 0; q < 2; q++) out.push(set(l.V[q], get(l.V0[q])));
  const segment = (n: number, slot: number, Tof: (q: number) => Code, dist: number[]) => {
    for (let q = 0; q < 2; q++) {
      out.push(set(l.e0, o.f32x4_sub(get(l.V[q]), Tof(q))));
      out.push(set(dist[q], flushTiny32(K, get(l.e0))));
      if (n > 0) out.push(set(l.V[q], o.f32x4_add(Tof(q), o.f32x4_mul(get(l.e0), K(slot)))));
    }
  };
  segment(cy.n1, KC.FPW1, (q) => get(l.T1[q]), l.d1);
  if (cy.lat) segment(cy.nMid, KC.FPWM, (q) => get(l.hm[q]), l.dm);
  segment(cy.n2, KC.FPW2, (q) => get(l.h[q]), l.d2);
  out.push(set(l.old, o.v_load(get(l.sp), own)));
  // the estimate, per half q (chains 4q .. 4q + 3)
  for (let q = 0; q < 2; q++) {
    const x = q === 0 ? l.xA : l.xB;
    const sgAt = 32 * k + 16 * q;
    const oldq = q === 0 ? o.i32x4_extend_low_i16x8_s(get(l.old)) : o.i32x4_extend_high_i16x8_s(get(l.old));
    // the previous target's sigma~ from the cache, |gi T1| recomputed (the value the cache would hold)
    const cached = (): Code[] => [set(l.sg, o.v_load(get(l.gp), sgAt)), set(l.mag, o.f32x4_abs(o.f32x4_mul(get(l.GI), get(l.T1[q]))))];
    /** the decision of the four lanes from Pq -+ Mq: upq, and amb for the lanes it cannot decide */
    const decide = (): Code[] => {
      const d: Code[] = [];
      d.push(set(l.tmp, o.f32x4_mul(o.f32x4_convert_i32x4_u(get(x)), K(KC.FTWO32))));
      d.push(set(l.upq[q], o.f32x4_lt(get(l.tmp), o.f32x4_sub(get(l.Pq), get(l.Mq)))));
      d.push(set(l.amb[q], o.v_not(o.v_or(get(l.upq[q]), o.f32x4_ge(get(l.tmp), o.f32x4_add(get(l.Pq), get(l.Mq)))))));
      if (v.masked) d.push(set(l.amb[q], o.v_and(get(l.amb[q]), o.v_load(get(l.mask), 112 * k + 16 + 16 * q))));
      return d;
    };
    /** the second-order estimate (emit/estimate.ts) and its decision; the new target's sigma~ and |gi h| in e1, e2 */
    const taylor = (): Code[] => {
      const t: Code[] = [];
      t.push(set(l.Pq, o.v_and(oldq, K(KC.BPOW))), set(l.Mq, ZERO), set(l.SL, o.f32x4_abs(get(l.OI))));
      t.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.d1[q]))));
      t.push(...emitTaylorTerm(f32, 0, cached()));
      if (cy.lat) {
        t.push(set(l.tmp, get(l.hm[q])));
        t.push(set(l.zq, o.f32x4_add(o.f32x4_mul(get(l.GI), get(l.tmp)), get(l.OI))));
        t.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.dm[q]))));
        t.push(...emitTaylorTerm(f32, 1, null));
      }
      t.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.d2[q]))));
      t.push(...emitTaylorTerm(f32, 2, [set(l.sg, get(l.e1)), set(l.mag, get(l.e2))]));
      t.push(set(l.Mq, o.f32x4_add(get(l.Mq), o.f32x4_add(K(KC.K0), o.f32x4_mul(K(KC.SK), get(l.SL))))));
      t.push(...decide());
      return t;
    };
    // the new target's sigma~ (the next latch's cache) and |gi h|
    out.push(set(l.tmp, get(l.h[q])));
    out.push(set(l.zq, o.f32x4_add(o.f32x4_mul(get(l.GI), get(l.tmp)), get(l.OI))));
    out.push(...emitSigmoid32(f32), set(l.e1, get(l.sg)), set(l.e2, o.f32x4_abs(o.f32x4_mul(get(l.GI), get(l.tmp)))));
    if (cy.lat) out.push(...taylor());
    else {
      // first the zeroth-order estimate P0 = bPow [old] + C0_1 sigma~(T1) + C0_2 sigma~(h), off by at
      // most sum_s C1_s |x_s| / 4 (|sigma'| <= 1/4) plus the sigmoid's and the roundings' slop (KB + SK SL);
      // the second-order estimate only for a half with a lane that cannot be decided so
      out.push(...cached());
      out.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.d1[q]))));
      out.push(set(l.Pq, o.f32x4_add(o.v_and(oldq, K(KC.BPOW)), o.f32x4_mul(get(l.sg), K(KC.C)))));
      out.push(set(l.ax, o.f32x4_abs(get(l.xq))));
      out.push(set(l.SL, o.f32x4_add(o.f32x4_abs(get(l.OI)), o.f32x4_add(get(l.ax), get(l.mag)))));
      out.push(set(l.Mq, o.f32x4_mul(get(l.ax), K(KC.B1))));
      out.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.d2[q]))));
      out.push(set(l.Pq, o.f32x4_add(get(l.Pq), o.f32x4_mul(get(l.e1), K(KC.C + 8)))));
      out.push(set(l.ax, o.f32x4_abs(get(l.xq))));
      out.push(set(l.SL, o.f32x4_add(get(l.SL), o.f32x4_add(get(l.ax), get(l.e2)))));
      out.push(set(l.Mq, o.f32x4_add(get(l.Mq), o.f32x4_add(o.f32x4_mul(get(l.ax), K(KC.B2)), o.f32x4_add(K(KC.KB), o.f32x4_mul(K(KC.SK), get(l.SL)))))));
      out.push(...decide());
      out.push(o.if_(o.v_any_true(get(l.amb[q])), taylor()));
    }
    out.push(o.v_store(get(l.gp), get(l.e1), sgAt));
  }
  // the exact decision of undecided lanes (the reference's loops, ../emit/exact.ts)
  const fix: Code[] = [];
  for (let lane = 0; lane < 8; lane++) {
    const q = lane >> 2;
    const fl = lane & 3;
    const at = (x: number) => o.f64_promote(o.f32x4_extract(get(x), fl));
    const call = o.call(F_EXACT, [
      at(l.V0[q]),
      at(l.T1[q]),
      at(l.h[q]),
      at(cy.lat ? l.hm[q] : l.h[q]),
      get(l.gi64),
      get(l.oi64),
      o.select(o.f64(1), o.f64(-1), o.i16x8_extract_s(get(l.old), lane)),
      o.i32x4_extract(get(q === 0 ? l.xA : l.xB), fl),
    ]);
    fix.push(o.if_(o.i32x4_extract(get(l.amb[q]), fl), [set(l.upq[q], o.i32x4_replace(get(l.upq[q]), o.i32_wrap_i64(call), fl)), set(l.nfb, o.i32_add(get(l.nfb), o.i32(1)))]));
  }
  out.push(o.if_(o.v_any_true(o.v_or(get(l.amb[0]), get(l.amb[1]))), fix));
  out.push(set(l.up, o.i16x8_narrow_i32x4_s(get(l.upq[0]), get(l.upq[1]))));
  // nodes and targets
  for (let q = 0; q < 2; q++) out.push(o.v_store(get(l.vp), get(l.V[q]), 32 * k + 16 * q), o.v_store(get(l.tp), get(l.h[q]), 32 * k + 16 * q));
  if (cy.lat) out.push(o.v_store(get(l.pp), get(l.old), own));
  return out;
}

/** new masks stored, toggles and divider terms counted (masked to the valid lanes of a partial block) */
export function emitCommit(ctx: Ctx, k: number): Code[] {
  const { get, set, K, l, g, v, ZERO } = ctx;
  const own = -g.minOd + 16 * k;
  const out: Code[] = [];
  if (!v.cycle) out.push(set(l.old, o.v_load(get(l.sp), own)));
  out.push(o.v_store(get(l.sp), get(l.up), own), set(l.tog, o.v_xor(get(l.up), get(l.old))));
  if (v.masked) out.push(set(l.tog, o.v_and(get(l.tog), o.v_load(get(l.mask), 112 * k))));
  out.push(set(l.tacc, o.i16x8_sub(get(l.tacc), get(l.tog))));
  if (!v.cycle) {
    if (v.masked) out.push(set(l.dA, o.v_and(get(l.dA), o.v_load(get(l.mask), 112 * k + 16))), set(l.dB, o.v_and(get(l.dB), o.v_load(get(l.mask), 112 * k + 32))));
    out.push(set(l.dacc, o.i32x4_add(get(l.dacc), o.i32x4_add(get(l.dA), get(l.dB)))));
  } else {
    // divider terms floor(f (1 - f) DIVIDER_Q + 1/2), f = clamp(0.5 + vsv V, 0, 1) in f64 from the f32 node, summed in f64 (exact integers)
    for (let j = 0; j < 4; j++) {
      const Vj = j & 1 ? o.shuffle(get(l.V[j >> 1]), get(l.V[j >> 1]), SWAP64) : get(l.V[j >> 1]);
      out.push(set(l.t32, o.f64x2_pmin(o.f64x2_pmax(o.f64x2_add(K(KC.HALF), o.f64x2_mul(K(KC.VSV), o.f64x2_promote_low_f32x4(Vj))), ZERO), K(KC.ONE))));
      out.push(set(l.t32, o.f64x2_mul(get(l.t32), o.f64x2_sub(K(KC.ONE), get(l.t32)))));
      out.push(set(l.t32, o.f64x2_floor(o.f64x2_add(o.f64x2_mul(get(l.t32), K(KC.DQ)), K(KC.HALF)))));
      if (v.masked) out.push(set(l.t32, o.v_and(get(l.t32), o.v_load(get(l.mask), 112 * k + 48 + 16 * j))));
      out.push(set(l.dacc, o.f64x2_add(get(l.dacc), get(l.t32))));
      if (v.perChain) out.push(o.v_store(get(l.acc64), o.f64x2_add(o.v_load(get(l.acc64), 64 * k + 16 * j), get(l.t32)), 64 * k + 16 * j));
    }
  }
  if (v.perChain) {
    // per lane: toggles, wire, links (i32), divider (ideal: i32)
    const BL = g.BL;
    const lo = o.i32x4_extend_low_i16x8_s(get(l.tog));
    const hi = o.i32x4_extend_high_i16x8_s(get(l.tog));
    const accAt = (what: number, half: number) => 4 * (what * BL + 8 * k + 4 * half);
    const add = (what: number, half: number, val: Code) => o.v_store(get(l.acc), o.i32x4_add(o.v_load(get(l.acc), accAt(what, half)), val), accAt(what, half));
    out.push(
      add(ACC.TOGGLES, 0, o.i32x4_sub(o.i32x4_splat(o.i32(0)), lo)),
      add(ACC.TOGGLES, 1, o.i32x4_sub(o.i32x4_splat(o.i32(0)), hi)),
      add(ACC.WIRE, 0, o.v_and(lo, o.i32x4_splat(o.i32_load(get(l.rec), REC.WIREQ)))),
      add(ACC.WIRE, 1, o.v_and(hi, o.i32x4_splat(o.i32_load(get(l.rec), REC.WIREQ)))),
      add(ACC.LINKS, 0, o.v_and(lo, o.i32x4_splat(o.i32_load(get(l.rec), REC.CC)))),
      add(ACC.LINKS, 1, o.v_and(hi, o.i32x4_splat(o.i32_load(get(l.rec), REC.CC)))),
    );
    if (!v.cycle) out.push(add(ACC.DIV, 0, get(l.dA)), add(ACC.DIV, 1, get(l.dB)));
  }
  return out;
}

/** `body` run n times (n an i32 local, counted down; nothing when n <= 0): the loop every list walk here uses. */
function countDown(n: number, body: Code[]): Code {
  return o.block([o.br_if(0, o.i32_le_s(o.get(n), o.i32(0))), o.loop([...body, o.br_if(0, o.i32_gt_s(o.tee(n, o.i32_sub(o.get(n), o.i32(1))), o.i32(0)))])]);
}

/** horizontal sum of the i16x8 `from` into the scalar `to` */
function hsum16(get: (x: number) => Code, set: (x: number, v: Code) => Code, t32: number, from: number, to: number): Code[] {
  return [
    set(t32, o.i32x4_extadd_pairwise_i16x8_s(get(from))),
    set(t32, o.i32x4_add(get(t32), o.shuffle(get(t32), get(t32), SWAP64))),
    set(t32, o.i32x4_add(get(t32), o.shuffle(get(t32), get(t32), SWAP32))),
    set(to, o.i32x4_extract(get(t32), 0)),
  ];
}

/** i8x16.shuffle lane lists that interleave 16-, 32- and 64-bit units of two vectors (low or high halves) */
const units = (size: number, ls: number[]): number[] => ls.flatMap((u) => Array.from({ length: size }, (_, b) => size * u + b));
const LO16 = units(2, [0, 8, 1, 9, 2, 10, 3, 11]);
const HI16 = units(2, [4, 12, 5, 13, 6, 14, 7, 15]);
const LO32 = units(4, [0, 4, 1, 5]);
const HI32 = units(4, [2, 6, 3, 7]);
const LO64 = units(8, [0, 2]);
const HI64 = units(8, [1, 3]);

/** 8 x 8 transpose of i16 lanes in v128 locals: lane j of x[l] -> lane l of y[j] (x is clobbered; t is scratch) */
function transpose8(x: number[], t: number[], y: number[]): Code[] {
  const sh = (a: number, b: number, lanes: number[]) => o.shuffle(o.get(a), o.get(b), lanes);
  const c: Code[] = [];
  // pairs of rows interleaved by 16 bits: t[2p] columns 0-3, t[2p+1] columns 4-7 of rows 2p, 2p+1
  for (let p = 0; p < 4; p++) c.push(o.set(t[2 * p], sh(x[2 * p], x[2 * p + 1], LO16)), o.set(t[2 * p + 1], sh(x[2 * p], x[2 * p + 1], HI16)));
  // then by 32 bits: x[q] columns 2q, 2q+1 of rows 0-3, x[4 + q] the same of rows 4-7
  for (const h of [0, 4]) {
    c.push(o.set(x[h], sh(t[h], t[h + 2], LO32)), o.set(x[h + 1], sh(t[h], t[h + 2], HI32)));
    c.push(o.set(x[h + 2], sh(t[h + 1], t[h + 3], LO32)), o.set(x[h + 3], sh(t[h + 1], t[h + 3], HI32)));
  }
  // then by 64 bits: y[j] column j of every row
  for (let q = 0; q < 4; q++) c.push(o.set(y[2 * q], sh(x[q], x[4 + q], LO64)), o.set(y[2 * q + 1], sh(x[q], x[4 + q], HI64)));
  return c;
}

/**
 * Chain-major rows <-> a block plane, eight cells at a time (bCount groups): per group the plane
 * positions of its cells at bCells (8 i32), per lane of the block a pointer to its row at bRows
 * (advanced by the group's bytes). Per vector of eight lanes the eight rows' cells are loaded,
 * transposed (transpose8) and stored as the cells' lanes, or the reverse.
 *   rowsIn8   i8 spins (> 0: +1) -> spin masks of the plane at bPlane
 *   rowsIn16  i16 values -> the plane at bPlane as they are (the bias plane)
 *   rowsOut8  the spin masks of the plane at bPlane -> i8 spins (+1 / -1)
 */
function rowFuncs(g: BatchGeom): FuncDef[] {
  const make = (name: string, kind: 'in8' | 'in16' | 'out8'): FuncDef => {
    const lc = new Locals(0);
    const r = { list: lc.add(T.i32), n: lc.add(T.i32), cb: lc.add(T.i32), rows: lc.add(T.i32), plane: lc.add(T.i32) };
    const x = Array.from({ length: 8 }, () => lc.add(T.v128));
    const t = Array.from({ length: 8 }, () => lc.add(T.v128));
    const y = Array.from({ length: 8 }, () => lc.add(T.v128));
    const rowAt = (lane: number) => o.i32_add(o.i32_load(o.get(r.rows), 4 * lane), o.get(r.cb));
    const cellAt = (c: number) => o.i32_add(o.get(r.plane), o.i32_load(o.get(r.list), 4 * c));
    const ZEROV = o.v_const_bytes(new Array(16).fill(0));
    const MONEV = o.v_const_bytes(new Array(16).fill(255));
    const group: Code[] = [];
    for (let v = 0; v < g.NV; v++) {
      if (kind === 'out8') {
        for (let c = 0; c < 8; c++) group.push(o.set(x[c], o.v_load(cellAt(c), 16 * v)));
        group.push(...transpose8(x, t, y));
        for (let l = 0; l < 8; l++) {
          const pm = o.i16x8_sub(MONEV, o.i16x8_add(o.get(y[l]), o.get(y[l])));
          group.push(o.v_store64_lane(rowAt(8 * v + l), o.i8x16_narrow_i16x8_s(pm, pm), 0));
        }
      } else {
        for (let l = 0; l < 8; l++) group.push(o.set(x[l], kind === 'in8' ? o.i16x8_extend_low_i8x16_s(o.v_load64_zero(rowAt(8 * v + l))) : o.v_load(rowAt(8 * v + l))));
        group.push(...transpose8(x, t, y));
        for (let c = 0; c < 8; c++) group.push(o.v_store(cellAt(c), kind === 'in8' ? o.i16x8_gt_s(o.get(y[c]), ZEROV) : o.get(y[c]), 16 * v));
      }
    }
    return {
      name,
      params: [],
      results: [],
      locals: lc.types,
      body: [
        o.set(r.list, abiLoad.i32('bCells')),
        o.set(r.n, abiLoad.i32('bCount')),
        o.set(r.rows, abiLoad.i32('bRows')),
        o.set(r.plane, abiLoad.i32('bPlane')),
        o.set(r.cb, o.i32(0)),
        countDown(r.n, [...group, o.set(r.list, o.i32_add(o.get(r.list), o.i32(32))), o.set(r.cb, o.i32_add(o.get(r.cb), o.i32(kind === 'in16' ? 16 : 8)))]),
      ],
    };
  };
  return [make('rowsIn8', 'in8'), make('rowsIn16', 'in16'), make('rowsOut8', 'out8')];
}

/**
 * Moments of a block, as counts. Each cell's spins become one i64 at bBits (bit l: lane l is +1),
 * from the plane positions of every cell at bCells (bCount cells, cell order); the wires are
 * listed at bWires (bNWires entries of three i32: the byte offsets of the two ends' bits in bBits,
 * and a third the caller's). Counted over the valid lanes (the i64 at bValidLo), out at bOut: per
 * cell the lanes with spin +1, then per wire the lanes whose ends disagree.
 */
function momentsFunc(g: BatchGeom): FuncDef {
  const lm = new Locals(0);
  const m = { list: lm.add(T.i32), n: lm.add(T.i32), sp: lm.add(T.i32), outp: lm.add(T.i32), bits: lm.add(T.i32), acc: lm.add(T.i64), valid: lm.add(T.i64) };
  const get = o.get;
  const set = o.set;
  const popValid = (x: Code) => o.i32_wrap_i64(o.i64_popcnt(o.i64_and(x, get(m.valid))));
  const wireOf = (k: number) => o.i64_load(o.i32_add(get(m.bits), o.i32_load(get(m.list), 4 * k)));
  return {
    name: 'moments',
    params: [],
    results: [],
    locals: lm.types,
    body: [
      set(m.valid, o.i64_load(o.i32(0), i32Addr('bValidLo'))),
      set(m.list, abiLoad.i32('bCells')),
      set(m.n, abiLoad.i32('bCount')),
      set(m.bits, abiLoad.i32('bBits')),
      set(m.outp, abiLoad.i32('bOut')),
      countDown(m.n, [
        set(m.sp, o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(m.list), 0))),
        ...cellBits(g, m.sp, m.acc),
        o.i64_store(get(m.bits), get(m.acc)),
        o.i32_store(get(m.outp), popValid(get(m.acc))),
        set(m.list, o.i32_add(get(m.list), o.i32(4))),
        set(m.bits, o.i32_add(get(m.bits), o.i32(8))),
        set(m.outp, o.i32_add(get(m.outp), o.i32(4))),
      ]),
      set(m.list, abiLoad.i32('bWires')),
      set(m.n, abiLoad.i32('bNWires')),
      set(m.bits, abiLoad.i32('bBits')),
      countDown(m.n, [
        o.i32_store(get(m.outp), popValid(o.i64_xor(wireOf(0), wireOf(1)))),
        set(m.outp, o.i32_add(get(m.outp), o.i32(4))),
        set(m.list, o.i32_add(get(m.list), o.i32(12))),
      ]),
    ],
  };
}

/** a cell's lanes as one i64 (bit l: lane l is +1) from its vectors at sp, into local acc */
function cellBits(g: BatchGeom, sp: number, acc: number): Code[] {
  const out: Code[] = [o.set(acc, o.i64(0))];
  for (let k = 0; k < g.NV; k++) {
    const b = o.i64_extend_i32_u(o.i16x8_bitmask(o.v_load(o.get(sp), 16 * k)));
    out.push(o.set(acc, o.i64_or(o.get(acc), k === 0 ? b : o.i64_shl(b, o.i64(8 * k)))));
  }
  return out;
}

/**
 * Moments of a block added to integer accumulators, as MomentSums holds them (2 ups - lanes per
 * cell, lanes - 2 disagreements per wire), through a grid of the cells' spins as i64 (bit l: lane
 * l is +1) laid out as the padded plane, one i64 per cell at bBits: a cell's neighbour in direction
 * d is a fixed offset away, so each colour-0 cell's wires are loads at immediates.
 *   bCells/bCount   per cell (cell order) its plane position and grid offset; their spin sums are i32 at bSumSpin
 *   bPads/bNPads    torus wrap copies within the grid (byte offsets: destination, source)
 *   bWires/bNWires  grid byte offsets of the colour-0 cells (colourCells[0] order); their D wires' sums
 *                   are i32 at bSumPair, D per cell
 * Entries of wires that leave an open grid read the padding's zeros: the caller leaves them out.
 */
function momentsAccFunc(g: BatchGeom): FuncDef {
  const lm = new Locals(0);
  const m = { list: lm.add(T.i32), n: lm.add(T.i32), sp: lm.add(T.i32), p: lm.add(T.i32), accp: lm.add(T.i32), pos: lm.add(T.i32), bits: lm.add(T.i64), x: lm.add(T.i64), valid: lm.add(T.i64), cnt: lm.add(T.i32) };
  const get = o.get;
  const set = o.set;
  const popValid = (x: Code) => o.i32_wrap_i64(o.i64_popcnt(o.i64_and(x, get(m.valid))));
  /** i32 at accp + off += v */
  const addTo = (off: number, v: Code): Code => o.i32_store(get(m.accp), o.i32_add(o.i32_load(get(m.accp), off), v), off);
  // the grid: cells of cellBytes bytes in the plane, 8 in the grid
  const odB = g.od.map((od) => (od / g.cellBytes) * 8);
  const minB = Math.min(0, ...odB);
  const wires: Code[] = [];
  for (let d = 0; d < g.D; d++) {
    const c = popValid(o.i64_xor(get(m.x), o.i64_load(get(m.p), odB[d] - minB)));
    wires.push(addTo(4 * d, o.i32_sub(get(m.cnt), o.i32_shl(c, o.i32(1)))));
  }
  return {
    name: 'momentsAcc',
    params: [],
    results: [],
    locals: lm.types,
    body: [
      set(m.valid, o.i64_load(o.i32(0), i32Addr('bValidLo'))),
      set(m.cnt, popValid(o.i64(-1))),
      set(m.list, abiLoad.i32('bCells')),
      set(m.n, abiLoad.i32('bCount')),
      set(m.accp, abiLoad.i32('bSumSpin')),
      countDown(m.n, [
        set(m.pos, o.i32_load(get(m.list), 0)),
        set(m.sp, o.i32_add(abiLoad.i32('bPlane'), get(m.pos))),
        ...cellBits(g, m.sp, m.bits),
        o.i64_store(o.i32_add(abiLoad.i32('bBits'), o.i32_load(get(m.list), 4)), get(m.bits)),
        addTo(0, o.i32_sub(o.i32_shl(popValid(get(m.bits)), o.i32(1)), get(m.cnt))),
        set(m.list, o.i32_add(get(m.list), o.i32(8))),
        set(m.accp, o.i32_add(get(m.accp), o.i32(4))),
      ]),
      set(m.list, abiLoad.i32('bPads')),
      set(m.n, abiLoad.i32('bNPads')),
      countDown(m.n, [
        o.i64_store(o.i32_add(abiLoad.i32('bBits'), o.i32_load(get(m.list), 0)), o.i64_load(o.i32_add(abiLoad.i32('bBits'), o.i32_load(get(m.list), 4)))),
        set(m.list, o.i32_add(get(m.list), o.i32(8))),
      ]),
      set(m.list, abiLoad.i32('bWires')),
      set(m.n, abiLoad.i32('bNWires')),
      set(m.accp, abiLoad.i32('bSumPair')),
      countDown(m.n, [
        set(m.p, o.i32_add(abiLoad.i32('bBits'), o.i32_add(o.i32_load(get(m.list), 0), o.i32(minB)))),
        set(m.x, o.i64_load(get(m.p), -minB)),
        ...wires,
        set(m.list, o.i32_add(get(m.list), o.i32(4))),
        set(m.accp, o.i32_add(get(m.accp), o.i32(4 * g.D))),
      ]),
    ],
  };
}

/** the module: latch(), moments(), pads(), pack(), rowsIn8(), rowsIn16(), rowsOut8(), momentsAcc() */
export function generateBatch(g: BatchGeom, variant: BatchVariant, tab: TableSpec): Uint8Array {
  const ctx = newCtx(g, variant, tab);
  const { get, set, l, ZERO } = ctx;
  // ---- latch ----
  const cellBody: Code[] = [...emitCellStart(ctx)];
  if (!variant.cycle) {
    // ideal: the vectors of a cell unrolled, offsets as immediates
    for (let k = 0; k < g.NV; k++) cellBody.push(...emitField(ctx, k), ...emitDraws(ctx, k), ...emitDecideIdeal(ctx), ...emitCommit(ctx, k));
  } else {
    // cycle: a loop over the vectors (the code of one is long), pointers advanced per vector
    const steps: [number, number][] = [
      [l.sp, 16],
      [l.bp, 16],
      [l.phi, 32],
      [l.mask, 112],
      [l.vp, 32],
      [l.tp, 32],
      [l.gp, 32],
      [l.acc, 32],
      [l.acc64, 64],
    ];
    if (variant.cycle.lat) steps.push([l.pp, 16]);
    cellBody.push(
      set(l.acc64, o.i32_add(get(l.acc), o.i32(ACC.DIV64_BYTES * g.BL))),
      set(l.kv, o.i32(g.NV)),
      o.loop([
        ...emitField(ctx, 0),
        ...emitDraws(ctx, 0),
        ...emitCycle(ctx, 0),
        ...emitCommit(ctx, 0),
        ...steps.map(([p, d]) => set(p, o.i32_add(get(p), o.i32(d)))),
        o.br_if(0, o.i32_gt_s(o.tee(l.kv, o.i32_sub(get(l.kv), o.i32(1))), o.i32(0))),
      ]),
      // the per-block pointers back to the first vector for the next cell (the per-cell ones are set from its record)
      ...[l.phi, l.mask, l.acc].map((p) => set(p, o.i32_sub(get(p), o.i32(steps.find(([q]) => q === p)![1] * g.NV)))),
    );
  }
  cellBody.push(
    ...hsum16(get, set, l.t32, l.tacc, l.cnt),
    set(l.tog64, o.i64_add(get(l.tog64), o.i64_extend_i32_s(get(l.cnt)))),
    set(l.wire64, o.i64_add(get(l.wire64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), REC.WIREQ))))),
    set(l.link64, o.i64_add(get(l.link64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), REC.CC))))),
    set(l.rec, o.i32_add(get(l.rec), o.i32(g.RB))),
  );
  const lane64 = (x: Code, lane: number) => o.i64_extend_i32_s(o.i32x4_extract(x, lane));
  const divider = variant.cycle
    ? o.f64_add(o.f64x2_extract(get(l.dacc), 0), o.f64x2_extract(get(l.dacc), 1))
    : o.f64_convert_i64_s(o.i64_add(o.i64_add(lane64(get(l.dacc), 0), lane64(get(l.dacc), 1)), o.i64_add(lane64(get(l.dacc), 2), lane64(get(l.dacc), 3))));
  const body: Code[] = [
    set(l.rec, abiLoad.i32('bCells')),
    set(l.n, abiLoad.i32('bCount')),
    set(l.phi, abiLoad.i32('bPhi')),
    set(l.mask, abiLoad.i32('bMask')),
    set(l.acc, abiLoad.i32('bAcc')),
    set(l.key, abiLoad.i32('bKey')),
    set(l.tog64, o.i64(0)),
    set(l.wire64, o.i64(0)),
    set(l.link64, o.i64(0)),
    set(l.nfb, o.i32(0)),
    set(l.dacc, ZERO),
    countDown(l.n, cellBody),
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.tog64)), outAddr('toggles')),
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.wire64)), outAddr('wire')),
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.link64)), outAddr('link')),
    o.f64_store(o.i32(0), divider, outAddr('divider')),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(get(l.nfb)), outAddr('fallbacks')),
  ];
  const copies = ctx.dups.map(([copy, slot]) => o.v_store(o.i32(0), o.v_load(o.i32(0), constAddr(slot)), constAddr(copy)));
  const latch: FuncDef = { name: 'latch', params: [], results: [], locals: ctx.lc.types, body: [...copies, ...body] };
  const momentsFn = momentsFunc(g);
  const momentsAccFn = momentsAccFunc(g);
  // ---- pads: torus wrap copies (pairs of byte offsets in a plane) ----
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
      countDown(p.n, [
        set(p.dst, o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(p.list), 0))),
        set(p.src, o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(p.list), 4))),
        ...copy,
        set(p.list, o.i32_add(get(p.list), o.i32(8))),
      ]),
    ],
  };
  // ---- pack: every chain's spins bit-packed in cell order (bit i & 7 of byte i >> 3: spin +1) ----
  // list at bCells: the plane position of cell i for i < ceil(N / 8) * 8 (padding cells beyond N);
  // bCount groups of 8 cells; chain lane l's bytes at bOut + l * bStride
  const lk = new Locals(0);
  const k = { list: lk.add(T.i32), g: lk.add(T.i32), n: lk.add(T.i32), out: lk.add(T.i32), stride: lk.add(T.i32), x: lk.add(T.i64), t: lk.add(T.i64) };
  const I64 = (v: bigint) => o.i64(v);
  const swap = (shift: number, mask: bigint): Code[] => [
    set(k.t, o.i64_and(o.i64_xor(get(k.x), o.i64_shr_u(get(k.x), I64(BigInt(shift)))), I64(mask))),
    set(k.x, o.i64_xor(o.i64_xor(get(k.x), get(k.t)), o.i64_shl(get(k.t), I64(BigInt(shift))))),
  ];
  const group: Code[] = [];
  for (let v = 0; v < g.NV; v++) {
    group.push(set(k.x, o.i64(0)));
    for (let c = 0; c < 8; c++) {
      const m = o.i16x8_bitmask(o.v_load(o.i32_add(abiLoad.i32('bPlane'), o.i32_load(get(k.list), 4 * c)), 16 * v));
      group.push(set(k.x, o.i64_or(get(k.x), o.i64_shl(o.i64_extend_i32_u(m), I64(BigInt(8 * c))))));
    }
    // an 8 x 8 bit transpose: byte c bit l (cell c, lane l) -> byte l bit c
    group.push(...swap(7, 0x00aa00aa00aa00aan), ...swap(14, 0x0000cccc0000ccccn), ...swap(28, 0x00000000f0f0f0f0n));
    for (let l = 0; l < 8; l++) {
      group.push(o.i32_store8(o.i32_add(get(k.out), o.i32_mul(get(k.stride), o.i32(8 * v + l))), o.i32_wrap_i64(o.i64_shr_u(get(k.x), I64(BigInt(8 * l))))));
    }
  }
  const packFn: FuncDef = {
    name: 'pack',
    params: [],
    results: [],
    locals: lk.types,
    body: [
      set(k.list, abiLoad.i32('bCells')),
      set(k.n, abiLoad.i32('bCount')),
      set(k.out, abiLoad.i32('bOut')),
      set(k.stride, abiLoad.i32('bStride')),
      countDown(k.n, [
        ...group,
        set(k.list, o.i32_add(get(k.list), o.i32(32))),
        set(k.out, o.i32_add(get(k.out), o.i32(1))),
      ]),
    ],
  };
  const funcs: FuncDef[] = [];
  const rows = rowFuncs(g);
  if (variant.cycle) funcs.push(exactFunc({ cycle: true, n1: variant.cycle.n1, nMid: variant.cycle.nMid, n2: variant.cycle.n2 }, EXP));
  else funcs.push(exactFunc({ cycle: false }, EXP)); // unused by the ideal kernel; keeps function indices fixed
  funcs.push(latch, momentsFn, padsFn, packFn, ...rows, momentsAccFn);
  return assemble({
    memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true },
    imports: [{ module: 'e', name: 'exp', params: [T.f64], results: [T.f64] }],
    funcs,
  });
}
