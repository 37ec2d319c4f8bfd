/**
 * Code generation for the fast latch kernels: WebAssembly modules per fabric geometry, with the
 * neighbour offsets of every direction baked in as load immediates.
 *
 * What the generated code computes is, cell for cell, what the reference kernel in
 * cells/kernel.ts computes; only the order of *independent* work changes (four cells of a colour
 * at a time in 128-bit lanes). Everything that must be bit-exact is computed with the same
 * operations in the same order:
 *   - the field g = b_i + sum_d w[i,d] * s[nbr(i,d)] in double precision, d = 0..D-1 in order;
 *     h = 2 beta g; the stale-field correction of delayed links likewise; the bias-node
 *     recursion V <- T + (V - T) a_bias substep by substep (cycle engine);
 *   - the draw draw32(key, i) (the same integer hash, in i32x4 lanes);
 *   - the tallies: integer counts (order-free), and the two floating-point sums (wire pitches of
 *     toggling cells, divider gamma(1-gamma)) accumulated lane by lane in cell order.
 * What is not computed for most cells is the probability P itself (its exponentials):
 *   - ideal engine: u = r 2^-32 lies in bin b = r >> (32-B) of width 2^-B. A table holds, per
 *     bin, logit(b 2^-B) - m and logit((b+1) 2^-B) + m (m = 1e-6). If h is above the upper bound,
 *     P = sigma(h) (as computed in double) is certainly >= (b+1) 2^-B > u: the spin is +1. Below
 *     the lower bound it is certainly -1. Otherwise (about 1 cell in 2^B) P is computed exactly as
 *     the reference does, 1 / (1 + Math.exp(-h)), and compared.
 *   - cycle engine: P = A + a_rng^n [s = +1] with A = sum_n c_n sigma(u_n), a weighted sum of
 *     sigmoids along the node's relaxation in each segment (V_n - T = (V_start - T) a_bias^(n+1)).
 *     A second-order Taylor expansion of sigma about each segment's target T, with a rigorous
 *     bound on the remainder (|sigma'''| <= 1/8), on the error of the approximate sigmoid used for
 *     sigma(T), and on every rounding of this single-precision estimate, gives P~ and M with
 *     |P - P~| <= M. The spin is decided when u < P~ - M (+1) or u >= P~ + M (-1); otherwise
 *     (rarely) P is computed exactly as the reference does (every substep, Math.exp).
 * Math.exp is imported from JavaScript, so the exact path is the reference expression itself.
 *
 * Structure of a latch kernel: for each row of the latching colour, a few short loops over the
 * row's groups of four cells, passing values through a small per-row buffer (short loops keep
 * V8's register allocator from spilling, and let the long dependency chains of several groups
 * overlap): A field and drive; the draws; R the node's relaxation (cycle); E0 the estimate's
 * terms that do not involve the new drive (cycle); A2 the decision; B the exact decision of the
 * undecided lanes (only when there are any); C new spins, tallies in cell order, stores.
 * Measured on one core (70 x 70 G12, ns per cell update, ideal / cycle): field 2.5 / 2.5, draws
 * 0.2 / 0.5, relaxation - / 2.1, estimate and decision 0.3 / 6, commit 1.4 / 1.5, per-call
 * overhead 0.7 / 0.6 (sim/cmd-bench.ts measures the whole).
 */
import { op as o, T, Locals, assemble, type Code, type FuncDef } from './asm.js';

/** Fixed addresses in the arena's reserved low region. */
export const MEM = {
  PI: 1024, // i32 parameters
  PF: 2048, // f64 parameters
  OUT: 4096, // f64 outputs
  TAILMASK: 8192, // invalid-lane masks for a row's last group: rem (1..3) * 32 + 0 (A) / 16 (B)
  SCRATCH: 12288, // stores that only order the generated code (see barrier())
  TAB: 16384, // ideal decision table: 2^TAB_BITS entries of (lo, hi) f64
  TAB_BITS: 10,
  CONST: 32768, // 16-byte constants read by the kernels (KC): 32768..49152
  RESERVED: 65536,
};

/**
 * Slots of 16-byte constants in MEM.CONST. V8 builds an arbitrary v128.const with several
 * instructions and then keeps it in a register for the whole loop; a constant loaded from memory
 * costs one load where it is used (often folded into the arithmetic) and no register.
 * Slots below PER_CALL are written once (writeStaticConstants), the others before every call.
 */
export const KC = {
  ONE: 0,
  MONE: 1,
  HALF: 2,
  SIGN: 3,
  GOLD: 4,
  M1: 5,
  M2: 6,
  IDX0: 7,
  F40: 8,
  FNLOG2E: 9,
  FMAGIC: 10,
  FLN2: 11,
  F1: 12,
  F1_2: 13,
  F1_6: 14,
  F1_24: 15,
  F1_120: 16,
  FTWO32: 17,
  PER_CALL: 32,
  TB: 32, // f64x2 2 beta
  VSV: 33, // f64x2 vsv
  KEY: 34, // i32x4 key
  AB: 35, // f64x2 a_bias
  BPOW: 36, // f32x4 a_rng^n
  EE: 37, // f32x4 E
  K0: 38, // f32x4 constant slop
  SK: 39, // f32x4 slop per magnitude
  C: 40, // f32x4 C[seg*4 + m], 12 slots
  DUPS: 64, // per-use-site copies (see K() in kernel())
  DUPS_END: 1024,
} as const;

/** Fill the static constant slots. */
export function writeStaticConstants(buf: ArrayBuffer): void {
  const f64 = new Float64Array(buf, MEM.CONST, 64);
  const f32 = new Float32Array(buf, MEM.CONST, 128);
  const i32 = new Int32Array(buf, MEM.CONST, 128);
  const d2 = (slot: number, x: number) => f64.fill(x, 2 * slot, 2 * slot + 2);
  const f4 = (slot: number, x: number) => f32.fill(x, 4 * slot, 4 * slot + 4);
  const i4 = (slot: number, x: number) => i32.fill(x, 4 * slot, 4 * slot + 4);
  d2(KC.ONE, 1);
  d2(KC.MONE, -1);
  d2(KC.HALF, 0.5);
  i32.set([0, -0x80000000, 0, -0x80000000], 4 * KC.SIGN);
  i4(KC.GOLD, 0x9e3779b9 | 0);
  i4(KC.M1, 0x7feb352d);
  i4(KC.M2, 0x846ca68b | 0);
  i32.set([0, 2, 4, 6], 4 * KC.IDX0);
  f4(KC.F40, 40);
  f4(KC.FNLOG2E, -Math.LOG2E);
  f4(KC.FMAGIC, MAGIC32);
  f4(KC.FLN2, Math.LN2);
  f4(KC.F1, 1);
  f4(KC.F1_2, 1 / 2);
  f4(KC.F1_6, 1 / 6);
  f4(KC.F1_24, 1 / 24);
  f4(KC.F1_120, 1 / 120);
  f4(KC.FTWO32, TWO_POW_M32);
}

/** directions between scheduling barriers (see barrier() in kernel()) */
export const tuning = { barrierEvery: 3 };

/** i32 parameter slots */
export const PI = {
  own: 0, // spin plane (padded, colour-split) of the latching colour; its prev-spin twin at +PREV
  other: 1, // spin plane of the other colour (the neighbours)
  groups: 2, // node values of the latching colour by group; targets at +TGOFF
  rec: 3, // compiled group records of the latching colour
  rowTab: 4,
  nRows: 5,
  key: 7,
  buf: 18, // per-row scratch (groups of the longest row x 176 bytes)
  // xfer(): natural <-> split copies
  xdir: 8, // 0: natural -> split, 1: split -> natural
  xkind: 9, // 0: spin-plane layout, 1: group layout
  stage: 10, // natural-order array
  split0: 11, // split array of colour 0
  split1: 12, // split array of colour 1
  rowTab0: 13,
  rowTab1: 14,
  // pads(): torus wrap copies within one spin plane
  plane: 15,
  pads: 16,
  nPads: 17,
} as const;

/** f64 parameter slots */
export const PF = {
  twoBeta: 0,
  vsv: 1,
  aB: 2,
  aR: 3,
  bPow: 4,
  E: 5, // error bound of the approximate sigmoid
  K0: 6, // constant slop of the single-precision estimate
  SK: 7, // slop per unit magnitude
  C: 8, // C[seg*4 + m], seg = 0 (own previous target), 1 (delayed links), 2 (new target)
} as const;

/** bytes of the per-row scratch per group */
export const BUF_REC = 272;

export const OUT = { latches: 0, toggles: 1, link: 2, wire: 3, divider: 4, fallbacks: 5 } as const;

export interface GeomSpec {
  D: number;
  /** spin-plane offsets (cells) per row parity and direction, already shifted to be >= 0 */
  imm: [number[], number[]];
  /** minimum unshifted offset (cells), subtracted from a row's plane base */
  minOff: number;
  /** bytes between a spin plane and its prev-spin twin */
  PREV: number;
  /** bytes between node and target group arrays */
  TGOFF: number;
  /** bytes between node values and the cached sigmoid of the target (cycle engine) */
  SGOFF: number;
  /** delayed tile links: generate the stale-field path */
  lat: boolean;
}

/** The engine a kernel is generated for; the cycle engine's substep counts are baked in. */
export type Variant = { cycle: false } | { cycle: true; n1: number; nMid: number; n2: number };

/** Byte layout of one group record (4 cells of a colour). */
export function recLayout(D: number, lat: boolean) {
  const BIAS = 0;
  const CLAMP = 32; // f64 lane masks
  const FLAGS = 64; // i32: any cell of the group clamped (or invalid)
  const W = 80;
  const CWL = W + D * 32;
  const CC = CWL + 32;
  const GAIN = CC + 32; // f32 x4 (the estimate)
  const OFF = GAIN + 16; // f32 x4
  const GAIN64 = OFF + 16; // f64 x4 (the exact path)
  const OFF64 = GAIN64 + 32;
  const CROSS = OFF64 + 32;
  const REC = CROSS + (lat ? D * 32 : 0);
  return { BIAS, CLAMP, FLAGS, W, CWL, CC, GAIN, OFF, GAIN64, OFF64, CROSS, REC };
}

const SHUF_LO = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** dwords 0 and 2 of each operand (f64 lane masks -> f32 lane masks) */
const SHUF_EVEN32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const SHUF_HI = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
const TWO_POW_M32 = 2.3283064365386963e-10;
const MAGIC32 = 12582912; // 1.5 * 2^23: adding it rounds an f32 to an integer

const pi = (slot: number) => o.i32_load(o.i32(0), MEM.PI + 4 * slot);
const pf = (slot: number) => o.f64_load(o.i32(0), MEM.PF + 8 * slot);

/**
 * Helpers per geometry: xfer() copies between a natural-order array and its colour-split form
 * (spin planes: row base from the row table; groups: 4 slots per group), pads() refreshes the
 * torus wrap copies in a spin plane's padding.
 */
export function generateAux(g: GeomSpec): Uint8Array {
  const lc = new Locals(0);
  const c = lc.add(T.i32);
  const row = lc.add(T.i32);
  const rt = lc.add(T.i32);
  const nat = lc.add(T.i32);
  const spl = lc.add(T.i32);
  const n = lc.add(T.i32);
  const tab = lc.add(T.i32);
  const base = lc.add(T.i32);
  const dir = lc.add(T.i32);
  const get = o.get;
  const set = o.set;
  // one row: natural stride 2 <-> split stride 1
  const copyRow = (gather: boolean): Code[] => [
    o.block([
      o.br_if(0, o.i32_lt_s(get(n), o.i32(2))),
      o.loop(
        gather
          ? [
              o.v_store(get(spl), o.shuffle(o.v_load(get(nat), 0), o.v_load(get(nat), 16), SHUF_LO)),
              set(nat, o.i32_add(get(nat), o.i32(32))),
              set(spl, o.i32_add(get(spl), o.i32(16))),
              o.br_if(0, o.i32_ge_s(o.tee(n, o.i32_sub(get(n), o.i32(2))), o.i32(2))),
            ]
          : [
              o.f64_store(get(nat), o.f64_load(get(spl), 0), 0),
              o.f64_store(get(nat), o.f64_load(get(spl), 8), 16),
              set(nat, o.i32_add(get(nat), o.i32(32))),
              set(spl, o.i32_add(get(spl), o.i32(16))),
              o.br_if(0, o.i32_ge_s(o.tee(n, o.i32_sub(get(n), o.i32(2))), o.i32(2))),
            ],
      ),
    ]),
    o.if_(get(n), gather ? [o.f64_store(get(spl), o.f64_load(get(nat), 0))] : [o.f64_store(get(nat), o.f64_load(get(spl), 0))]),
  ];
  const xfer: FuncDef = {
    name: 'xfer',
    params: [],
    results: [],
    locals: lc.types,
    body: [
      set(dir, pi(PI.xdir)),
      set(c, o.i32(0)),
      o.loop([
        set(tab, o.select(pi(PI.rowTab1), pi(PI.rowTab0), get(c))),
        set(base, o.select(pi(PI.split1), pi(PI.split0), get(c))),
        set(row, o.i32(0)),
        o.loop([
          set(rt, o.i32_add(get(tab), o.i32_shl(get(row), o.i32(5)))),
          set(nat, o.i32_add(pi(PI.stage), o.i32_shl(o.i32_load(get(rt), 0), o.i32(3)))),
          set(
            spl,
            o.i32_add(
              get(base),
              o.i32_shl(o.select(o.i32_shl(o.i32_load(get(rt), 8), o.i32(2)), o.i32_sub(o.i32_load(get(rt), 12), o.i32(g.minOff)), pi(PI.xkind)), o.i32(3)),
            ),
          ),
          set(n, o.i32_load(get(rt), 4)),
          o.if_(get(dir), copyRow(false), copyRow(true)),
          o.br_if(0, o.i32_lt_s(o.tee(row, o.i32_add(get(row), o.i32(1))), pi(PI.nRows))),
        ]),
        o.br_if(0, o.i32_lt_s(o.tee(c, o.i32_add(get(c), o.i32(1))), o.i32(2))),
      ]),
    ],
  };
  const lp = new Locals(0);
  const k = lp.add(T.i32);
  const pads = lp.add(T.i32);
  const pl = lp.add(T.i32);
  const padFn: FuncDef = {
    name: 'pads',
    params: [],
    results: [],
    locals: lp.types,
    body: [
      set(k, o.i32(0)),
      set(pads, pi(PI.pads)),
      set(pl, pi(PI.plane)),
      o.block([
        o.br_if(0, o.i32_le_s(pi(PI.nPads), o.i32(0))),
        o.loop([
          o.f64_store(o.i32_add(get(pl), o.i32_shl(o.i32_load(get(pads), 0), o.i32(3))), o.f64_load(o.i32_add(get(pl), o.i32_shl(o.i32_load(get(pads), 4), o.i32(3))), 0)),
          set(pads, o.i32_add(get(pads), o.i32(8))),
          o.br_if(0, o.i32_lt_s(o.tee(k, o.i32_add(get(k), o.i32(1))), pi(PI.nPads))),
        ]),
      ]),
    ],
  };
  return assemble({ memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true }, imports: [], funcs: [xfer, padFn] });
}

/** The module with one engine's latch kernel (export 'latch'). */
export function generateKernel(g: GeomSpec, variant: Variant): Uint8Array {
  const L = recLayout(g.D, g.lat);
  const EXP = 0;
  const funcs: FuncDef[] = [];
  const F_EXACT = 1;
  if (!variant.cycle) {
    // exactIdeal(h, r) -> i64 mask: the reference expression
    funcs.push({
      params: [T.f64, T.i32],
      results: [T.i64],
      locals: [],
      body: [
        o.select(
          o.i64(-1),
          o.i64(0),
          o.f64_lt(
            o.f64_mul(o.f64_convert_i32_u(o.get(1)), o.f64(TWO_POW_M32)),
            o.f64_div(o.f64(1), o.f64_add(o.f64(1), o.call(EXP, [o.f64_neg(o.get(0))]))),
          ),
        ),
      ],
    });
  } else {
    // exactCycle(V0, T1, h, hMid, gi, oi, old, r) -> i64 mask: the reference loops
    const lc = new Locals(8);
    const V = lc.add(T.f64);
    const A = lc.add(T.f64);
    const Tt = lc.add(T.f64);
    const p = lc.add(T.f64);
    const n = lc.add(T.i32);
    const aB = lc.add(T.f64);
    const aR = lc.add(T.f64);
    const [pV0, pT1, ph, phm, pgi, poi, pold, pr] = [0, 1, 2, 3, 4, 5, 6, 7];
    const seg = (count: number): Code[] =>
      count <= 0
        ? []
        : [
            o.set(n, o.i32(count)),
            o.loop([
              o.set(V, o.f64_add(o.get(Tt), o.f64_mul(o.f64_sub(o.get(V), o.get(Tt)), o.get(aB)))),
              o.set(p, o.f64_div(o.f64(1), o.f64_add(o.f64(1), o.call(EXP, [o.f64_neg(o.f64_add(o.f64_mul(o.get(pgi), o.get(V)), o.get(poi)))])))),
              o.set(A, o.f64_add(o.get(p), o.f64_mul(o.f64_sub(o.get(A), o.get(p)), o.get(aR)))),
              o.br_if(0, o.i32_gt_s(o.tee(n, o.i32_sub(o.get(n), o.i32(1))), o.i32(0))),
            ]),
          ];
    funcs.push({
      params: [T.f64, T.f64, T.f64, T.f64, T.f64, T.f64, T.f64, T.i32],
      results: [T.i64],
      locals: lc.types,
      body: [
        o.set(aB, pf(PF.aB)),
        o.set(aR, pf(PF.aR)),
        o.set(V, o.get(pV0)),
        o.set(A, o.f64(0)),
        o.set(Tt, o.get(pT1)),
        ...seg(variant.n1),
        o.set(Tt, o.get(phm)),
        ...seg(variant.nMid),
        o.set(Tt, o.get(ph)),
        ...seg(variant.n2),
        o.select(
          o.i64(-1),
          o.i64(0),
          o.f64_lt(
            o.f64_mul(o.f64_convert_i32_u(o.get(pr)), o.f64(TWO_POW_M32)),
            o.f64_add(o.get(A), o.select(pf(PF.bPow), o.f64(0), o.f64_gt(o.get(pold), o.f64(0)))),
          ),
        ),
      ],
    });
  }
  funcs.push(...kernel(g, L, variant, F_EXACT));
  return assemble({
    memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true },
    imports: [{ module: 'e', name: 'exp', params: [T.f64], results: [T.f64] }],
    funcs,
  });
}

function kernel(g: GeomSpec, L: ReturnType<typeof recLayout>, variant: Variant, F_EXACT: number): FuncDef[] {
  const { D, PREV, TGOFF, SGOFF } = g;
  const cycle = variant.cycle;
  const lat = cycle && g.lat;
  const lc = new Locals(0);
  const i32 = () => lc.add(T.i32);
  const v = () => lc.add(T.v128);
  const f = () => lc.add(T.f64);
  // pointers and counters
  const iNat = i32();
  const row = i32(), rt = i32(), nRows = i32(), cnt = i32(), nG = i32(), nLatch = i32(), nfb = i32();
  const rP = i32(), mP = i32(), oP = i32(), gP = i32(), bufP = i32();
  const ownA = i32(), otherA = i32(), groupsA = i32(), recA = i32(), rowTab = i32(), bufA = i32();
  const anyAmb = v();
  // accumulators
  const wp = f(), dv = f();
  const cntL = v(), cntT = v(), lk = v();
  // constants
  // per group
  const gA = v(), gB = v(), hA = v(), hB = v(), r = v(), x = v();
  const upA = v(), upB = v(), dnA = v(), dnB = v(), ambA = v(), ambB = v();
  const oldA = v(), oldB = v(), clA = v(), clB = v(), nsA = v(), nsB = v(), togA = v(), togB = v();
  const t0 = v(), t1 = v(), t2 = v(), t3 = v(), tmp = v();
  const VA = v(), VB = v(), V0A = v(), V0B = v(), T1A = v(), T1B = v();
  const stA = v(), stB = v(), hmA = v(), hmB = v();
  const sArr = v(), spArr = v(), ndA = v(), ndB = v(), tgA = v(), tgB = v();
  // f32x4 estimate (lanes A0 A1 B0 B1)
  const GI = v(), OI = v(), Pq = v(), Mq = v(), SL = v(), sg = v(), sp = v(), xq = v(), x2q = v(), ax = v(), zq = v(), yq = v(), kq = v(), qq = v();
  const up32 = v(), dn32 = v(), mag = v(), aBv = v();
  const nSub = i32();

  const get = o.get;
  const set = o.set;
  /**
   * A constant, loaded where it is used. Every use site reads its own copy (made at entry): V8
   * merges loads of one address into one value that then lives, and spills, across the loop.
   */
  const dups: [number, number][] = [];
  const K = (slot: number): Code => {
    const copy = KC.DUPS + dups.length;
    if (copy >= KC.DUPS_END) throw new Error('gen: too many constant use sites');
    dups.push([copy, slot]);
    return o.v_load(o.i32(0), MEM.CONST + 16 * copy);
  };
  const ONE = K(KC.ONE);
  const MONE = K(KC.MONE);
  const ZERO = o.v_const_f64x2(0, 0);
  /** four f64 lanes (A, B) as one f32x4 */
  const pack = (a: Code, b: Code): Code => o.shuffle(o.f32x4_demote_f64x2_zero(a), o.f32x4_demote_f64x2_zero(b), SHUF_LO);

  /**
   * V8's optimising compiler keeps loads in program order but places arithmetic late, so without
   * help it issues all of a group's loads first and spills them. Storing the running sums to a
   * scratch slot every few directions pins the arithmetic between the loads.
   */
  const barrier = (vals: number[]): Code[] => vals.map((val, k) => o.v_store(o.i32(0), get(val), MEM.SCRATCH + 16 * k));

  const hash = (): Code[] => {
    const mix = (): Code[] => [
      set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
      set(x, o.i32x4_mul(get(x), K(KC.M1))),
      set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(15)))),
      set(x, o.i32x4_mul(get(x), K(KC.M2))),
      set(x, o.v_xor(get(x), o.i32x4_shr_u(get(x), o.i32(16)))),
    ];
    return [
      set(x, o.i32x4_add(K(KC.KEY), o.i32x4_mul(o.i32x4_add(o.i32x4_splat(get(iNat)), K(KC.IDX0)), K(KC.GOLD)))),
      ...mix(),
      set(x, o.v_xor(get(x), K(KC.KEY))),
      ...mix(),
      set(r, get(x)),
    ];
  };

  /** approximate sigmoid (f32x4) of zq into sg; |error| <= E (cells/fast.ts) */
  const sigmoid32 = (): Code[] => [
    // a = min(|z|, 40) (NaN stays NaN: the lane is then undecided); y = -a log2 e = k + f, k integer, |f| <= 1/2; e^-a = 2^k 2^f
    set(yq, o.f32x4_mul(o.f32x4_pmin(o.f32x4_abs(get(zq)), K(KC.F40)), K(KC.FNLOG2E))),
    set(kq, o.f32x4_add(get(yq), K(KC.FMAGIC))),
    set(ax, o.f32x4_mul(o.f32x4_sub(get(yq), o.f32x4_sub(get(kq), K(KC.FMAGIC))), K(KC.FLN2))),
    // 2^f = e^(f ln 2): degree-5 Taylor
    set(
      qq,
      o.f32x4_add(
        K(KC.F1),
        o.f32x4_mul(
          get(ax),
          o.f32x4_add(
            K(KC.F1),
            o.f32x4_mul(
              get(ax),
              o.f32x4_add(
                K(KC.F1_2),
                o.f32x4_mul(get(ax), o.f32x4_add(K(KC.F1_6), o.f32x4_mul(get(ax), o.f32x4_add(K(KC.F1_24), o.f32x4_mul(get(ax), K(KC.F1_120)))))),
              ),
            ),
          ),
        ),
      ),
    ),
    // t = q 2^k (k added to the exponent bits)
    set(qq, o.i32x4_add(get(qq), o.i32x4_shl(o.i32x4_sub(get(kq), K(KC.FMAGIC)), o.i32(23)))),
    // sigma = (z >= 0 ? 1 : t) / (1 + t)
    set(sg, o.f32x4_div(o.v_bitselect(K(KC.F1), get(qq), o.f32x4_ge(get(zq), ZERO)), o.f32x4_add(K(KC.F1), get(qq)))),
  ];

  /**
   * One segment's Taylor term into Pq and its error bound into Mq (x = gi * delta in xq). The
   * sigmoid of the segment's target: computed from zq (and |gi T| from tmp), or (cached) read
   * from the group's sigmoid cache, which holds sigma~(gi T + oi) and |gi T| of the current target.
   */
  const segment32 = (s: number, cached: boolean): Code[] => {
    const c = (m: number) => K(KC.C + s * 4 + m);
    return [
      ...(cached ? [set(sg, o.v_load(get(gP), SGOFF)), set(mag, o.v_load(get(gP), SGOFF + 16))] : [...sigmoid32(), set(mag, o.f32x4_abs(o.f32x4_mul(get(GI), get(tmp))))]),
      set(sp, o.f32x4_mul(get(sg), o.f32x4_sub(K(KC.F1), get(sg)))),
      set(x2q, o.f32x4_mul(get(xq), get(xq))),
      set(ax, o.f32x4_abs(get(xq))),
      set(
        Pq,
        o.f32x4_add(
          get(Pq),
          o.f32x4_add(
            o.f32x4_mul(get(sg), c(0)),
            o.f32x4_add(
              o.f32x4_mul(o.f32x4_mul(get(sp), get(xq)), c(1)),
              o.f32x4_mul(o.f32x4_mul(o.f32x4_mul(get(sp), o.f32x4_sub(K(KC.F1), o.f32x4_add(get(sg), get(sg)))), get(x2q)), c(2)),
            ),
          ),
        ),
      ),
      set(
        Mq,
        o.f32x4_add(
          get(Mq),
          o.f32x4_add(
            o.f32x4_mul(o.f32x4_mul(get(x2q), get(ax)), c(3)),
            o.f32x4_mul(K(KC.EE), o.f32x4_add(c(0), o.f32x4_add(o.f32x4_mul(get(ax), c(1)), o.f32x4_mul(get(x2q), c(2))))),
          ),
        ),
      ),
      set(SL, o.f32x4_add(get(SL), o.f32x4_add(get(ax), get(mag)))),
    ];
  };

  /** node recursion, unrolled, towards target (TA, TBv) for both vectors */
  const relax = (count: number, TA: Code, TBv: Code): Code[] => {
    const step: Code[] = [
      set(VA, o.f64x2_add(TA, o.f64x2_mul(o.f64x2_sub(get(VA), TA), get(aBv)))),
      set(VB, o.f64x2_add(TBv, o.f64x2_mul(o.f64x2_sub(get(VB), TBv), get(aBv)))),
    ];
    if (count <= 0) return [];
    const out: Code[] = [set(aBv, K(KC.AB))];
    if (count <= 16) {
      for (let n = 0; n < count; n++) out.push(...step);
      return out;
    }
    // long phases: a counted loop (same operations, same order)
    out.push(set(nSub, o.i32(count)), o.loop([...step, o.br_if(0, o.i32_gt_s(o.tee(nSub, o.i32_sub(get(nSub), o.i32(1))), o.i32(0)))]));
    return out;
  };

  // ---- per-row buffer (one record per group): decisions and values between the phases ----
  const B = { H: 0, UP: 32, AMB: 64, R: 96, ND: 112, HM: 144, D1: 176, DM: 192, D2: 208, PQ: 224, MQ: 240, SL: 256, SIZE: BUF_REC };

  /**
   * Phase A, one group: field, draw, decision. Writes h, up, amb (undecided, unclamped lanes), r,
   * the new node value and (delayed links) the mid-phase drive to the row buffer. Returns code
   * that also ORs "some lane undecided" into `anyAmb`.
   */
  const phaseA = (p: number): Code[] => {
    const imm = g.imm[p];
    const out: Code[] = [];
    out.push(set(gA, o.v_load(get(rP), L.BIAS)), set(gB, o.v_load(get(rP), L.BIAS + 16)));
    if (lat) out.push(set(stA, ZERO), set(stB, ZERO));
    for (let d = 0; d < D; d++) {
      if (d > 0 && tuning.barrierEvery > 0 && d % tuning.barrierEvery === 0) out.push(...barrier(lat ? [gA, gB, stA, stB] : [gA, gB]));
      const wa = o.v_load(get(rP), L.W + 32 * d);
      const wb = o.v_load(get(rP), L.W + 32 * d + 16);
      if (!lat) {
        out.push(set(gA, o.f64x2_add(get(gA), o.f64x2_mul(wa, o.v_load(get(mP), 8 * imm[d])))));
        out.push(set(gB, o.f64x2_add(get(gB), o.f64x2_mul(wb, o.v_load(get(mP), 8 * imm[d] + 16)))));
      } else {
        for (const [gv, stv, w, off] of [
          [gA, stA, wa, 0],
          [gB, stB, wb, 16],
        ] as [number, number, Code, number][]) {
          out.push(set(sArr, o.v_load(get(mP), 8 * imm[d] + off)));
          out.push(set(spArr, o.v_load(get(mP), 8 * imm[d] + off + PREV)));
          out.push(set(tmp, w));
          out.push(set(gv, o.f64x2_add(get(gv), o.f64x2_mul(get(tmp), get(sArr)))));
          // stale += w (sPrev - s) on tile-crossing wires only (+0 elsewhere leaves the sum as is)
          out.push(
            set(stv, o.f64x2_add(get(stv), o.v_and(o.v_load(get(rP), L.CROSS + 32 * d + off), o.f64x2_mul(get(tmp), o.f64x2_sub(get(spArr), get(sArr)))))),
          );
        }
      }
    }
    out.push(set(hA, o.f64x2_mul(get(gA), K(KC.TB))), set(hB, o.f64x2_mul(get(gB), K(KC.TB))));
    out.push(o.v_store(get(bufP), get(hA), B.H), o.v_store(get(bufP), get(hB), B.H + 16));
    if (lat) {
      out.push(set(hmA, o.f64x2_mul(o.f64x2_add(get(gA), get(stA)), K(KC.TB))), set(hmB, o.f64x2_mul(o.f64x2_add(get(gB), get(stB)), K(KC.TB))));
      out.push(o.v_store(get(bufP), get(hmA), B.HM), o.v_store(get(bufP), get(hmB), B.HM + 16));
    }
    return out;
  };

  /**
   * Phase R, one group (cycle engine): the bias node's relaxation, substep by substep (exact).
   * Its own loop, so that the long dependency chains of several groups overlap. Writes the new
   * node value and the distances (start - target) of each segment, for the estimate.
   */
  const phaseR = (): Code[] => {
    const out: Code[] = [];
    out.push(set(hA, o.v_load(get(bufP), B.H)), set(hB, o.v_load(get(bufP), B.H + 16)));
    if (lat) out.push(set(hmA, o.v_load(get(bufP), B.HM)), set(hmB, o.v_load(get(bufP), B.HM + 16)));
    out.push(set(V0A, o.v_load(get(gP), 0)), set(V0B, o.v_load(get(gP), 16)));
    out.push(set(T1A, o.v_load(get(gP), TGOFF)), set(T1B, o.v_load(get(gP), TGOFF + 16)));
    out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(V0A), get(T1A)), o.f64x2_sub(get(V0B), get(T1B))), B.D1));
    out.push(set(VA, get(V0A)), set(VB, get(V0B)));
    out.push(...relax(cycle ? variant.n1 : 0, get(T1A), get(T1B)));
    if (lat) {
      out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(VA), get(hmA)), o.f64x2_sub(get(VB), get(hmB))), B.DM));
      out.push(...relax(cycle ? variant.nMid : 0, get(hmA), get(hmB)));
    }
    out.push(o.v_store(get(bufP), pack(o.f64x2_sub(get(VA), get(hA)), o.f64x2_sub(get(VB), get(hB))), B.D2));
    out.push(...relax(cycle ? variant.n2 : 0, get(hA), get(hB)));
    out.push(o.v_store(get(bufP), get(VA), B.ND), o.v_store(get(bufP), get(VB), B.ND + 16));
    return out;
  };

  /**
   * Phase E0, one group (cycle engine): the part of the estimate that does not involve the new
   * drive h: the sticky-bit term and the segments towards the previous target (sigmoid cached) and
   * towards the delayed-link drive. Its own loop to keep each loop's live values few.
   */
  const phaseE0 = (): Code[] => {
    const out: Code[] = [];
    out.push(set(GI, o.v_load(get(rP), L.GAIN)), set(OI, o.v_load(get(rP), L.OFF)));
    out.push(
      set(Pq, o.v_and(o.f32x4_gt(pack(o.v_load(get(oP), 0), o.v_load(get(oP), 16)), ZERO), K(KC.BPOW))),
      set(Mq, ZERO),
      set(SL, o.f32x4_abs(get(OI))),
    );
    out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), B.D1))));
    out.push(...segment32(0, true));
    if (lat) {
      out.push(set(tmp, pack(o.v_load(get(bufP), B.HM), o.v_load(get(bufP), B.HM + 16))));
      out.push(set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), get(OI))));
      out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), B.DM))));
      out.push(...segment32(1, false));
    }
    out.push(o.v_store(get(bufP), get(Pq), B.PQ), o.v_store(get(bufP), get(Mq), B.MQ), o.v_store(get(bufP), get(SL), B.SL));
    return out;
  };

  /** Phase A2, one group: the decision (ideal: the logit table; cycle: the estimate's last segment, then P~ -+ M against u). */
  const phaseA2 = (): Code[] => {
    const out: Code[] = [];
    out.push(set(hA, o.v_load(get(bufP), B.H)), set(hB, o.v_load(get(bufP), B.H + 16)));
    if (lat) out.push(set(hmA, o.v_load(get(bufP), B.HM)), set(hmB, o.v_load(get(bufP), B.HM + 16)));
    out.push(set(r, o.v_load(get(bufP), B.R)));
    if (!cycle) {
      out.push(set(t0, o.i32x4_shl(o.i32x4_shr_u(get(r), o.i32(32 - MEM.TAB_BITS)), o.i32(4))));
      out.push(
        set(t1, o.v_load(o.i32x4_extract(get(t0), 0), MEM.TAB)),
        set(t2, o.v_load(o.i32x4_extract(get(t0), 1), MEM.TAB)),
        set(upA, o.f64x2_gt(get(hA), o.shuffle(get(t1), get(t2), SHUF_HI))),
        set(dnA, o.f64x2_lt(get(hA), o.shuffle(get(t1), get(t2), SHUF_LO))),
        set(t1, o.v_load(o.i32x4_extract(get(t0), 2), MEM.TAB)),
        set(t2, o.v_load(o.i32x4_extract(get(t0), 3), MEM.TAB)),
        set(upB, o.f64x2_gt(get(hB), o.shuffle(get(t1), get(t2), SHUF_HI))),
        set(dnB, o.f64x2_lt(get(hB), o.shuffle(get(t1), get(t2), SHUF_LO))),
      );
    } else {
      // single-precision estimate of P: the earlier segments come from phase E0
      out.push(set(GI, o.v_load(get(rP), L.GAIN)), set(OI, o.v_load(get(rP), L.OFF)));
      out.push(set(Pq, o.v_load(get(bufP), B.PQ)), set(Mq, o.v_load(get(bufP), B.MQ)), set(SL, o.v_load(get(bufP), B.SL)));
      out.push(set(tmp, pack(get(hA), get(hB))));
      out.push(set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), get(OI))));
      out.push(set(xq, o.f32x4_mul(get(GI), o.v_load(get(bufP), B.D2))));
      out.push(...segment32(2, false));
      // the new target's sigmoid is next latch's cache (clamped cells keep their target)
      out.push(set(t3, o.shuffle(o.v_load(get(rP), L.CLAMP), o.v_load(get(rP), L.CLAMP + 16), SHUF_EVEN32)));
      out.push(o.v_store(get(gP), o.v_bitselect(o.v_load(get(gP), SGOFF), get(sg), get(t3)), SGOFF));
      out.push(o.v_store(get(gP), o.v_bitselect(o.v_load(get(gP), SGOFF + 16), get(mag), get(t3)), SGOFF + 16));
      out.push(set(Mq, o.f32x4_add(get(Mq), o.f32x4_add(K(KC.K0), o.f32x4_mul(K(KC.SK), get(SL))))));
      // u = r 2^-32 (rounded to single precision: covered by K0)
      out.push(set(tmp, o.f32x4_mul(o.f32x4_convert_i32x4_u(get(r)), K(KC.FTWO32))));
      out.push(set(up32, o.f32x4_lt(get(tmp), o.f32x4_sub(get(Pq), get(Mq)))));
      out.push(set(dn32, o.f32x4_ge(get(tmp), o.f32x4_add(get(Pq), get(Mq)))));
      out.push(set(upA, o.i64x2_extend_low_i32x4_s(get(up32))), set(upB, o.i64x2_extend_high_i32x4_s(get(up32))));
      out.push(set(dnA, o.i64x2_extend_low_i32x4_s(get(dn32))), set(dnB, o.i64x2_extend_high_i32x4_s(get(dn32))));
    }
    // undecided: neither up nor down, and neither clamped nor a tail group's invalid lane
    out.push(
      set(ambA, o.v_andnot(o.v_not(o.v_or(get(upA), get(dnA))), o.v_load(get(rP), L.CLAMP))),
      set(ambB, o.v_andnot(o.v_not(o.v_or(get(upB), get(dnB))), o.v_load(get(rP), L.CLAMP + 16))),
      o.v_store(get(bufP), get(upA), B.UP),
      o.v_store(get(bufP), get(upB), B.UP + 16),
      o.v_store(get(bufP), get(ambA), B.AMB),
      o.v_store(get(bufP), get(ambB), B.AMB + 16),
      set(anyAmb, o.v_or(get(anyAmb), o.v_or(get(ambA), get(ambB)))),
    );
    return out;
  };

  /** Phase B, one group: the exact decision for its undecided lanes (rare). */
  const phaseB = (): Code[] => {
    const out: Code[] = [];
    for (let k = 0; k < 4; k++) {
      const vo = 16 * (k >> 1);
      const l = k & 1;
      let call: Code;
      const hOf = o.f64x2_extract(o.v_load(get(bufP), B.H + vo), l);
      if (!cycle) {
        call = o.call(F_EXACT, [hOf, o.i32x4_extract(o.v_load(get(bufP), B.R), k)]);
      } else {
        call = o.call(F_EXACT, [
          o.f64_load(get(gP), 8 * k),
          o.f64_load(get(gP), TGOFF + 8 * k),
          hOf,
          lat ? o.f64x2_extract(o.v_load(get(bufP), B.HM + vo), l) : hOf,
          o.f64_load(get(rP), L.GAIN64 + 8 * k),
          o.f64_load(get(rP), L.OFF64 + 8 * k),
          o.f64_load(get(oP), 8 * k),
          o.i32x4_extract(o.v_load(get(bufP), B.R), k),
        ]);
      }
      out.push(
        o.if_(o.i32_eqz(o.i64_eqz(o.i64x2_extract(o.v_load(get(bufP), B.AMB + vo), l))), [
          o.v_store(get(bufP), o.i64x2_replace(o.v_load(get(bufP), B.UP + vo), call, l), B.UP + vo),
          set(nfb, o.i32_add(get(nfb), o.i32(1))),
        ]),
      );
    }
    return out;
  };

  /** Phase C, one group: new spins, tallies in cell order, stores. */
  const phaseC = (): Code[] => {
    const out: Code[] = [];
    out.push(set(oldA, o.v_load(get(oP), 0)), set(oldB, o.v_load(get(oP), 16)));
    // new spins: up ? +1 : -1
    out.push(
      set(nsA, o.v_xor(MONE, o.v_and(o.v_load(get(bufP), B.UP), K(KC.SIGN)))),
      set(nsB, o.v_xor(MONE, o.v_and(o.v_load(get(bufP), B.UP + 16), K(KC.SIGN)))),
    );
    out.push(set(hA, o.v_load(get(bufP), B.H)), set(hB, o.v_load(get(bufP), B.H + 16)));
    if (cycle) out.push(set(ndA, o.v_load(get(bufP), B.ND)), set(ndB, o.v_load(get(bufP), B.ND + 16)));
    else out.push(set(ndA, get(hA)), set(ndB, get(hB)));
    out.push(set(tgA, get(hA)), set(tgB, get(hB)));
    const commit = (masked: boolean): Code[] => {
      const c: Code[] = [];
      if (masked) {
        c.push(set(clA, o.v_load(get(rP), L.CLAMP)), set(clB, o.v_load(get(rP), L.CLAMP + 16)));
        c.push(set(togA, o.v_andnot(o.f64x2_ne(get(nsA), get(oldA)), get(clA))), set(togB, o.v_andnot(o.f64x2_ne(get(nsB), get(oldB)), get(clB))));
        c.push(set(nsA, o.v_bitselect(get(oldA), get(nsA), get(clA))), set(nsB, o.v_bitselect(get(oldB), get(nsB), get(clB))));
        c.push(set(cntL, o.i64x2_add(o.i64x2_add(get(cntL), get(clA)), get(clB))));
      } else {
        c.push(set(togA, o.f64x2_ne(get(nsA), get(oldA))), set(togB, o.f64x2_ne(get(nsB), get(oldB))));
      }
      c.push(set(cntT, o.i64x2_sub(o.i64x2_sub(get(cntT), get(togA)), get(togB))));
      c.push(set(lk, o.f64x2_add(get(lk), o.f64x2_add(o.v_and(get(togA), o.v_load(get(rP), L.CC)), o.v_and(get(togB), o.v_load(get(rP), L.CC + 16))))));
      // divider gamma(1-gamma) at the node value: f = clamp(0.5 + vsv V, 0, 1)
      for (const [Ve, cl, t] of [
        [ndA, clA, t0],
        [ndB, clB, t1],
      ]) {
        c.push(set(t, o.f64x2_pmin(o.f64x2_pmax(o.f64x2_add(K(KC.HALF), o.f64x2_mul(K(KC.VSV), get(Ve))), ZERO), ONE)));
        c.push(set(t, o.f64x2_mul(get(t), o.f64x2_sub(ONE, get(t)))));
        if (masked) c.push(set(t, o.v_andnot(get(t), get(cl))));
      }
      c.push(set(t2, o.v_and(get(togA), o.v_load(get(rP), L.CWL))), set(t3, o.v_and(get(togB), o.v_load(get(rP), L.CWL + 16))));
      // the two ordered sums, lane by lane in cell order
      c.push(
        set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t2), 0))),
        set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t0), 0))),
        set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t2), 1))),
        set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t0), 1))),
        set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t3), 0))),
        set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t1), 0))),
        set(wp, o.f64_add(get(wp), o.f64x2_extract(get(t3), 1))),
        set(dv, o.f64_add(get(dv), o.f64x2_extract(get(t1), 1))),
      );
      if (masked) {
        // clamped cells keep sPrev, node and target (and a tail's invalid lanes keep the padding)
        c.push(
          set(oldA, o.v_bitselect(o.v_load(get(oP), PREV), get(oldA), get(clA))),
          set(oldB, o.v_bitselect(o.v_load(get(oP), PREV + 16), get(oldB), get(clB))),
          set(ndA, o.v_bitselect(o.v_load(get(gP), 0), get(ndA), get(clA))),
          set(ndB, o.v_bitselect(o.v_load(get(gP), 16), get(ndB), get(clB))),
          set(tgA, o.v_bitselect(o.v_load(get(gP), TGOFF), get(tgA), get(clA))),
          set(tgB, o.v_bitselect(o.v_load(get(gP), TGOFF + 16), get(tgB), get(clB))),
        );
      }
      c.push(
        o.v_store(get(oP), get(nsA), 0),
        o.v_store(get(oP), get(nsB), 16),
        o.v_store(get(oP), get(oldA), PREV),
        o.v_store(get(oP), get(oldB), PREV + 16),
        o.v_store(get(gP), get(ndA), 0),
        o.v_store(get(gP), get(ndB), 16),
        o.v_store(get(gP), get(tgA), TGOFF),
        o.v_store(get(gP), get(tgB), TGOFF + 16),
      );
      return c;
    };
    out.push(o.if_(o.i32_load(get(rP), L.FLAGS), commit(true), commit(false)));
    return out;
  };

  /** loop over the row's groups running `body`, advancing the given pointers */
  const groupLoop = (body: Code[], ptrs: [number, number][]): Code[] => [
    set(cnt, get(nG)),
    o.loop([
      ...body,
      ...ptrs.map(([p, step]) => set(p, o.i32_add(get(p), o.i32(step)))),
      o.br_if(0, o.i32_gt_s(o.tee(cnt, o.i32_sub(get(cnt), o.i32(1))), o.i32(0))),
    ]),
  ];

  const rowStart = (): Code[] => [
    set(rP, o.i32_add(get(recA), o.i32_mul(o.i32_load(get(rt), 8), o.i32(L.REC)))),
    set(gP, o.i32_add(get(groupsA), o.i32_shl(o.i32_load(get(rt), 8), o.i32(5)))),
    set(mP, o.i32_add(get(otherA), o.i32_shl(o.i32_load(get(rt), 12), o.i32(3)))),
    set(oP, o.i32_add(get(ownA), o.i32_shl(o.i32_sub(o.i32_load(get(rt), 12), o.i32(g.minOff)), o.i32(3)))),
    set(bufP, get(bufA)),
  ];

  const init: Code[] = [
    set(ownA, pi(PI.own)),
    set(otherA, pi(PI.other)),
    set(groupsA, pi(PI.groups)),
    set(recA, pi(PI.rec)),
    set(rowTab, pi(PI.rowTab)),
    set(nRows, pi(PI.nRows)),
    set(bufA, pi(PI.buf)),
    set(wp, o.f64(0)),
    set(dv, o.f64(0)),
    set(cntL, ZERO),
    set(cntT, ZERO),
    set(lk, ZERO),
    set(nfb, o.i32(0)),
    set(nLatch, o.i32(0)),
  ];
  const ptrsA: [number, number][] = [
    [rP, L.REC],
    [mP, 32],
    [bufP, B.SIZE],
  ];
  const ptrsA2: [number, number][] = [
    [rP, L.REC],
    [bufP, B.SIZE],
  ];
  if (cycle) ptrsA2.push([gP, 32], [oP, 32]);
  const ptrsBC: [number, number][] = [
    [rP, L.REC],
    [oP, 32],
    [gP, 32],
    [bufP, B.SIZE],
  ];
  const rows: Code[] = [
    set(row, o.i32(0)),
    o.block([
      o.br_if(0, o.i32_le_s(get(nRows), o.i32(0))),
      o.loop([
        // row entry: i0, count, groupStart, plane base (shifted by minOff), parity
        set(rt, o.i32_add(get(rowTab), o.i32_shl(get(row), o.i32(5)))),
        set(nG, o.i32_shr_u(o.i32_add(o.i32_load(get(rt), 4), o.i32(3)), o.i32(2))),
        set(nLatch, o.i32_add(get(nLatch), o.i32_shl(get(nG), o.i32(2)))),
        set(anyAmb, ZERO),
        ...rowStart(),
        o.if_(o.i32_load(get(rt), 16), groupLoop(phaseA(1), ptrsA), groupLoop(phaseA(0), ptrsA)),
        ...(cycle ? [...rowStart(), ...groupLoop(phaseR(), [[gP, 32], [bufP, B.SIZE]] as [number, number][])] : []),
        // the draws, in their own loop
        set(bufP, get(bufA)),
        set(iNat, o.i32_load(get(rt), 0)),
        ...groupLoop([...hash(), o.v_store(get(bufP), get(r), B.R)], [
          [bufP, B.SIZE],
          [iNat, 8],
        ]),
        ...(cycle ? [...rowStart(), ...groupLoop(phaseE0(), ptrsA2)] : []),
        ...rowStart(),
        ...groupLoop(phaseA2(), ptrsA2),
        o.if_(o.v_any_true(get(anyAmb)), [...rowStart(), ...groupLoop(phaseB(), ptrsBC)]),
        ...rowStart(),
        ...groupLoop(phaseC(), ptrsBC),
        o.br_if(0, o.i32_lt_s(o.tee(row, o.i32_add(get(row), o.i32(1))), get(nRows))),
      ]),
    ]),
  ];

  // latches = lanes committed minus clamped or invalid ones (cntL counts those, as -1 per lane)
  const out: Code[] = [
    o.f64_store(
      o.i32(0),
      o.f64_convert_i32_u(o.i32_add(get(nLatch), o.i32_add(o.i32x4_extract(get(cntL), 0), o.i32x4_extract(get(cntL), 2)))),
      MEM.OUT + 8 * OUT.latches,
    ),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(o.i32_add(o.i32x4_extract(get(cntT), 0), o.i32x4_extract(get(cntT), 2))), MEM.OUT + 8 * OUT.toggles),
    o.f64_store(o.i32(0), o.f64_add(o.f64x2_extract(get(lk), 0), o.f64x2_extract(get(lk), 1)), MEM.OUT + 8 * OUT.link),
    o.f64_store(o.i32(0), get(wp), MEM.OUT + 8 * OUT.wire),
    o.f64_store(o.i32(0), get(dv), MEM.OUT + 8 * OUT.divider),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(get(nfb)), MEM.OUT + 8 * OUT.fallbacks),
  ];

  const copies = (): Code[] => dups.map(([copy, slot]) => o.v_store(o.i32(0), o.v_load(o.i32(0), MEM.CONST + 16 * slot), MEM.CONST + 16 * copy));
  const latchFn: FuncDef = { name: 'latch', params: [], results: [], locals: lc.types, body: [...copies(), ...init, ...rows, ...out] };
  if (!cycle) return [latchFn];
  // fill(): the sigmoid cache of every group of the colour from its current targets
  const fillRows: Code[] = [
    set(row, o.i32(0)),
    o.loop([
      set(rt, o.i32_add(get(rowTab), o.i32_shl(get(row), o.i32(5)))),
      set(nG, o.i32_shr_u(o.i32_add(o.i32_load(get(rt), 4), o.i32(3)), o.i32(2))),
      set(rP, o.i32_add(get(recA), o.i32_mul(o.i32_load(get(rt), 8), o.i32(L.REC)))),
      set(gP, o.i32_add(get(groupsA), o.i32_shl(o.i32_load(get(rt), 8), o.i32(5)))),
      ...groupLoop(
        [
          set(GI, o.v_load(get(rP), L.GAIN)),
          set(tmp, pack(o.v_load(get(gP), TGOFF), o.v_load(get(gP), TGOFF + 16))),
          set(zq, o.f32x4_add(o.f32x4_mul(get(GI), get(tmp)), o.v_load(get(rP), L.OFF))),
          ...sigmoid32(),
          o.v_store(get(gP), get(sg), SGOFF),
          o.v_store(get(gP), o.f32x4_abs(o.f32x4_mul(get(GI), get(tmp))), SGOFF + 16),
        ],
        [
          [rP, L.REC],
          [gP, 32],
        ],
      ),
      o.br_if(0, o.i32_lt_s(o.tee(row, o.i32_add(get(row), o.i32(1))), get(nRows))),
    ]),
  ];
  const fillFn: FuncDef = {
    name: 'fill',
    params: [],
    results: [],
    locals: lc.types,
    body: [...copies(), set(groupsA, pi(PI.groups)), set(recA, pi(PI.rec)), set(rowTab, pi(PI.rowTab)), set(nRows, pi(PI.nRows)), ...fillRows],
  };
  return [latchFn, fillFn];
}
