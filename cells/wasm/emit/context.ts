/**
 * The emit context of one generated kernel function: its locals (allocated once, in a fixed
 * order, and shared by the emitters by name), the constants it reads, and the small helpers every
 * emitter uses. Each emitter (field.ts, hash.ts, relax.ts, estimate.ts, decision.ts, exact.ts,
 * commit.ts) is a function of this context returning code; emit/kernel.ts composes them.
 *
 * The order of local allocation and of constant use sites is part of the output: the module bytes
 * (and so test/wasm/emit-hashes.json) depend on it.
 */
import { op as o, T, Locals, type Code } from '../asm.js';
import { KC, REGIONS, constAddr } from '../abi.js';
import type { GeomSpec, ChainRec, Variant } from '../layout.js';
import { struct } from '../struct.js';

export const SHUF_LO = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** dwords 0 and 2 of each operand (f64 lane masks -> f32 lane masks) */
export const SHUF_EVEN32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
export const SHUF_HI = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
export const TWO_POW_M32 = 2.3283064365386963e-10;
/** 1.5 * 2^23: adding it rounds an f32 to an integer */
export const MAGIC32 = 12582912;

/**
 * Node-to-target distances below this (in drive units) enter the estimate as 0: near convergence
 * the distance, its square and cube would otherwise be subnormal floats, which x86 computes about
 * a hundred times slower. Dropping them moves the estimate by far less than its constant slop
 * EST_SLOP (cells/wasm/engine.ts), which the bound already carries.
 */
export const TINY_DISTANCE = 1e-12;

/** x with lanes of magnitude below KC.TINY set to 0 (x is read twice: pass a local) */
export function flushTiny(K: (slot: number) => Code, x: Code): Code {
  return o.v_andnot(x, o.f64x2_lt(o.f64x2_abs(x), K(KC.TINY)));
}

/** directions between scheduling barriers (see barrier()) */
export const tuning = { barrierEvery: 3 };

/** The per-row buffer (one record per group of four cells, struct.ts): values between the phases. */
export const BUF = struct(
  'row buffer',
  [
    { name: 'H', type: 'f64', count: 4 }, // the field's drive
    { name: 'UP', type: 'i64', count: 4 }, // lane masks: the new spin is up
    { name: 'AMB', type: 'i64', count: 4 }, // lane masks: the decision is ambiguous (the exact path decides)
    { name: 'R', type: 'i32', count: 4 }, // the draws
    { name: 'ND', type: 'f64', count: 4 }, // the node at the latch (cycle)
    { name: 'HM', type: 'f64', count: 4 }, // the stale drive (delayed links)
    { name: 'D1', type: 'f32', count: 4 }, // node-to-target distances per segment (cycle, the estimate)
    { name: 'DM', type: 'f32', count: 4 },
    { name: 'D2', type: 'f32', count: 4 },
    { name: 'PQ', type: 'f32', count: 4 }, // the estimate's partial sums and slop
    { name: 'MQ', type: 'f32', count: 4 },
    { name: 'SL', type: 'f32', count: 4 },
  ],
  { align: 16 },
);

function allocLocals(lc: Locals) {
  const i32 = () => lc.add(T.i32);
  const v = () => lc.add(T.v128);
  const f = () => lc.add(T.f64);
  // pointers and counters
  const iNat = i32();
  const row = i32(),
    rt = i32(),
    nRows = i32(),
    cnt = i32(),
    nG = i32(),
    nLatch = i32(),
    nfb = i32();
  const rP = i32(),
    mP = i32(),
    oP = i32(),
    gP = i32(),
    bufP = i32();
  const ownA = i32(),
    otherA = i32(),
    groupsA = i32(),
    recA = i32(),
    rowTab = i32(),
    bufA = i32();
  const anyAmb = v();
  // accumulators
  const wp = f(),
    dv = f();
  const cntL = v(),
    cntT = v(),
    lk = v();
  // per group
  const gA = v(),
    gB = v(),
    hA = v(),
    hB = v(),
    r = v(),
    x = v();
  const upA = v(),
    upB = v(),
    dnA = v(),
    dnB = v(),
    ambA = v(),
    ambB = v();
  const oldA = v(),
    oldB = v(),
    clA = v(),
    clB = v(),
    nsA = v(),
    nsB = v(),
    togA = v(),
    togB = v();
  const t0 = v(),
    t1 = v(),
    t2 = v(),
    t3 = v(),
    tmp = v();
  const VA = v(),
    VB = v(),
    V0A = v(),
    V0B = v(),
    T1A = v(),
    T1B = v();
  const stA = v(),
    stB = v(),
    hmA = v(),
    hmB = v();
  const sArr = v(),
    spArr = v(),
    ndA = v(),
    ndB = v(),
    tgA = v(),
    tgB = v();
  // f32x4 estimate (lanes A0 A1 B0 B1)
  const GI = v(),
    OI = v(),
    Pq = v(),
    Mq = v(),
    SL = v(),
    sg = v(),
    sp = v(),
    xq = v(),
    x2q = v(),
    ax = v(),
    zq = v(),
    yq = v(),
    kq = v(),
    qq = v();
  const up32 = v(),
    dn32 = v(),
    mag = v();
  return {
    iNat,
    row,
    rt,
    nRows,
    cnt,
    nG,
    nLatch,
    nfb,
    rP,
    mP,
    oP,
    gP,
    bufP,
    ownA,
    otherA,
    groupsA,
    recA,
    rowTab,
    bufA,
    anyAmb,
    wp,
    dv,
    cntL,
    cntT,
    lk,
    gA,
    gB,
    hA,
    hB,
    r,
    x,
    upA,
    upB,
    dnA,
    dnB,
    ambA,
    ambB,
    oldA,
    oldB,
    clA,
    clB,
    nsA,
    nsB,
    togA,
    togB,
    t0,
    t1,
    t2,
    t3,
    tmp,
    VA,
    VB,
    V0A,
    V0B,
    T1A,
    T1B,
    stA,
    stB,
    hmA,
    hmB,
    sArr,
    spArr,
    ndA,
    ndB,
    tgA,
    tgB,
    GI,
    OI,
    Pq,
    Mq,
    SL,
    sg,
    sp,
    xq,
    x2q,
    ax,
    zq,
    yq,
    kq,
    qq,
    up32,
    dn32,
    mag,
  };
}

export type KernelLocals = ReturnType<typeof allocLocals>;

export interface EmitCtx {
  g: GeomSpec;
  /** the group record's layout (layout.ts chainRec) */
  L: ChainRec;
  variant: Variant;
  /** the cycle engine, and the cycle engine with delayed tile links */
  cycle: boolean;
  lat: boolean;
  /** function index of the exact decision (exact.ts) */
  fExact: number;
  lc: Locals;
  l: KernelLocals;
  get: (l: number) => Code;
  set: (l: number, v: Code) => Code;
  /** a constant slot, read at this use site from its own copy (see K below) */
  K: (slot: number) => Code;
  /** (copy, slot) pairs: the copies made at each function's entry */
  dups: [number, number][];
  ONE: Code;
  MONE: Code;
  ZERO: Code;
  /** four f64 lanes (A, B) as one f32x4 */
  pack: (a: Code, b: Code) => Code;
  /** f64x2 lanes rounded to single precision (the cycle cell's arithmetic, cells/physics.ts) */
  r32: (a: Code) => Code;
  /** stores that pin the arithmetic between loads (V8 scheduling) */
  barrier: (vals: number[]) => Code[];
}

export function newEmitCtx(g: GeomSpec, L: ChainRec, variant: Variant, fExact: number): EmitCtx {
  const lc = new Locals(0);
  const l = allocLocals(lc);
  /**
   * A constant, loaded where it is used. Every use site reads its own copy (made at entry): V8
   * merges loads of one address into one value that then lives, and spills, across the loop.
   */
  const dups: [number, number][] = [];
  const K = (slot: number): Code => {
    const copy = KC.DUPS + dups.length;
    if (copy >= KC.DUPS_END) throw new Error('gen: too many constant use sites');
    dups.push([copy, slot]);
    return o.v_load(o.i32(0), constAddr(copy));
  };
  const get = o.get;
  const ONE = K(KC.ONE);
  const MONE = K(KC.MONE);
  const cycle = variant.cycle;
  return {
    g,
    L,
    variant,
    cycle,
    lat: cycle && g.lat,
    fExact,
    lc,
    l,
    get,
    set: o.set,
    K,
    dups,
    ONE,
    MONE,
    ZERO: o.v_const_f64x2(0, 0),
    pack: (a, b) => o.shuffle(o.f32x4_demote_f64x2_zero(a), o.f32x4_demote_f64x2_zero(b), SHUF_LO),
    r32: (a) => o.f64x2_promote_low_f32x4(o.f32x4_demote_f64x2_zero(a)),
    /**
     * V8's optimising compiler keeps loads in program order but places arithmetic late, so without
     * help it issues all of a group's loads first and spills them. Storing the running sums to a
     * scratch slot every few directions pins the arithmetic between the loads.
     */
    barrier: (vals) => vals.map((val, k) => o.v_store(o.i32(0), get(val), REGIONS.SCRATCH.at + 16 * k)),
  };
}

/** The copies of every constant use site, made at a function's entry. */
export function constCopies(ctx: EmitCtx): Code[] {
  return ctx.dups.map(([copy, slot]) => o.v_store(o.i32(0), o.v_load(o.i32(0), constAddr(slot)), constAddr(copy)));
}
