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
 *              Cycle physics, in f32 lanes (four chains each): the drive, the node's relaxation
 *              over the interval's segments, an estimate of P with its error bound, the divider
 *              terms (dividerTerms). Without delayed links (emitCycleFast) the zeroth-order
 *              estimate decides, and the halves with a lane it cannot decide are recorded for
 *              fix() after the cell's vectors; with delayed links (emitCycle) the second-order
 *              estimate (../emit/estimate.ts) and the exact decision (../emit/exact.ts) run inline.
 *   fix()      (cycle, no delayed links) the recorded halves: second-order estimate, exact decision,
 *              lanes set, tallies corrected.
 *   moments()  per cell the chains with spin +1, per wire the chains whose ends disagree.
 *   pads()     torus wrap copies of a colour's cells into the padding.
 *   pack()     every chain's spins bit-packed (traces).
 *   fields()   every cell's integer field in every lane (the cycle engine's load() settles nodes from it).
 *   settle()   nodes, targets and sigmoid caches settled to those fields in chosen lanes (the cycle engine's load()).
 *
 * What each lane computes is the reference engine's arithmetic for its chain: the integer field
 * (exact), the draw latchDraw(key, cell, chain) (rng/counter.ts), the threshold, node values and
 * divider terms of cells/physics.ts.
 */
import { op as o, T, Locals, assemble, type Code, type FuncDef } from '../asm.js';
import { abiLoad, outAddr, constAddr, i32Addr, KC, REGIONS } from '../abi.js';
import { batchRec, batchAcc, STATE, MASK, PHI, type BatchGeom } from './layout.js';
import { struct, ELEM } from '../struct.js';
import { CELL_STRIDE } from '../../../rng/counter.js';
import { emitTaylorTerm } from '../emit/estimate.js';
import { emitSigmoid32, emitExp2Frac32 } from '../emit/sigmoid.js';
import { exactFunc } from '../emit/exact.js';
import { DQK } from '../emit/constants.js';
import type { F32Ctx } from '../emit/sigmoid.js';

export interface BatchVariant {
  /** the last block holds fewer chains than lanes: mask the tallies */
  masked: boolean;
  /** accumulate tallies per chain (traces): divider terms per lane, toggles per lane and tally class (layout.ts batchAcc) */
  perChain: boolean;
  /** cycle-accurate physics: substeps of the interval's segments, delayed links */
  cycle: null | { n1: number; nMid: number; n2: number; lat: boolean };
  /** the caller reads no energy (latch() energy false, no per-chain tallies): no divider terms, the divider output 0 */
  noDivider?: boolean;
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
/** byte offsets of the cell record's and the tallies' fields (layout.ts) */
const recOff = (g: BatchGeom) => batchRec(g.D).off;
/** the tallies' field offsets do not depend on the number of tally classes (TOG is the last field) */
const accOff = (g: BatchGeom) => batchAcc(g.BL, 1).off;
/** bytes of one vector of eight lanes in the tallies: its i32 divider terms, or a tally class's toggle slot (layout.ts batchAcc) */
const ACC_VEC = 8 * ELEM.i32;
const F_FIX = 10; // after exact, latch, moments, pads, pack, rowsIn8, rowsIn16, rowsOut8, momentsAcc (generateBatch's order)

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
    cls: i32(),
    kv: i32(),
    base: i32(),
    key: i32(),
    cnt: i32(),
    nfb: i32(),
    vp: i32(),
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
    // the zeroth-order fast path (emitCycleFast)
    Gs: vec(),
    hq: vec(),
    Vq: vec(),
    V0q: vec(),
    T1q: vec(),
    d1q: vec(),
    d2q: vec(),
    uq: vec(),
    zP: vec(),
    zM: vec(),
    GB1: vec(),
    GB2: vec(),
    fxp: i32(),
    dvx: vec(),
    dvm: vec(),
    zn: vec(),
    tq: vec(),
    sg1: vec(),
    GIL: vec(),
    OIL: vec(),
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
  const { get, set, K, l, g, v } = ctx;
  const pos = o.i32_add(o.i32_load(get(l.rec), recOff(g).POS), o.i32(g.minOd));
  const out: Code[] = [
    set(l.base, o.i32_add(get(l.key), o.i32_mul(o.i32_load(get(l.rec), recOff(g).CELL), o.i32(CELL_STRIDE | 0)))),
    ...mixScalar(ctx, l.base),
    set(l.sp, o.i32_add(abiLoad.i32('bPlane'), pos)),
    set(l.bp, o.i32_add(abiLoad.i32('bBias'), pos)),
    set(l.tacc, ctx.ZERO),
  ];
  // per-chain tallies: the cell's tally class's toggle counts (layout.ts batchAcc TOG), advanced with acc per vector
  if (v.perChain) out.push(set(l.cls, o.i32_add(get(l.acc), o.i32_load(get(l.rec), recOff(g).CLS))));
  if (v.cycle) {
    // node and target: one f32 per lane; the sigmoid cache: two (sigma~, |gain T|)
    for (let d = 0; d < g.D; d++) out.push(o.v_store(o.i32(0), o.v_load16_splat(get(l.rec), recOff(g).W + 2 * d), WSPLAT + 16 * d));
    // the cell's analog state (layout.ts STATE): vector k, half q at vp + 96 k + 16 q (+ T, + SG)
    out.push(set(l.vp, o.i32_add(abiLoad.i32('bState'), o.i32_load(get(l.rec), recOff(g).SLOT))));
    out.push(set(l.GI, o.v_load32_splat(get(l.rec), recOff(g).GAIN)), set(l.OI, o.v_load32_splat(get(l.rec), recOff(g).OFF)));
    out.push(set(l.gi64, o.f64_load(get(l.rec), recOff(g).GAIN64)), set(l.oi64, o.f64_load(get(l.rec), recOff(g).OFF64)));
    if (!v.cycle.lat) {
      out.push(set(l.GIL, o.f32x4_mul(get(l.GI), K(KC.FNLOG2E))), set(l.OIL, o.f32x4_mul(get(l.OI), K(KC.FNLOG2E))));
      out.push(set(l.GB2, o.f32x4_mul(o.f32x4_abs(get(l.GI)), K(KC.ZB2))));
      if (v.cycle.n1 > 0) out.push(set(l.GB1, o.f32x4_mul(o.f32x4_abs(get(l.GI)), K(KC.ZB1))));
    }
    if (v.cycle.lat) out.push(set(l.pp, o.i32_add(abiLoad.i32('bPrev'), pos)));
    else out.push(set(l.fxp, abiLoad.i32('bFix')));
  }
  return out;
}

/** the cycle kernel's per-cell copies of its weights, splat (emitCellStart): one plain load per use */
const WSPLAT = REGIONS.SCRATCH.at;
const BARRIER_EVERY = 3;
const weight = (ctx: Ctx, d: number): Code =>
  ctx.v.cycle ? o.v_load(o.i32(0), WSPLAT + 16 * d) : o.v_load16_splat(ctx.get(ctx.l.rec), recOff(ctx.g).W + 2 * d);

/**
 * G' of vector k into local G: (bias - sum w + gOff) + sum_d (2w_d AND m_d), from the cell's bias
 * and spin planes at bp and sp (each at the cell's position + minOd); weightOf(d) is the splat
 * 2 w_d. With `pin` (the cycle kernel) a store of the running sum every few directions keeps V8
 * from issuing all the loads first (and spilling them). The latch and fields() both sum this way.
 */
function fieldSum(g: BatchGeom, G: number, bp: number, sp: number, k: number, weightOf: (d: number) => Code, pin: boolean): Code[] {
  const out: Code[] = [o.set(G, o.v_load(o.get(bp), -g.minOd + 16 * k))];
  for (let d = 0; d < g.D; d++) {
    out.push(o.set(G, o.i16x8_add(o.get(G), o.v_and(weightOf(d), o.v_load(o.get(sp), g.od[d] - g.minOd + 16 * k)))));
    if (pin && d % BARRIER_EVERY === BARRIER_EVERY - 1 && d < g.D - 1) out.push(o.v_store(o.i32(0), o.get(G), WSPLAT + 16 * g.D));
  }
  return out;
}

/** G' of vector k (fieldSum) in the latch */
export function emitField(ctx: Ctx, k: number): Code[] {
  const { l, g } = ctx;
  return fieldSum(g, l.G, l.bp, l.sp, k, (d) => weight(ctx, d), Boolean(ctx.v.cycle));
}

/** the lanes' draws latchDraw(key, cell, chain) = mix32(base + chain * CHAIN_STRIDE): chains 0-3 in xA, 4-7 in xB */
export function emitDraws(ctx: Ctx, k: number): Code[] {
  const { get, set, l } = ctx;
  return [
    set(l.xA, o.i32x4_add(o.i32x4_splat(get(l.base)), o.v_load(get(l.phi), PHI.stride * k + PHI.off.PHI))),
    set(l.xB, o.i32x4_add(o.i32x4_splat(get(l.base)), o.v_load(get(l.phi), PHI.stride * k + PHI.off.PHI + 16))),
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
 * Cycle decision of vector k with delayed links, in single precision (cells/physics.ts): drives
 * (and the stale drive of tile-crossing neighbours), node relaxation, the second-order estimate per
 * half (four chains, one f32x4 each), the exact decision of undecided lanes; leaves the new masks
 * in `up`, stores targets, nodes and the sigmoid cache, adds the divider terms. (Without delayed
 * links: emitCycleFast.)
 */
export function emitCycle(ctx: Ctx, k: number): Code[] {
  const { get, set, K, ZERO, l, g, v, f32 } = ctx;
  const cy = v.cycle!;
  const out: Code[] = [];
  const own = -g.minOd + 16 * k;
  out.push(...drives(ctx, get(l.G), l.h));
  {
    // stale = sum_d (2w_d x AND prev_d) - (2w_d x AND m_d) on tile-crossing wires: w (sPrev - s)
    out.push(set(l.stale, ZERO));
    for (let d = 0; d < g.D; d++) {
      const wx = o.v_load16_splat(get(l.rec), recOff(g).W + 2 * g.D + 2 * d);
      const at = g.od[d] - g.minOd + 16 * k;
      out.push(
        set(
          l.stale,
          o.i16x8_add(
            get(l.stale),
            o.i16x8_sub(o.v_and(wx, o.v_load(get(l.pp), at)), o.v_and(o.v_load16_splat(get(l.rec), recOff(g).W + 2 * g.D + 2 * d), o.v_load(get(l.sp), at))),
          ),
        ),
      );
    }
    out.push(...drives(ctx, o.i16x8_add(get(l.G), get(l.stale)), l.hm));
  }
  for (let q = 0; q < 2; q++)
    out.push(
      set(l.V0[q], o.v_load(get(l.vp), STATE.stride * k + STATE.off.V + 16 * q)),
      set(l.T1[q], o.v_load(get(l.vp), STATE.stride * k + STATE.off.T + 16 * q)),
    );
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
  segment(cy.nMid, KC.FPWM, (q) => get(l.hm[q]), l.dm);
  segment(cy.n2, KC.FPW2, (q) => get(l.h[q]), l.d2);
  out.push(set(l.old, o.v_load(get(l.sp), own)));
  // the estimate, per half q (chains 4q .. 4q + 3)
  for (let q = 0; q < 2; q++) {
    const x = q === 0 ? l.xA : l.xB;
    const sgAt = STATE.stride * k + STATE.off.SG + 16 * q;
    const oldq = q === 0 ? o.i32x4_extend_low_i16x8_s(get(l.old)) : o.i32x4_extend_high_i16x8_s(get(l.old));
    // the previous target's sigma~ from the cache, |gi T1| recomputed (the value the cache would hold)
    const cached = (): Code[] => [set(l.sg, o.v_load(get(l.vp), sgAt)), set(l.mag, o.f32x4_abs(o.f32x4_mul(get(l.GI), get(l.T1[q]))))];
    /** the decision of the four lanes from Pq -+ Mq: upq, and amb for the lanes it cannot decide */
    const decide = (): Code[] => {
      const d: Code[] = [];
      d.push(set(l.tmp, o.f32x4_mul(o.f32x4_convert_i32x4_u(get(x)), K(KC.FTWO32))));
      d.push(set(l.upq[q], o.f32x4_lt(get(l.tmp), o.f32x4_sub(get(l.Pq), get(l.Mq)))));
      d.push(set(l.amb[q], o.v_not(o.v_or(get(l.upq[q]), o.f32x4_ge(get(l.tmp), o.f32x4_add(get(l.Pq), get(l.Mq)))))));
      if (v.masked) d.push(set(l.amb[q], o.v_and(get(l.amb[q]), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M32 + 16 * q))));
      return d;
    };
    /** the second-order estimate (emit/estimate.ts) and its decision; the new target's sigma~ and |gi h| in e1, e2 */
    const taylor = (): Code[] => {
      const t: Code[] = [];
      t.push(set(l.Pq, o.v_and(oldq, K(KC.BPOW))), set(l.Mq, ZERO), set(l.SL, o.f32x4_abs(get(l.OI))));
      t.push(set(l.xq, o.f32x4_mul(get(l.GI), get(l.d1[q]))));
      t.push(...emitTaylorTerm(f32, 0, cached()));
      {
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
    // the new target's sigma~ (the next latch's cache) and |gi h|, then the second-order estimate
    out.push(set(l.tmp, get(l.h[q])));
    out.push(set(l.zq, o.f32x4_add(o.f32x4_mul(get(l.GI), get(l.tmp)), get(l.OI))));
    out.push(...emitSigmoid32(f32), set(l.e1, get(l.sg)), set(l.e2, o.f32x4_abs(o.f32x4_mul(get(l.GI), get(l.tmp)))));
    out.push(...taylor());
    out.push(o.v_store(get(l.vp), get(l.e1), sgAt));
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
      at(l.hm[q]),
      get(l.gi64),
      get(l.oi64),
      o.select(o.f64(1), o.f64(-1), o.i16x8_extract_s(get(l.old), lane)),
      o.i32x4_extract(get(q === 0 ? l.xA : l.xB), fl),
    ]);
    fix.push(
      o.if_(o.i32x4_extract(get(l.amb[q]), fl), [
        set(l.upq[q], o.i32x4_replace(get(l.upq[q]), o.i32_wrap_i64(call), fl)),
        set(l.nfb, o.i32_add(get(l.nfb), o.i32(1))),
      ]),
    );
  }
  out.push(o.if_(o.v_any_true(o.v_or(get(l.amb[0]), get(l.amb[1]))), fix));
  out.push(set(l.up, o.i16x8_narrow_i32x4_s(get(l.upq[0]), get(l.upq[1]))));
  // nodes and targets
  for (let q = 0; q < 2; q++)
    out.push(
      o.v_store(get(l.vp), get(l.V[q]), STATE.stride * k + STATE.off.V + 16 * q),
      o.v_store(get(l.vp), get(l.h[q]), STATE.stride * k + STATE.off.T + 16 * q),
    );
  out.push(o.v_store(get(l.pp), get(l.old), own));
  for (let q = 0; q < 2; q++) out.push(...dividerTerms(ctx, k, q, l.V[q]));
  return out;
}

/**
 * A lane of a half (four chains) the fast path could not decide, recorded for fix(): the half's
 * inputs and where its results go. FIX.stride bytes per half, at most two per vector of the cell.
 */
export const FIX = struct(
  'undecided half',
  [
    { name: 'V0', type: 'f32', count: 4 }, // the old nodes
    { name: 'T1', type: 'f32', count: 4 }, // the old targets
    { name: 'H', type: 'f32', count: 4 }, // the new drives
    { name: 'SG1', type: 'f32', count: 4 }, // sigma~ of the old and the new target
    { name: 'SG2', type: 'f32', count: 4 },
    { name: 'R', type: 'i32', count: 4 }, // the draws (signed)
    { name: 'AMB', type: 'i32', count: 4 }, // lane masks: undecided
    { name: 'OLD', type: 'i32', count: 4 }, // lane masks: the old spins
    { name: 'PLANE', type: 'i32' }, // address of the vector's spins
    { name: 'HALF', type: 'i32' }, // which half (0, 1)
    { name: 'ACC', type: 'i32' }, // address of the vector's per-chain tallies
  ],
  { align: 16 },
);

/**
 * Cycle decision of vector k without delayed links (cells/physics.ts, docs/physics-arithmetic.md),
 * one half (four chains, f32x4) at a time: the drive, sigma~ of the new target (the next latch's
 * cache), the node's two segments, then the zeroth-order estimate in units of 2^-32 against the draw:
 *   P0 = B + ZC1 sigma~(T1) + ZC2 sigma~(h),  B = old ? f(2^32 bPow - 2^31) : -2^31,  ZC_s = 2^32 C0_s
 *   M0 = |gain| (|d1| ZB1 + |d2| ZB2) + ZK,  d_s the segment's start minus its target
 * and u = f(r - 2^31): up if u < P0 - M0, undecided if not and u < P0 + M0, as u - B -+ M0 <
 * ZC1 sigma~(T1) + ZC2 sigma~(h), sigma~ = n / x (n = 1 or t = e^-|z|, x = 1 + t) rounded once, the
 * old target's from the cache. Scaling by 2^32 is exact; the offset 2^31 and the sums cost a few
 * roundings of 2^-24 relative on values below 2^33, under 1e-6 of P (EST_SLOP, in ZK, allows 1e-5); ZB1, ZB2 and
 * ZK (engine.ts fastBound) carry the slop the general bound scales by SL. An undecided lane is
 * provisionally down; its half is recorded (FIX) and fix() decides it after the cell's vectors.
 * Leaves the provisional masks in `up`; stores nodes, targets, the sigmoid cache; adds the divider terms.
 */
export function emitCycleFast(ctx: Ctx, k: number): Code[] {
  const { get, set, K, l, g, v } = ctx;
  const cy = v.cycle!;
  const out: Code[] = [];
  const own = -g.minOd + 16 * k;
  out.push(set(l.Gs, o.i16x8_sub(get(l.G), K(KC.GOFF))), set(l.old, o.v_load(get(l.sp), own)));
  for (let q = 0; q < 2; q++) {
    const x = q === 0 ? l.xA : l.xB;
    const at = STATE.stride * k + 16 * q; // + STATE.off.V, STATE.off.T, STATE.off.SG
    const oldq = (): Code => (q === 0 ? o.i32x4_extend_low_i16x8_s(get(l.old)) : o.i32x4_extend_high_i16x8_s(get(l.old)));
    const Gq = q === 0 ? o.i32x4_extend_low_i16x8_s(get(l.Gs)) : o.i32x4_extend_high_i16x8_s(get(l.Gs));
    // the drive; y = -min(|z|, 40) log2 e for z = gain h + offset, from z' = -log2e z (per-cell gain and
    // offset pre-scaled, emitCellStart): y = max(-|z'|, -40 log2 e); t = e^-|z| = 2^y as emit/sigmoid.ts
    out.push(set(l.hq, o.f32x4_mul(o.f32x4_convert_i32x4_s(Gq), K(KC.FTB))));
    out.push(...emitSigmaTilde(ctx));
    // node segments (the reference's operations) and the bound's distances
    const dist = (d: number, gb: number) => o.f32x4_mul(o.v_and(get(d), K(KC.FABS)), get(gb));
    out.push(set(l.Vq, o.v_load(get(l.vp), at + STATE.off.V)));
    if (cy.n1 > 0) {
      out.push(set(l.T1q, o.v_load(get(l.vp), at + STATE.off.T)), set(l.d1q, o.f32x4_sub(get(l.Vq), get(l.T1q))));
      out.push(set(l.Vq, o.f32x4_add(get(l.T1q), o.f32x4_mul(get(l.d1q), K(KC.FPW1)))));
      out.push(set(l.zM, dist(l.d1q, l.GB1)));
    }
    out.push(set(l.d2q, o.f32x4_sub(get(l.Vq), get(l.hq))));
    if (cy.n2 > 0) out.push(set(l.Vq, o.f32x4_add(get(l.hq), o.f32x4_mul(get(l.d2q), K(KC.FPW2)))));
    out.push(set(l.zM, cy.n1 > 0 ? o.f32x4_add(get(l.zM), dist(l.d2q, l.GB2)) : dist(l.d2q, l.GB2)));
    out.push(set(l.zM, o.f32x4_add(get(l.zM), K(KC.ZK))));
    // P0 = B + ZC1 sigma~(T1) + ZC2 sigma~(h) (units of 2^-32, offset -2^31; B the sticky bit's term,
    // sigma~(T1) the cache); up iff u - B + M0 < ZC1 sigma~(T1) + ZC2 sigma~(h), undecided if not and u - B - M0 < the same
    out.push(set(l.uq, o.f32x4_sub(o.f32x4_convert_i32x4_s(o.v_xor(get(x), K(KC.ISIGN))), o.v_xor(o.v_and(oldq(), K(KC.ZB)), K(KC.ZO)))));
    if (cy.n1 > 0) {
      out.push(set(l.sg1, o.v_load(get(l.vp), at + STATE.off.SG)));
      out.push(set(l.zP, o.f32x4_add(o.f32x4_mul(get(l.sg1), K(KC.ZC1)), o.f32x4_mul(get(l.sg), K(KC.ZC2)))));
    } else {
      out.push(set(l.zP, o.f32x4_mul(get(l.sg), K(KC.ZC2))));
    }
    out.push(set(l.upq[q], o.f32x4_lt(o.f32x4_add(get(l.uq), get(l.zM)), get(l.zP))));
    out.push(set(l.amb[q], o.v_andnot(o.f32x4_lt(o.f32x4_sub(get(l.uq), get(l.zM)), get(l.zP)), get(l.upq[q]))));
    if (v.masked) out.push(set(l.amb[q], o.v_and(get(l.amb[q]), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M32 + 16 * q))));
    // an undecided lane: record the half (its old node, target and cached sigma~ still in memory)
    const rec = (off: number, val: Code) => o.v_store(get(l.fxp), val, off);
    out.push(
      o.if_(o.v_any_true(get(l.amb[q])), [
        rec(FIX.off.V0, o.v_load(get(l.vp), at + STATE.off.V)),
        rec(FIX.off.T1, o.v_load(get(l.vp), at + STATE.off.T)),
        rec(FIX.off.H, get(l.hq)),
        rec(FIX.off.SG1, cy.n1 > 0 ? get(l.sg1) : o.v_const_bytes(ZERO16)),
        rec(FIX.off.SG2, get(l.sg)),
        rec(FIX.off.R, get(x)),
        rec(FIX.off.AMB, get(l.amb[q])),
        rec(FIX.off.OLD, oldq()),
        o.i32_store(get(l.fxp), o.i32_add(get(l.sp), o.i32(own)), FIX.off.PLANE),
        o.i32_store(get(l.fxp), o.i32(q), FIX.off.HALF),
        o.i32_store(get(l.fxp), get(l.acc), FIX.off.ACC),
        set(l.fxp, o.i32_add(get(l.fxp), o.i32(FIX.stride))),
      ]),
    );
    out.push(
      o.v_store(get(l.vp), get(l.Vq), at + STATE.off.V),
      o.v_store(get(l.vp), get(l.hq), at + STATE.off.T),
      o.v_store(get(l.vp), get(l.sg), at + STATE.off.SG),
    );
    out.push(...dividerTerms(ctx, k, q, l.Vq));
  }
  out.push(set(l.up, o.i16x8_narrow_i32x4_s(get(l.upq[0]), get(l.upq[1]))));
  return out;
}

/**
 * sigma~ of the drive in l.hq into l.sg (the sigmoid cache's value, layout.ts STATE), for the
 * cell's pre-scaled gain and offset GIL, OIL (emitCellStart): y = -min(|z|, 40) log2 e for
 * z = gain h + offset, from z' = -log2e z: y = max(-|z'|, -40 log2 e); t = e^-|z| = 2^y as
 * emit/sigmoid.ts; sigma~ = n / x, n = (z >= 0 ? 1 : t) = max(t, 1 if z' has its sign bit set
 * else 0) (z' = +-0: t = 1 either way), x = 1 + t, rounded once. The latch and settle() both use it.
 */
function emitSigmaTilde(ctx: Ctx): Code[] {
  const { get, set, K, l, f32 } = ctx;
  return [
    set(l.zq, o.f32x4_add(o.f32x4_mul(get(l.GIL), get(l.hq)), get(l.OIL))),
    set(l.yq, o.f32x4_pmax(o.v_or(get(l.zq), K(KC.ISIGN)), K(KC.FM40L))),
    ...emitExp2Frac32(f32),
    set(l.zn, o.f32x4_pmax(get(l.qq), o.v_and(o.i32x4_shr_s(get(l.zq), o.i32(31)), K(KC.F1)))),
    set(l.qq, o.f32x4_add(K(KC.F1), get(l.qq))),
    set(l.sg, o.f32x4_div(get(l.zn), get(l.qq))),
  ];
}

/**
 * settle(): the cycle engine's load (engine.ts settle) for the records at bCells (bCount of them),
 * their fields at bOut (fields()' output, NV i16x8 per record): in every lane whose bSettle mask is
 * set, node and target = the drive h = f(f(G) scale) (the lane's scale at bScale; G exact, so one
 * rounding as drive32) and the sigmoid cache = sigma~(h) (emitSigmaTilde, as a latch leaves it);
 * other lanes keep their state. Uses the latch's locals.
 */
function settleFunc(ctx: Ctx): FuncDef {
  const { get, set, K, l, g } = ctx;
  const ro = recOff(g);
  // the constants' copies this function's K() calls hand out start here (the latch makes its own)
  const firstDup = ctx.dups.length;
  const keep = (at: number, val: Code): Code => o.v_store(get(l.vp), o.v_bitselect(val, o.v_load(get(l.vp), at), get(l.e0)), at);
  const body: Code[] = [
    set(l.vp, o.i32_add(abiLoad.i32('bState'), o.i32_load(get(l.rec), ro.SLOT))),
    set(l.GIL, o.f32x4_mul(o.v_load32_splat(get(l.rec), ro.GAIN), K(KC.FNLOG2E))),
    set(l.OIL, o.f32x4_mul(o.v_load32_splat(get(l.rec), ro.OFF), K(KC.FNLOG2E))),
  ];
  // a loop over the record's vectors (as the cycle latch's), pointers advanced per vector
  const vec: Code[] = [set(l.G, o.v_load(get(l.sp), 0))];
  for (let q = 0; q < 2; q++) {
    const at = 16 * q;
    const Gq = q === 0 ? o.i32x4_extend_low_i16x8_s(get(l.G)) : o.i32x4_extend_high_i16x8_s(get(l.G));
    vec.push(
      set(l.hq, o.f32x4_mul(o.f32x4_convert_i32x4_s(Gq), o.v_load(get(l.phi), 16 * q))),
      ...emitSigmaTilde(ctx),
      set(l.e0, o.v_load(get(l.mask), 16 * q)),
      keep(at + STATE.off.V, get(l.hq)),
      keep(at + STATE.off.T, get(l.hq)),
      keep(at + STATE.off.SG, get(l.sg)),
    );
  }
  body.push(
    set(l.kv, o.i32(g.NV)),
    o.loop([
      ...vec,
      set(l.sp, o.i32_add(get(l.sp), o.i32(16))),
      set(l.phi, o.i32_add(get(l.phi), o.i32(32))),
      set(l.mask, o.i32_add(get(l.mask), o.i32(32))),
      set(l.vp, o.i32_add(get(l.vp), o.i32(STATE.stride))),
      o.br_if(0, o.i32_gt_s(o.tee(l.kv, o.i32_sub(get(l.kv), o.i32(1))), o.i32(0))),
    ]),
    // the lanes' scales and masks back to the block's first vector for the next record
    set(l.phi, o.i32_sub(get(l.phi), o.i32(32 * g.NV))),
    set(l.mask, o.i32_sub(get(l.mask), o.i32(32 * g.NV))),
  );
  // the copies of the constants its K() calls hand out (newCtx), made here as the latch makes its own: settle() may run first
  const copies = ctx.dups.slice(firstDup).map(([copy, slot]) => o.v_store(o.i32(0), o.v_load(o.i32(0), constAddr(slot)), constAddr(copy)));
  return {
    name: 'settle',
    params: [],
    results: [],
    locals: ctx.lc.types,
    body: [
      ...copies,
      set(l.rec, abiLoad.i32('bCells')),
      set(l.n, abiLoad.i32('bCount')),
      set(l.sp, abiLoad.i32('bOut')),
      set(l.phi, abiLoad.i32('bScale')),
      set(l.mask, abiLoad.i32('bSettle')),
      countDown(l.n, [...body, set(l.rec, o.i32_add(get(l.rec), o.i32(batchRec(g.D).stride)))]),
    ],
  };
}

/**
 * The divider terms of half q's f32 nodes (in Vf), cells/physics.ts dividerQ32, added to dacc (i32
 * lanes): x = f(V f(256 vsv)) clamped to [-128, 128], q = f(x x), and 16384 - rne(q) as
 * DQK - bits(f(q + 2^23)) (the bits of 2^23 + n are those of 2^23 plus n). With per-chain tallies
 * (traces) each lane's -bits go to its chain's i32 instead, and the engine adds DQK per term.
 */
function dividerTerms(ctx: Ctx, k: number, q: number, Vf: number): Code[] {
  const { get, set, K, l, v, g } = ctx;
  const out: Code[] = [];
  if (v.noDivider && !v.perChain) return out;
  // clamping x^2 to 16384 after the square is clamping x to [-128, 128] before it (f(x x) >= 16384 iff |x| >= 128)
  out.push(set(l.dvx, o.f32x4_mul(get(Vf), K(KC.DV))));
  const m = o.f32x4_add(o.f32x4_pmin(o.f32x4_mul(get(l.dvx), get(l.dvx)), K(KC.F16384)), K(KC.F2P23));
  if (v.perChain) {
    // per lane in i32: the lane's sum of -bits(m); the engine adds DQK per term and sums the lanes (readPerChain)
    const at = accOff(g).DIV + ACC_VEC * k + 16 * q;
    out.push(o.v_store(get(l.acc), o.i32x4_sub(o.v_load(get(l.acc), at), m), at));
    return out;
  }
  if (!v.masked) {
    // every lane counts: dacc - bits(m) here, DQK per term added once at the end of the call (generateBatch)
    out.push(set(l.dacc, o.i32x4_sub(get(l.dacc), m)));
    return out;
  }
  out.push(set(l.dvm, o.i32x4_sub(K(KC.DQK), m)));
  out.push(set(l.dvm, o.v_and(get(l.dvm), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M32 + 16 * q))));
  out.push(set(l.dacc, o.i32x4_add(get(l.dacc), get(l.dvm))));
  return out;
}

/**
 * fix(rec, n) -> the change in the cell's toggle count: the n halves recorded at bFix (FIX) for the
 * cell of record rec, decided by the second-order estimate (emitCycle's) and, for the lanes it
 * cannot decide either, the exact decision; lanes found up are set in the spin plane and their
 * toggle counts (per chain too, in the cell's tally class) corrected (a provisional down was counted).
 */
function fixFunc(g: BatchGeom, v: BatchVariant): FuncDef {
  const lc = new Locals(2);
  const i32 = () => lc.add(T.i32);
  const vec = () => lc.add(T.v128);
  const [pRec, pN] = [0, 1];
  const f = { p: i32(), delta: i32(), nfb: i32(), w: i32() };
  const r = { V0: vec(), T1: vec(), h: vec(), x: vec(), amb: vec(), old: vec(), up: vec(), fl: vec(), dv: vec(), t: vec() };
  const fr = {
    yq: vec(),
    zq: vec(),
    kq: vec(),
    ax: vec(),
    qq: vec(),
    sg: vec(),
    mag: vec(),
    GI: vec(),
    OI: vec(),
    tmp: vec(),
    sp: vec(),
    x2q: vec(),
    xq: vec(),
    Pq: vec(),
    Mq: vec(),
    SL: vec(),
  };
  const gi64 = lc.add(T.f64);
  const oi64 = lc.add(T.f64);
  const get = o.get;
  const set = o.set;
  const K = (slot: number): Code => o.v_load(o.i32(0), constAddr(slot));
  const ZERO = o.v_const_bytes(ZERO16);
  const f32: F32Ctx = { get, set, K, ZERO, l: fr };
  const P = (off: number) => o.v_load(get(f.p), off);
  const flush = (x: Code) => o.v_andnot(x, o.f32x4_lt(o.f32x4_abs(x), K(KC.FTINY)));
  const d1 = vec();
  const d2 = vec();
  const body: Code[] = [
    set(r.V0, P(FIX.off.V0)),
    set(r.T1, P(FIX.off.T1)),
    set(r.h, P(FIX.off.H)),
    set(r.x, P(FIX.off.R)),
    set(r.amb, P(FIX.off.AMB)),
    set(r.old, P(FIX.off.OLD)),
    // the node's segments again (the reference's operations), distances flushed as emitCycle's
    set(d1, o.f32x4_sub(get(r.V0), get(r.T1))),
    set(r.t, v.cycle!.n1 > 0 ? o.f32x4_add(get(r.T1), o.f32x4_mul(get(d1), K(KC.FPW1))) : get(r.V0)),
    set(d1, flush(get(d1))),
    set(d2, flush(o.f32x4_sub(get(r.t), get(r.h)))),
    // the second-order estimate (emit/estimate.ts) and its decision
    set(fr.Pq, o.v_and(get(r.old), K(KC.BPOW))),
    set(fr.Mq, ZERO),
    set(fr.SL, o.f32x4_abs(get(fr.OI))),
    set(fr.xq, o.f32x4_mul(get(fr.GI), get(d1))),
    ...emitTaylorTerm(f32, 0, [set(fr.sg, P(FIX.off.SG1)), set(fr.mag, o.f32x4_abs(o.f32x4_mul(get(fr.GI), get(r.T1))))]),
    set(fr.xq, o.f32x4_mul(get(fr.GI), get(d2))),
    ...emitTaylorTerm(f32, 2, [set(fr.sg, P(FIX.off.SG2)), set(fr.mag, o.f32x4_abs(o.f32x4_mul(get(fr.GI), get(r.h))))]),
    set(fr.Mq, o.f32x4_add(get(fr.Mq), o.f32x4_add(K(KC.K0), o.f32x4_mul(K(KC.SK), get(fr.SL))))),
    set(fr.tmp, o.f32x4_mul(o.f32x4_convert_i32x4_u(get(r.x)), K(KC.FTWO32))),
    set(r.up, o.v_and(get(r.amb), o.f32x4_lt(get(fr.tmp), o.f32x4_sub(get(fr.Pq), get(fr.Mq))))),
    set(r.amb, o.v_andnot(get(r.amb), o.v_or(get(r.up), o.f32x4_ge(get(fr.tmp), o.f32x4_add(get(fr.Pq), get(fr.Mq)))))),
  ];
  // the exact decision of the lanes still undecided
  for (let fl = 0; fl < 4; fl++) {
    const lane = (x: number) => o.f64_promote(o.f32x4_extract(get(x), fl));
    const call = o.call(F_EXACT, [
      lane(r.V0),
      lane(r.T1),
      lane(r.h),
      lane(r.h),
      get(gi64),
      get(oi64),
      o.select(o.f64(1), o.f64(-1), o.i32x4_extract(get(r.old), fl)),
      o.i32x4_extract(get(r.x), fl),
    ]);
    body.push(
      o.if_(o.i32x4_extract(get(r.amb), fl), [set(r.up, o.i32x4_replace(get(r.up), o.i32_wrap_i64(call), fl)), set(f.nfb, o.i32_add(get(f.nfb), o.i32(1)))]),
    );
  }
  // lanes now up: set in the plane; toggles change by +1 (old down) or -1 (old up)
  const lanes16 = (x: Code, half: number) => (half === 0 ? o.i16x8_narrow_i32x4_s(x, ZERO) : o.i16x8_narrow_i32x4_s(ZERO, x));
  body.push(
    o.if_(
      o.i32_load(get(f.p), FIX.off.HALF),
      [o.v_store(o.i32_load(get(f.p), FIX.off.PLANE), o.v_or(o.v_load(o.i32_load(get(f.p), FIX.off.PLANE)), lanes16(get(r.up), 1)))],
      [o.v_store(o.i32_load(get(f.p), FIX.off.PLANE), o.v_or(o.v_load(o.i32_load(get(f.p), FIX.off.PLANE)), lanes16(get(r.up), 0)))],
    ),
    // per lane: (up AND old) - (up AND NOT old) as 0/-1 masks = -1 where a counted toggle is undone, +1 where one is added
    set(r.dv, o.i32x4_sub(o.v_and(get(r.up), get(r.old)), o.v_andnot(get(r.up), get(r.old)))),
    set(r.t, o.i32x4_add(get(r.dv), o.shuffle(get(r.dv), get(r.dv), SWAP64))),
    set(r.t, o.i32x4_add(get(r.t), o.shuffle(get(r.t), get(r.t), SWAP32))),
    set(f.delta, o.i32_add(get(f.delta), o.i32x4_extract(get(r.t), 0))),
  );
  if (v.perChain) {
    // the vector's toggle counts in the cell's tally class: lanes 4 half .. 4 half + 3 change by dv
    const cls = (): Code => o.i32_add(o.i32_load(get(f.p), FIX.off.ACC), o.i32_load(get(pRec), recOff(g).CLS));
    const add = (half: number): Code => o.v_store(cls(), o.i16x8_add(o.v_load(cls(), accOff(g).TOG), lanes16(get(r.dv), half)), accOff(g).TOG);
    body.push(o.if_(o.i32_load(get(f.p), FIX.off.HALF), [add(1)], [add(0)]));
  }
  body.push(set(f.p, o.i32_add(get(f.p), o.i32(FIX.stride))));
  return {
    name: 'fix',
    params: [T.i32, T.i32],
    results: [T.i32],
    locals: lc.types,
    body: [
      set(f.p, abiLoad.i32('bFix')),
      set(fr.GI, o.v_load32_splat(get(pRec), recOff(g).GAIN)),
      set(fr.OI, o.v_load32_splat(get(pRec), recOff(g).OFF)),
      set(gi64, o.f64_load(get(pRec), recOff(g).GAIN64)),
      set(oi64, o.f64_load(get(pRec), recOff(g).OFF64)),
      countDown(pN, body),
      o.i32_store(o.i32(0), o.i32_add(abiLoad.i32('bFixN'), get(f.nfb)), i32Addr('bFixN')),
      get(f.delta),
    ],
  };
}

/** new masks stored, toggles (and, ideal physics, divider terms) counted (masked to the valid lanes of a partial block) */
export function emitCommit(ctx: Ctx, k: number): Code[] {
  const { get, set, l, g, v } = ctx;
  const own = -g.minOd + 16 * k;
  const out: Code[] = [];
  if (!v.cycle) out.push(set(l.old, o.v_load(get(l.sp), own)));
  out.push(o.v_store(get(l.sp), get(l.up), own), set(l.tog, o.v_xor(get(l.up), get(l.old))));
  if (v.masked) out.push(set(l.tog, o.v_and(get(l.tog), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M16))));
  out.push(set(l.tacc, o.i16x8_sub(get(l.tacc), get(l.tog))));
  // (with per-chain tallies the engine sums the call's divider terms from the lanes)
  if (!v.cycle && !v.perChain && !v.noDivider) {
    if (v.masked)
      out.push(
        set(l.dA, o.v_and(get(l.dA), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M32))),
        set(l.dB, o.v_and(get(l.dB), o.v_load(get(l.mask), MASK.stride * k + MASK.off.M32 + 16))),
      );
    out.push(set(l.dacc, o.i32x4_add(get(l.dacc), o.i32x4_add(get(l.dA), get(l.dB)))));
  }
  if (v.perChain) {
    // per lane: a toggle adds one to its cell's tally class (i16 lanes, layout.ts batchAcc TOG; wire and link
    // tallies follow from the class counts), the divider term (ideal physics) to the lane's i32
    const at = accOff(g).TOG + ACC_VEC * k;
    out.push(o.v_store(get(l.cls), o.i16x8_sub(o.v_load(get(l.cls), at), get(l.tog)), at));
    if (!v.cycle) {
      const div = (half: number) => accOff(g).DIV + ACC_VEC * k + 16 * half;
      const add = (half: number, val: Code) => o.v_store(get(l.acc), o.i32x4_add(o.v_load(get(l.acc), div(half)), val), div(half));
      out.push(add(0, get(l.dA)), add(1, get(l.dB)));
    }
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
        for (let l = 0; l < 8; l++)
          group.push(o.set(x[l], kind === 'in8' ? o.i16x8_extend_low_i8x16_s(o.v_load64_zero(rowAt(8 * v + l))) : o.v_load(rowAt(8 * v + l))));
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
 * fields(): the integer field G = b + sum_d w_d s_d of every cell and lane of a block, as the
 * latch computes it (emitField's G', minus gOff), for the cycle engine's load() to settle the
 * nodes from: the records at bCells (bCount of them, record order), the planes at bPlane and
 * bBias, out at bOut: NV i16x8 vectors per record (chains 8k .. 8k + 7 in vector k).
 */
function fieldsFunc(g: BatchGeom): FuncDef {
  const lm = new Locals(0);
  const m = { rec: lm.add(T.i32), n: lm.add(T.i32), sp: lm.add(T.i32), bp: lm.add(T.i32), outp: lm.add(T.i32), G: lm.add(T.v128) };
  const get = o.get;
  const set = o.set;
  const ro = recOff(g);
  const body: Code[] = [];
  for (let k = 0; k < g.NV; k++) {
    body.push(...fieldSum(g, m.G, m.bp, m.sp, k, (d) => o.v_load16_splat(get(m.rec), ro.W + 2 * d), false));
    body.push(o.v_store(get(m.outp), o.i16x8_sub(get(m.G), o.v_load(o.i32(0), constAddr(KC.GOFF))), 16 * k));
  }
  return {
    name: 'fields',
    params: [],
    results: [],
    locals: lm.types,
    body: [
      set(m.rec, abiLoad.i32('bCells')),
      set(m.n, abiLoad.i32('bCount')),
      set(m.outp, abiLoad.i32('bOut')),
      countDown(m.n, [
        set(m.sp, o.i32_add(abiLoad.i32('bPlane'), o.i32_add(o.i32_load(get(m.rec), ro.POS), o.i32(g.minOd)))),
        set(m.bp, o.i32_add(abiLoad.i32('bBias'), o.i32_add(o.i32_load(get(m.rec), ro.POS), o.i32(g.minOd)))),
        ...body,
        set(m.rec, o.i32_add(get(m.rec), o.i32(batchRec(g.D).stride))),
        set(m.outp, o.i32_add(get(m.outp), o.i32(16 * g.NV))),
      ]),
    ],
  };
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
  const m = {
    list: lm.add(T.i32),
    n: lm.add(T.i32),
    sp: lm.add(T.i32),
    p: lm.add(T.i32),
    accp: lm.add(T.i32),
    pos: lm.add(T.i32),
    bits: lm.add(T.i64),
    x: lm.add(T.i64),
    valid: lm.add(T.i64),
    cnt: lm.add(T.i32),
  };
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

/** the module: latch(), moments(), pads(), pack(), rowsIn8(), rowsIn16(), rowsOut8(), momentsAcc(), fix() (cycle), fields(), settle() */
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
      [l.phi, PHI.stride],
      [l.mask, MASK.stride],
      [l.vp, STATE.stride],
      [l.acc, ACC_VEC],
    ];
    if (variant.perChain) steps.push([l.cls, ACC_VEC]);
    if (variant.cycle.lat) steps.push([l.pp, 16]);
    cellBody.push(
      set(l.kv, o.i32(g.NV)),
      o.loop([
        ...emitField(ctx, 0),
        ...emitDraws(ctx, 0),
        ...(variant.cycle.lat ? emitCycle(ctx, 0) : emitCycleFast(ctx, 0)),
        ...emitCommit(ctx, 0),
        ...steps.map(([p, d]) => set(p, o.i32_add(get(p), o.i32(d)))),
        o.br_if(0, o.i32_gt_s(o.tee(l.kv, o.i32_sub(get(l.kv), o.i32(1))), o.i32(0))),
      ]),
      // the per-block pointers back to the first vector for the next cell (the per-cell ones are set from its record)
      ...[l.phi, l.mask, l.acc].map((p) => set(p, o.i32_sub(get(p), o.i32(steps.find(([q]) => q === p)![1] * g.NV)))),
    );
  }
  cellBody.push(...hsum16(get, set, l.t32, l.tacc, l.cnt));
  if (variant.cycle && !variant.cycle.lat) {
    // the halves the fast path could not decide (emitCycleFast), and the toggles their lanes change
    const nFix = o.i32_div_u(o.i32_sub(get(l.fxp), abiLoad.i32('bFix')), o.i32(FIX.stride));
    cellBody.push(o.if_(o.i32_ne(get(l.fxp), abiLoad.i32('bFix')), [set(l.cnt, o.i32_add(get(l.cnt), o.call(F_FIX, [get(l.rec), nFix])))]));
  }
  cellBody.push(
    set(l.tog64, o.i64_add(get(l.tog64), o.i64_extend_i32_s(get(l.cnt)))),
    set(l.wire64, o.i64_add(get(l.wire64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), recOff(g).WIREQ))))),
    set(l.link64, o.i64_add(get(l.link64), o.i64_mul(o.i64_extend_i32_s(get(l.cnt)), o.i64_extend_i32_s(o.i32_load(get(l.rec), recOff(g).CC))))),
    set(l.rec, o.i32_add(get(l.rec), o.i32(batchRec(g.D).stride))),
  );
  const lane64 = (x: Code, lane: number) => o.i64_extend_i32_s(o.i32x4_extract(x, lane));
  // cycle, every lane valid, no per-chain tallies: dividerTerms left DQK out of each of the call's
  // 2 NV terms per cell and lane (each lane's sum wraps, its true value is below 2^31)
  const dqTail: Code[] =
    variant.cycle && !variant.masked && !variant.perChain && !variant.noDivider
      ? [set(l.dacc, o.i32x4_add(get(l.dacc), o.i32x4_splat(o.i32_mul(abiLoad.i32('bCount'), o.i32(Math.imul(2 * g.NV, DQK))))))]
      : [];
  const divider = o.f64_convert_i64_s(
    o.i64_add(o.i64_add(lane64(get(l.dacc), 0), lane64(get(l.dacc), 1)), o.i64_add(lane64(get(l.dacc), 2), lane64(get(l.dacc), 3))),
  );
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
    ...dqTail,
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.tog64)), outAddr('toggles')),
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.wire64)), outAddr('wire')),
    o.f64_store(o.i32(0), o.f64_convert_i64_s(get(l.link64)), outAddr('link')),
    o.f64_store(o.i32(0), divider, outAddr('divider')),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(variant.cycle && !variant.cycle.lat ? abiLoad.i32('bFixN') : get(l.nfb)), outAddr('fallbacks')),
  ];
  if (variant.cycle && !variant.cycle.lat) body.unshift(o.i32_store(o.i32(0), o.i32(0), i32Addr('bFixN')));
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
  // list at bCells: the plane position of cell i for i < ceil(N / 64) * 64 (padding cells beyond N);
  // bCount groups of 64 cells; chain lane l's 8 bytes of group q at bOut + l * bStride + 8 q (bStride
  // may be less than 8 bCount: the groups are stored last first, and 8 bytes past the last row are written). Per vector of eight lanes and byte g of the group: the eight cells' masks (-1 / 0
  // per lane) folded into one i16 per lane, acc = 2 acc - mask from the byte's last cell down (bit c
  // = cell 8 g + c); the eight bytes' vectors transposed (transpose8: lane l's bytes in one vector),
  // narrowed to bytes two lanes at a time and stored eight bytes per lane.
  const lk = new Locals(0);
  const k = {
    list: lk.add(T.i32),
    n: lk.add(T.i32),
    out: lk.add(T.i32),
    stride: lk.add(T.i32),
    plane: lk.add(T.i32),
    zero: lk.add(T.v128),
    x: Array.from({ length: 8 }, () => lk.add(T.v128)),
    t: Array.from({ length: 8 }, () => lk.add(T.v128)),
    y: Array.from({ length: 8 }, () => lk.add(T.v128)),
  };
  const group: Code[] = [];
  for (let v = 0; v < g.NV; v++) {
    for (let b = 0; b < 8; b++) {
      const mask = (c: number) => o.v_load(o.i32_add(get(k.plane), o.i32_load(get(k.list), 4 * (8 * b + c))), 16 * v);
      group.push(set(k.x[b], o.i16x8_sub(get(k.zero), mask(7))));
      for (let c = 6; c >= 0; c--) group.push(set(k.x[b], o.i16x8_sub(o.i16x8_add(get(k.x[b]), get(k.x[b])), mask(c))));
    }
    group.push(...transpose8(k.x, k.t, k.y));
    for (let p = 0; p < 4; p++) {
      const z = o.i8x16_narrow_i16x8_u(get(k.y[2 * p]), get(k.y[2 * p + 1]));
      group.push(set(k.t[p], z));
      for (const h of [0, 1]) group.push(o.v_store64_lane(o.i32_add(get(k.out), o.i32_mul(get(k.stride), o.i32(8 * v + 2 * p + h))), get(k.t[p]), h));
    }
  }
  const packFn: FuncDef = {
    name: 'pack',
    params: [],
    results: [],
    locals: lk.types,
    body: [
      // the last group first: its 8-byte stores may run past a row of bStride bytes into the next
      // lane's first bytes, which the first group, stored last, then writes
      set(k.n, abiLoad.i32('bCount')),
      set(k.list, o.i32_add(abiLoad.i32('bCells'), o.i32_mul(o.i32_sub(get(k.n), o.i32(1)), o.i32(256)))),
      set(k.out, o.i32_add(abiLoad.i32('bOut'), o.i32_mul(o.i32_sub(get(k.n), o.i32(1)), o.i32(8)))),
      set(k.stride, abiLoad.i32('bStride')),
      set(k.plane, abiLoad.i32('bPlane')),
      set(k.zero, o.i16x8_splat(o.i32(0))),
      countDown(k.n, [...group, set(k.list, o.i32_sub(get(k.list), o.i32(256))), set(k.out, o.i32_sub(get(k.out), o.i32(8)))]),
    ],
  };
  const funcs: FuncDef[] = [];
  const rows = rowFuncs(g);
  if (variant.cycle) funcs.push(exactFunc({ cycle: true, n1: variant.cycle.n1, nMid: variant.cycle.nMid, n2: variant.cycle.n2 }, EXP));
  else funcs.push(exactFunc({ cycle: false }, EXP)); // unused by the ideal kernel; keeps function indices fixed
  funcs.push(latch, momentsFn, padsFn, packFn, ...rows, momentsAccFn);
  if (variant.cycle && !variant.cycle.lat) {
    // one import (exp) comes first in the function index space
    if (1 + funcs.length !== F_FIX) throw new Error(`batch emit: fix() would be function ${1 + funcs.length}, but latch() calls ${F_FIX}`);
    funcs.push(fixFunc(g, variant));
  }
  // last, so that it moves no other function's index
  funcs.push(fieldsFunc(g), settleFunc(ctx));
  return assemble({
    memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true },
    imports: [{ module: 'e', name: 'exp', params: [T.f64], results: [T.f64] }],
    funcs,
  });
}
