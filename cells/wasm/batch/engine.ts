/**
 * The many-chain engine: the reference engine's model for a batch of chains that share a stage,
 * run as generated WebAssembly SIMD with chains in the lanes (layout.ts, emit.ts). Every chain
 * keeps its own counter-based draws, so its results are bit for bit those of the reference engine
 * running it alone, whatever the batch (test/engines.test.ts).
 *
 * It needs quantised weights: fields are 16-bit integers, exact in any order. The ideal latch is
 * decided by a table of the reference's threshold for every reachable G at this half-sweep's
 * drive scale (built in TypeScript with the reference's own expressions); the cycle-accurate latch
 * by the estimate with an error bound and the exact expression where it cannot decide.
 *
 * The instance owns its WebAssembly memory: per block of BL chains a spin plane and a bias plane
 * (padded grids of BL lanes per cell), the chains' draw offsets and lane masks, per-chain tallies,
 * and for the cycle physics node values, targets, the sigmoid cache and previous spins; per
 * colour the records of the latching (unclamped) cells; the decision table; the moments lists.
 *
 * Chains are loaded, given biases and read one at a time (the LatchEngine contract), but a plane
 * holds a cell's lanes side by side, so one chain's cells lie a cell apart. The engine therefore
 * stages what it is given in chain-major rows (a chain's spins, its biases as the plane holds them)
 * and writes a whole block's rows into its planes at once when the chains next run or are read
 * (rowsIn8/rowsIn16, a transpose per eight cells and eight lanes); reading a chain's spins takes a
 * snapshot of every held chain the same way (rowsOut8), kept until the chains change. What the
 * planes hold when a latch runs is exactly what the one-chain-at-a-time writes would have left.
 * Likewise the cycle physics' settling of a loaded chain's nodes to its field waits for the
 * block's next latch (settle(): the kernel's integer fields of every lane at once), or for a change
 * that would alter what the chain settles to, so it is the settling at load time.
 */
import { Arena, roundUp } from '../arena.js';
import { RESERVED, REGIONS, OUT, I32, F64, KC, i32Addr, f64Addr, outAddr, constAddr } from '../abi.js';
import { batchGeom, blockChains, cellPos, batchRec, batchAcc, classBytes, MASK, PHI, STATE, type BatchGeom } from './layout.js';
import { generateBatch, FIX, type BatchVariant } from './emit.js';
import { wasmSupported, segmentConstants, estimateSlop, SIGMA_ERR } from '../engine.js';
import { writeStaticConstants, DQK } from '../emit/constants.js';
import { CHAIN_STRIDE } from '../../../rng/counter.js';
import { sigmoid, latchThreshold, dividerQ, powers32, rngMemory32 } from '../../physics.js';
import type { Planes, WeightBits } from '../../planes.js';
import {
  EngineRefusal,
  isIdealPhysics,
  intervalRefusal,
  MAX_SUBSTEPS,
  type EngineSpec,
  type EngineStats,
  type HalfSweep,
  type LatchEngine,
  type MomentSums,
  type Tally,
} from '../../engine.js';

type Exports = Record<string, () => void>;

/** word index of every i32 parameter slot and f64 result slot (the hot paths write and read them per call) */
const IX = Object.fromEntries(Object.keys(I32).map((k) => [k, i32Addr(k as keyof typeof I32) / 4])) as Record<keyof typeof I32, number>;
const OX = Object.fromEntries(Object.keys(OUT).map((k) => [k, outAddr(k as keyof typeof OUT) / 8])) as Record<keyof typeof OUT, number>;

/** the compiled modules of this thread by what their code depends on (the oldest dropped past COMPILED_KEPT) */
const compiled = new Map<string, WebAssembly.Module>();
const COMPILED_KEPT = 16;

/** cells per latch() call: keeps every lane's 32-bit divider sum below 2^31 and its per-class toggle counts (batchAcc TOG) below 2^15 */
const CELLS_PER_CALL = 4096;
/** Why the many-chain engine cannot run a chip (null when it can). */
export function batchRefusal(spec: EngineSpec, weightBits: WeightBits): string | null {
  if (!wasmSupported()) return 'this Node has no WebAssembly SIMD with shared memory';
  if (weightBits === 'exact') return 'it needs quantised weights (cell.weight_bits is "exact"): its fields are 16-bit integers';
  const levels = 2 ** (weightBits - 1) - 1;
  const D = spec.layout.D;
  const long = intervalRefusal(spec.physics);
  if (long) return long;
  if (!isIdealPhysics(spec.physics) && (D + 1) * 16 > REGIONS.SCRATCH.bytes)
    return `${D} wires per cell: the kernel splats a cell's weights into ${REGIONS.SCRATCH.bytes} bytes`;
  if ((D + 1) * levels > 32767) return `cell.weight_bits = ${weightBits} with ${D} wires per cell can give fields beyond 16 bits`;
  return null;
}

/**
 * The constants of the fast path's decision (emit.ts emitCycleFast) for an interval of n substeps
 * (no delayed links), in units of 2^-32, as f32 values: P0 starts at Pup (the cell was up: the
 * RNG's own last bit, f(2^32 bPow - 2^31)) or Pdown (-2^31) and adds ZC1 sigma~(T1) + ZC2 sigma~(h);
 * M0 = |gain| (|d1| ZB1 + |d2| ZB2) + ZK. ZB_s = 2^32 (C1_s / 4 + SK): the zeroth-order remainder
 * (|sigma'| <= 1/4) and the slop the general bound counts per unit |x| of SL. ZK: the general
 * bound's constant K0 + E (C0_1 + C0_2) and, for the rest of SL (|offset| + |gain T_s|), SK (2 + |offset|):
 * the roundings those terms stand for move p by at most eps |u| sigma'(u) <= 0.224 eps per rounding of
 * u (docs/physics-arithmetic.md), which SK (>= 4 eps per substep) covers with |u| replaced by 2 + |offset|.
 * Each widened by a part in 10^6 for the f32 arithmetic that applies them.
 */
export function fastBound(n: number, aRng: number, seg: ArrayLike<number>, offMax: number) {
  const [k0, sk] = estimateSlop(n, aRng);
  const up = (x: number) => x * (1 + 1e-6);
  const f = Math.fround;
  const S32 = 2 ** 32;
  return {
    ZB1: f(up(seg[1] / 4 + sk) * S32),
    ZB2: f(up(seg[9] / 4 + sk) * S32),
    ZK: f(up(k0 + SIGMA_ERR * (seg[0] + seg[8]) + sk * (2 + offMax)) * S32),
    ZC1: f(seg[0] * S32),
    ZC2: f(seg[8] * S32),
    Pup: f(rngMemory32(aRng, n) * S32 - S32 / 2),
    Pdown: f(-S32 / 2),
  };
}

/** the sums of momentSums(): the MomentSums arrays and the integer sums added since they were last read */
interface OwnSums {
  spin: Float64Array;
  pair: Float64Array;
  accSpin: number;
  accPair: number;
  dirty: boolean;
}

interface Block {
  plane: number;
  /** per lane, pointers to its spin row (loads), its bias row (its own or the programmed one) and its snapshot row */
  spinTab: number;
  biasTab: number;
  readTab: number;
  /** per lane, a pointer to its biases at the sparse cells (setBiasAt) */
  sparseTab: number;
  /** some lane of the block has biases given at the sparse cells since begin() */
  sparse: boolean;
  /** lanes loaded since the planes were last written */
  pending: boolean[];
  /** cycle physics: lanes loaded whose nodes have not settled to their fields yet (settle()) */
  unsettled: boolean[];
  /** the bias plane must be rewritten from the lanes' bias rows before the next latch */
  biasDirty: boolean;
  bias: number;
  phi: number;
  mask: number;
  acc: number;
  /** cycle physics: nodes, targets and sigmoid cache (layout.ts STATE) */
  state: number;
  prev: number;
  /** chains held in this block */
  count: number;
}

export class BatchEngine implements LatchEngine {
  readonly kind = 'batch' as const;
  readonly capacity: number;
  private readonly a: Arena;
  private readonly g: BatchGeom;
  /** the layouts of a cell record and of a block's per-chain tallies (layout.ts) */
  private readonly rec: ReturnType<typeof batchRec>;
  private readonly acc: ReturnType<typeof batchAcc>;
  private readonly gOff: number;
  private readonly tabBase: number;
  private readonly blocks: Block[] = [];
  private readonly posOf: Int32Array;
  /** byte offset of a cell's analog state in a block's state (layout.ts STATE) */
  private readonly slotOf: Int32Array;
  /** cycle physics: some block has unsettled lanes; each loaded lane's drive scale 2 beta unit (f32) */
  private anyUnsettled = false;
  private readonly settleScale: Float64Array;
  /** settle(): the fields' buffer (one colour's records at a time) */
  private fieldsOut = -1;
  private readonly modules = new Map<string, Exports>();
  private readonly st: EngineStats;
  private readonly pads: [number, number] = [0, 0];
  private readonly nPads: [number, number] = [0, 0];
  /** plane position of every cell in cell order (the row transposes and moments read it) */
  private readonly posList: number;
  private readonly momOut: number;
  private readonly momBits: number;
  private readonly momWires: number;
  /** per wire of the moments list, its entry in MomentSums.pair */
  private readonly wirePair: Int32Array;
  /** the sums momentSums() handed out: their arrays, and the integer accumulators momentsAcc() adds to until they are read */
  private readonly ownSums = new WeakMap<MomentSums, OwnSums>();
  /** momentsAcc(): the grid of cells' spins as i64, per cell its plane position and grid offset, the colour-0 cells' offsets, its torus wrap copies */
  private readonly momGrid: number;
  private readonly momCells: number;
  private readonly momC0: number;
  private readonly momPads: number;
  private readonly nMomPads: number;
  /** staging rows: i8 spins per lane (stride s8 bytes), i16 biases per chain plus the programmed row (stride s16), snapshot rows */
  private readonly spinRows: number;
  private readonly biasRows: number;
  private readonly progRow: number;
  private readonly readRows: number;
  private readonly s8: number;
  private readonly s16: number;
  /** cells the transposes handle (whole groups of eight); the rest are written one lane at a time */
  private readonly nGrouped: number;
  /** lanes with their own biases since begin() */
  private own: boolean[];
  /**
   * setBiasAt's cells (the DTM input's visible cells): the last array given, with per chain its
   * biases at those cells only (the rest are the programmed ones), written into the bias plane by a
   * second transpose over these cells' positions
   */
  private sparse: {
    cells: Int32Array;
    /** positions of the cells in the plane (bCells list), rows of chains' values (stride bytes), the programmed values */
    pos: number;
    rows: number;
    stride: number;
    prog: number;
    wsum: Float64Array;
    wabs: Float64Array;
  } | null = null;
  /** some chain has biases given at the sparse cells since begin() */
  private sparseUsed = false;
  /** the snapshot rows hold every held chain's current spins */
  private snapValid = false;
  /** per colour: records of all its cells (weights written by program()) and of its latching cells when some are clamped */
  private readonly fullRecs: [number, number] = [0, 0];
  /** per cell, the i16 index of its record's weights (REC.W) among the records of all cells */
  private readonly recW: Int32Array;
  private readonly clampRecs: [number, number] = [0, 0];
  private readonly ideal: boolean;
  private readonly lat: boolean;
  private recs: [number, number] | null = null;
  private active: [number, number] = [0, 0];
  private planes: Planes | null = null;
  private readonly wsum: Float64Array;
  private readonly wabs: Float64Array;
  /** the table holds the entries of this drive scale over |G| <= tabReach */
  private tabScale = NaN;
  private tabReach = -1;
  /** the largest |G| the programmed weights and every bias given can reach */
  private reach = 0;
  private lastCycle = '';
  /** the cycle kernel's record of one cell's undecided halves (emit.ts FIX) */
  private readonly fixBuf: number;
  /** per tally class (cells that drive the same wire and tile-crossing wires, layout.ts batchAcc): its wire (1/WIRE_Q pitches) and its links */
  private readonly classWire: number[] = [];
  private readonly classLinks: number[] = [];
  /** settle(): the block's lane masks and drive scales (engine memory; -1 until the first settle) */
  private settleLanes = -1;
  /** the largest |offset| of a cell (f32) */
  private offMax = 0;
  private readonly idealModules: (Exports | undefined)[] = [];
  /** some block has lanes loaded since its planes were written / some block's bias plane is stale */
  private anyPending = false;
  private anyBiasDirty = false;
  /** readPacked(): plane positions of the cells in cell order (padded to whole bytes), and the output */
  private packList = -1;
  private packOut = -1;

  constructor(
    private readonly spec: EngineSpec,
    chains: number,
    weightBits: number,
  ) {
    const why = batchRefusal(spec, weightBits);
    if (why) throw new EngineRefusal(why);
    const { L, D, N, dirs, boundary, colourCells } = spec.layout;
    this.ideal = isIdealPhysics(spec.physics);
    this.lat = spec.physics.latency > 0;
    // the tally classes: a cell's class by what one of its toggles adds to the wire and link tallies
    const classOf = new Int32Array(N);
    const classes = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const key = `${spec.layout.wireQ[i]} ${spec.layout.crossCount[i]}`;
      let c = classes.get(key);
      if (c === undefined) {
        classes.set(key, (c = classes.size));
        this.classWire.push(spec.layout.wireQ[i]);
        this.classLinks.push(spec.layout.crossCount[i]);
      }
      classOf[i] = c;
    }
    let R = 1;
    for (const [dx, dy] of dirs) R = Math.max(R, Math.abs(dx), Math.abs(dy));
    const BL = blockChains(L, R, chains);
    this.g = batchGeom(L, dirs, BL);
    this.rec = batchRec(D);
    this.acc = batchAcc(BL, classes.size);
    this.gOff = (D + 1) * (2 ** (weightBits - 1) - 1);
    this.a = new Arena(RESERVED);
    const a = this.a;
    writeStaticConstants(a.memory.buffer as unknown as ArrayBuffer);
    const alloc = (bytes: number, what: string) => {
      const addr = a.alloc(bytes);
      if (addr < 0) throw new EngineRefusal(`not enough WebAssembly memory for ${what}`);
      return addr;
    };
    this.tabBase = this.ideal ? alloc((2 * this.gOff + 1) * 8, 'the decision table') : 0;
    new Int16Array(a.memory.buffer as unknown as ArrayBuffer, constAddr(KC.GOFF), 8).fill(this.gOff);
    this.fixBuf = !this.ideal && !this.lat ? alloc(2 * this.g.NV * FIX.stride, 'the undecided lanes') : 0;
    const g = this.g;
    const nBlocks = Math.ceil(chains / BL);
    // staging rows, one per lane of every block (lanes past the chains read and write rows of their own)
    const lanesAll = nBlocks * BL;
    this.s8 = roundUp(N + 16, 16);
    this.s16 = 2 * roundUp(N + 8, 8);
    this.nGrouped = N - (N % 8);
    this.spinRows = alloc(lanesAll * this.s8, 'the staging rows');
    this.readRows = alloc(lanesAll * this.s8, 'the staging rows');
    this.biasRows = alloc((lanesAll + 1) * this.s16, 'the staging rows');
    this.progRow = this.biasRows + lanesAll * this.s16;
    for (let b = 0; b < nBlocks; b++) {
      this.blocks.push({
        spinTab: alloc(BL * 4, 'the chains'),
        sparseTab: alloc(BL * 4, 'the chains'),
        sparse: false,
        biasTab: alloc(BL * 4, 'the chains'),
        readTab: alloc(BL * 4, 'the chains'),
        pending: new Array<boolean>(BL).fill(false),
        unsettled: new Array<boolean>(BL).fill(false),
        biasDirty: false,
        plane: alloc(g.planeBytes, 'the chains'),
        bias: alloc(g.planeBytes, 'the chains'),
        phi: alloc(g.NV * PHI.stride, 'the chains'),
        mask: alloc(g.NV * MASK.stride, 'the chains'),
        acc: alloc(this.acc.stride, 'the chains'),
        state: this.ideal ? 0 : alloc(N * g.NV * STATE.stride, 'the chains'),
        prev: this.lat ? alloc(g.planeBytes, 'the chains') : 0,
        count: 0,
      });
    }
    this.blocks.forEach((b, bi) => {
      for (let lane = 0; lane < BL; lane++) {
        const k = bi * BL + lane;
        a.i32[b.spinTab / 4 + lane] = this.spinRows + k * this.s8;
        a.i32[b.readTab / 4 + lane] = this.readRows + k * this.s8;
        a.i32[b.biasTab / 4 + lane] = this.progRow;
      }
    });
    this.capacity = chains;
    this.settleScale = new Float64Array(chains);
    this.own = new Array<boolean>(chains).fill(false);
    this.posOf = new Int32Array(N);
    this.slotOf = new Int32Array(N);
    colourCells.forEach((cells, c) => cells.forEach((i, n) => (this.slotOf[i] = (c === 0 ? n : colourCells[0].length + n) * g.NV * STATE.stride)));
    for (let i = 0; i < N; i++) this.posOf[i] = cellPos(g, i % L, Math.floor(i / L));
    this.posList = alloc(N * 4, 'the cell list');
    a.i32.set(this.posOf, this.posList / 4);
    // moments: per wire (colour-0 cell n, direction d) inside the grid, the byte offsets of its ends' bits
    const wires: number[] = [];
    const pair: number[] = [];
    colourCells[0].forEach((i, n) => {
      for (let d = 0; d < D; d++) {
        const j = spec.layout.nbr[i * D + d];
        if (j >= N) continue;
        wires.push(8 * i, 8 * j, 8 * (n * D + d));
        pair.push(n * D + d);
      }
    });
    this.wirePair = Int32Array.from(pair);
    this.momWires = alloc(Math.max(12, wires.length * 4), 'the moments list');
    a.i32.set(wires, this.momWires / 4);
    this.momBits = alloc(N * 8, 'the moments');
    this.momOut = alloc((N + pair.length) * 4, 'the moments');
    // the cell records of each colour, every cell; program() writes their weights
    this.recW = new Int32Array(N);
    const Rc = this.rec;
    const { POS, CELL, WIREQ, CC, CLS, GAIN, OFF, GAIN64, OFF64, W, SLOT } = Rc.f;
    for (const c of [0, 1] as const) {
      const cells = colourCells[c];
      this.fullRecs[c] = alloc(Math.max(1, cells.length) * Rc.stride, 'the stage');
      this.clampRecs[c] = alloc(Math.max(1, cells.length) * Rc.stride, 'the stage');
      Rc.checkBase(this.fullRecs[c]);
      Rc.checkBase(this.clampRecs[c]);
      const ph = spec.physics;
      cells.forEach((i, n) => {
        const r = this.fullRecs[c] + n * Rc.stride;
        this.recW[i] = W.index(r);
        POS.set(a, r, this.posOf[i]);
        CELL.set(a, r, i);
        WIREQ.set(a, r, spec.layout.wireQ[i]);
        CC.set(a, r, spec.layout.crossCount[i]);
        CLS.set(a, r, classOf[i] * classBytes(BL));
        SLOT.set(a, r, this.slotOf[i]);
        const gain = ph.gain ? ph.gain[i] : 1;
        const off = ph.offset ? ph.offset[i] : 0;
        GAIN.set(a, r, gain);
        OFF.set(a, r, off);
        GAIN64.set(a, r, gain);
        OFF64.set(a, r, off);
      });
    }
    const offs = spec.physics.offset;
    if (offs) for (let i = 0; i < N; i++) this.offMax = Math.max(this.offMax, Math.abs(Math.fround(offs[i])));
    if (boundary === 'torus') {
      const lists: [number[], number[]] = [[], []];
      for (let y = -g.R; y < L + g.R; y++) {
        for (let x = -g.R; x < L + g.R; x++) {
          if (x >= 0 && y >= 0 && x < L && y < L) continue;
          const xs = ((x % L) + L) % L;
          const ys = ((y % L) + L) % L;
          lists[(xs + ys) & 1].push(cellPos(g, x, y), cellPos(g, xs, ys));
        }
      }
      for (const c of [0, 1]) {
        this.pads[c] = alloc(Math.max(8, lists[c].length * 4), 'the torus lists');
        a.i32.set(lists[c], this.pads[c] / 4);
        this.nPads[c] = lists[c].length / 2;
      }
    }
    // momentsAcc(): the cells' spins on a grid laid out as the padded plane, one i64 per cell
    const toGrid = (pos: number) => (pos / g.cellBytes) * 8;
    this.momGrid = alloc(g.Wp * g.Wp * 8, 'the moments');
    this.momCells = alloc(N * 8, 'the moments list');
    for (let i = 0; i < N; i++) {
      a.i32[this.momCells / 4 + 2 * i] = this.posOf[i];
      a.i32[this.momCells / 4 + 2 * i + 1] = toGrid(this.posOf[i]);
    }
    this.momC0 = alloc(Math.max(4, colourCells[0].length * 4), 'the moments list');
    colourCells[0].forEach((i, n) => (a.i32[this.momC0 / 4 + n] = toGrid(this.posOf[i])));
    const padPairs = this.nPads[0] + this.nPads[1];
    this.momPads = alloc(Math.max(8, padPairs * 8), 'the moments list');
    this.nMomPads = padPairs;
    let q = 0;
    for (const c of [0, 1]) for (let e = 0; e < 2 * this.nPads[c]; e++) a.i32[this.momPads / 4 + q++] = toGrid(a.i32[this.pads[c] / 4 + e]);
    this.wsum = new Float64Array(N);
    this.wabs = new Float64Array(N);
    this.st = { kind: 'batch', capacity: chains, latch_calls: 0, cell_updates: 0, exact_decisions: 0, compiles: 0, memory_bytes: a.bytes };
  }

  private module(v: BatchVariant): Exports {
    if (!v.cycle) {
      // the ideal variants, looked up without a key
      const k = (v.masked ? 1 : 0) + (v.perChain ? 2 : 0) + (v.noDivider ? 4 : 0);
      return (this.idealModules[k] ??= this.compile(v));
    }
    return this.compile(v);
  }

  /**
   * The module of a variant (compiled once per thread). Counted in stats.compiles once per engine
   * whether it is compiled here or taken from the thread's cache, so the count is what the run
   * needed, the same for a first run and a second one in the same thread.
   */
  private compile(v: BatchVariant): Exports {
    const c = v.cycle;
    const key = `${v.masked ? 1 : 0}${v.perChain ? 1 : 0}${v.noDivider ? 1 : 0}${c ? `${c.n1},${c.nMid},${c.n2},${c.lat ? 1 : 0}` : ''}`;
    let m = this.modules.get(key);
    if (!m) {
      // the code depends on the geometry, the variant and the table's place only: engines of one thread share it
      const tab = { tabBase: this.tabBase, gOff: this.gOff };
      const codeKey = JSON.stringify([this.g, v, tab]);
      let mod = compiled.get(codeKey);
      if (!mod) {
        mod = new WebAssembly.Module(generateBatch(this.g, v, tab) as Uint8Array<ArrayBuffer>);
        if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
        compiled.set(codeKey, mod);
      }
      m = new WebAssembly.Instance(mod, { e: { m: this.a.memory, exp: Math.exp } }).exports as Exports;
      this.modules.set(key, m);
      this.st.compiles++;
    }
    return m;
  }

  private setI32(name: keyof typeof I32, v: number): void {
    this.a.i32[IX[name]] = v;
  }
  private setF64(name: keyof typeof F64, v: number): void {
    this.a.f64[f64Addr(name) / 8] = v;
  }
  private constF64(slot: number, x: number): void {
    this.a.f64.fill(x, constAddr(slot) / 8, constAddr(slot) / 8 + 2);
  }
  private constF32(slot: number, x: number): void {
    this.f32.fill(x, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private constI32(slot: number, x: number): void {
    this.a.i32.fill(x | 0, constAddr(slot) / 4, constAddr(slot) / 4 + 4);
  }
  private out(name: keyof typeof OUT): number {
    return this.a.f64[OX[name]];
  }
  /** views of the memory (the arena renews them when the memory grows) */
  private get f32(): Float32Array {
    return this.a.f32;
  }
  private i16(): Int16Array {
    return this.a.i16;
  }
  private i8(): Int8Array {
    return this.a.i8;
  }

  program(planes: Planes): void {
    this.settle(); // loaded lanes settle under the planes they were loaded with
    const { N, D, cross } = this.spec.layout;
    if (!planes.integer) throw new EngineRefusal('the many-chain engine needs quantised (integer) planes');
    if (planes.bias.length !== N || planes.w.length !== N * D) throw new RangeError('engine: planes do not match the fabric');
    // what the chains were given under the previous stage goes into the planes as it stood
    this.flushSpins();
    if (this.planes) this.flushBias();
    this.planes = planes;
    const w = planes.w;
    const bias = planes.bias;
    const i16 = this.i16();
    const recW = this.recW;
    const pr = this.progRow / 2;
    const gOff = this.gOff;
    // per cell in one pass: its weight sums and reach, its record's doubled weights (and those on
    // tile-crossing wires), its programmed bias as the bias plane holds it (minus the weight sum, plus the table offset)
    let reach = 0;
    for (let i = 0; i < N; i++) {
      let sum = 0;
      let ab = 0;
      const at = recW[i];
      const base = i * D;
      for (let d = 0; d < D; d++) {
        const x = w[base + d];
        sum += x;
        ab += Math.abs(x);
        i16[at + d] = 2 * x;
        i16[at + D + d] = cross[base + d] ? 2 * x : 0;
      }
      this.wsum[i] = sum;
      this.wabs[i] = ab;
      reach = Math.max(reach, Math.abs(bias[i]) + ab);
      i16[pr + i] = bias[i] - sum + gOff;
    }
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's range (${this.gOff})`);
    this.reach = reach;
    this.tabReach = -1;
    this.sparseProgrammed();
    this.clampLists(planes);
  }

  programClamp(planes: Planes): void {
    const p = this.planes;
    if (!p || planes.w !== p.w || planes.bias !== p.bias || planes.unit !== p.unit || planes.integer !== p.integer) return this.program(planes);
    this.planes = planes;
    this.clampLists(planes);
  }

  /** the latching cells' records of each colour in cell order: all of them, or the unclamped ones copied out */
  private clampLists(planes: Planes): void {
    const { colourCells } = this.spec.layout;
    const u8 = this.a.u8;
    const RB = this.rec.stride;
    const recs: [number, number] = [0, 0];
    for (const c of [0, 1] as const) {
      const cells = colourCells[c];
      const full = this.fullRecs[c];
      let clamped = 0;
      for (let n = 0; n < cells.length; n++) clamped += planes.clamp[cells[n]] ? 1 : 0;
      if (clamped === 0) recs[c] = full;
      else {
        let m = 0;
        for (let n = 0; n < cells.length; n++) {
          if (planes.clamp[cells[n]]) continue;
          u8.copyWithin(this.clampRecs[c] + m * RB, full + n * RB, full + (n + 1) * RB);
          m++;
        }
        recs[c] = this.clampRecs[c];
      }
      this.active[c] = cells.length - clamped;
    }
    this.recs = recs;
    this.st.memory_bytes = this.a.bytes;
  }

  begin(first: number, count: number): void {
    this.settle();
    if (!this.planes) throw new Error('engine: begin() before program()');
    if (!(Number.isInteger(count) && count >= 0 && count <= this.capacity)) throw new RangeError(`engine: ${count} chains, capacity ${this.capacity}`);
    this.flushSpins();
    this.snapValid = false;
    const a = this.a;
    const g = this.g;
    const I = a.i32;
    this.blocks.forEach((b, bi) => {
      b.count = Math.max(0, Math.min(g.BL, count - bi * g.BL));
      for (let lane = 0; lane < g.BL; lane++) {
        const k = bi * g.BL + lane;
        const on = lane < b.count ? -1 : 0;
        const v = lane >> 3;
        const l8 = lane & 7;
        PHI.f.PHI.set(a, b.phi + PHI.stride * v, Math.imul(first + k, CHAIN_STRIDE), l8);
        const m = b.mask + MASK.stride * v;
        MASK.f.M16.set(a, m, on, l8);
        MASK.f.M32.set(a, m, on, l8);
        MASK.f.M64.set(a, m, on, l8);
        // chains without their own biases run on the programmed ones
        I[b.biasTab / 4 + lane] = this.progRow;
        if (this.sparse) I[b.sparseTab / 4 + lane] = this.sparse.prog;
      }
      b.biasDirty = this.anyBiasDirty = true;
      b.sparse = false;
    });
    this.sparseUsed = false;
    this.own.fill(false);
  }

  /** Chain k's own bias row at `at` (I16 units) is written with fields up to `reach`: check the range, point the chain's block at it, mark it dirty. */
  private commitBiasRow(k: number, at: number, reach: number): void {
    if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's range (${this.gOff})`);
    this.reach = reach;
    const b = this.blocks[Math.floor(k / this.g.BL)];
    this.a.i32[b.biasTab / 4 + (k % this.g.BL)] = this.biasRows + k * this.s16;
    this.fullRowAtSparse(k, at);
    b.biasDirty = this.anyBiasDirty = true;
    this.own[k] = true;
  }

  setBias(k: number, bias: Float64Array): void {
    this.settleLane(k);
    // chain k's biases as its lanes of the bias plane hold them (minus the weight sums, plus the table offset)
    const I16 = this.i16();
    const at = (this.biasRows + k * this.s16) / 2;
    const N = this.spec.layout.N;
    let reach = this.reach;
    for (let i = 0; i < N; i++) {
      I16[at + i] = bias[i] - this.wsum[i] + this.gOff;
      reach = Math.max(reach, Math.abs(bias[i]) + this.wabs[i]);
    }
    this.commitBiasRow(k, at, reach);
  }

  /** a chain given whole biases: its values at the sparse cells too (their pass writes them again) */
  private fullRowAtSparse(k: number, at: number): void {
    const sp = this.sparse;
    if (!sp) return;
    const I16 = this.i16();
    const row = (sp.rows + k * sp.stride) / 2;
    for (let n = 0; n < sp.cells.length; n++) I16[row + n] = I16[at + sp.cells[n]];
    const b = this.blocks[Math.floor(k / this.g.BL)];
    this.a.i32[b.sparseTab / 4 + (k % this.g.BL)] = sp.rows + k * sp.stride;
  }

  /** the sparse cells become `cells`: their plane positions, the programmed values and weight sums there */
  private adoptSparse(cells: Int32Array): void {
    const a = this.a;
    if (this.sparse) for (const at of [this.sparse.pos, this.sparse.rows, this.sparse.prog]) a.release(at);
    const V = cells.length;
    const stride = 2 * roundUp(V + 8, 8);
    const lanesAll = this.blocks.length * this.g.BL;
    const pos = a.alloc(Math.max(4, V * 4));
    const rows = a.alloc(lanesAll * stride);
    const prog = a.alloc(stride);
    if (pos < 0 || rows < 0 || prog < 0) throw new EngineRefusal('not enough WebAssembly memory for the input biases');
    for (let n = 0; n < V; n++) a.i32[pos / 4 + n] = this.posOf[cells[n]];
    this.sparse = { cells, pos, rows, stride, prog, wsum: new Float64Array(V), wabs: new Float64Array(V) };
    this.sparseProgrammed();
    for (const b of this.blocks) for (let lane = 0; lane < this.g.BL; lane++) a.i32[b.sparseTab / 4 + lane] = prog;
    // chains given whole biases since begin() (no sparse ones yet): their values at the new cells
    for (let k = 0; k < this.capacity; k++) if (this.own[k]) this.fullRowAtSparse(k, (this.biasRows + k * this.s16) / 2);
  }

  /** the programmed values and weight sums at the sparse cells (after program()) */
  private sparseProgrammed(): void {
    const sp = this.sparse;
    if (!sp) return;
    const I16 = this.i16();
    for (let n = 0; n < sp.cells.length; n++) {
      const i = sp.cells[n];
      I16[sp.prog / 2 + n] = I16[this.progRow / 2 + i];
      sp.wsum[n] = this.wsum[i];
      sp.wabs[n] = this.wabs[i];
    }
  }

  setBiasAt(k: number, cells: Int32Array, values: Float64Array): void {
    this.settleLane(k);
    if (cells.length !== values.length) throw new RangeError(`engine: ${cells.length} cells, ${values.length} values`);
    if (this.sparse?.cells !== cells && !this.sparseUsed) this.adoptSparse(cells);
    const sp = this.sparse!;
    if (sp.cells === cells) {
      // the values at the sparse cells alone: the bias plane gets the programmed row, then these
      const I16 = this.i16();
      const row = sp.rows + k * sp.stride;
      const at = row / 2;
      let reach = this.reach;
      for (let n = 0; n < cells.length; n++) {
        I16[at + n] = values[n] - sp.wsum[n] + this.gOff;
        reach = Math.max(reach, Math.abs(values[n]) + sp.wabs[n]);
      }
      if (reach > this.gOff) throw new EngineRefusal(`fields up to ${reach} units exceed the engine's range (${this.gOff})`);
      this.reach = reach;
      const b = this.blocks[Math.floor(k / this.g.BL)];
      this.a.i32[b.biasTab / 4 + (k % this.g.BL)] = this.progRow;
      this.a.i32[b.sparseTab / 4 + (k % this.g.BL)] = row;
      b.sparse = true;
      this.sparseUsed = true;
      b.biasDirty = this.anyBiasDirty = true;
      this.own[k] = true;
      return;
    }
    // other cells than the sparse ones: a whole row, the programmed one with the given cells changed
    const I16 = this.i16();
    const at = (this.biasRows + k * this.s16) / 2;
    const N = this.spec.layout.N;
    I16.copyWithin(at, this.progRow / 2, this.progRow / 2 + N);
    let reach = this.reach;
    for (let n = 0; n < cells.length; n++) {
      const i = cells[n];
      I16[at + i] = values[n] - this.wsum[i] + this.gOff;
      reach = Math.max(reach, Math.abs(values[n]) + this.wabs[i]);
    }
    this.commitBiasRow(k, at, reach);
  }

  /** the bias planes of blocks whose lanes' biases changed, from their rows */
  private flushBias(): void {
    if (!this.anyBiasDirty) return;
    this.anyBiasDirty = false;
    const m = this.module({ masked: false, perChain: false, cycle: null });
    const sp = this.sparse;
    for (const b of this.blocks) {
      if (!b.biasDirty) continue;
      this.writeRows(m.rowsIn16, b.bias, b.biasTab, 2);
      if (b.sparse && sp) this.writeRows(m.rowsIn16, b.bias, b.sparseTab, 2, sp.pos, sp.cells);
      b.biasDirty = false;
    }
  }

  /**
   * rows -> a block plane with a transpose function (rowsIn8: spins, rowsIn16: values), the cells
   * past the last whole group of eight one lane at a time
   */
  private writeRows(fn: () => void, plane: number, tab: number, bytes: 1 | 2, list = this.posList, cells: Int32Array | null = null): void {
    const g = this.g;
    // entry n of a row is cell cells[n] (default: cell n, every cell)
    const n = cells ? cells.length : this.spec.layout.N;
    const grouped = n - (n % 8);
    this.setI32('bPlane', plane);
    this.setI32('bCells', list);
    this.setI32('bCount', grouped / 8);
    this.setI32('bRows', tab);
    fn();
    if (grouped === n) return;
    const I16 = this.i16();
    const I8 = this.i8();
    const I = this.a.i32;
    for (let lane = 0; lane < g.BL; lane++) {
      const row = I[tab / 4 + lane];
      const at = plane / 2 + lane;
      for (let e = grouped; e < n; e++) I16[at + this.posOf[cells ? cells[e] : e] / 2] = bytes === 2 ? I16[row / 2 + e] : I8[row + e] > 0 ? -1 : 0;
    }
  }

  private refreshPads(b: Block, plane: number, c: number): void {
    if (this.nPads[c] === 0) return;
    const m = this.module({ masked: false, perChain: false, cycle: null });
    this.setI32('bPlane', plane);
    this.setI32('bPads', this.pads[c]);
    this.setI32('bNPads', this.nPads[c]);
    m.pads();
    void b;
  }

  /** the spins loaded since the planes were last written, into the planes (and the previous-spin planes of delayed links) */
  private flushSpins(): void {
    if (!this.anyPending) return;
    this.anyPending = false;
    const g = this.g;
    const N = this.spec.layout.N;
    for (const b of this.blocks) {
      let any = false;
      let all = true;
      for (let lane = 0; lane < g.BL; lane++) {
        if (b.pending[lane]) any = true;
        else if (lane < b.count) all = false;
      }
      if (!any) continue;
      this.snapValid = false;
      const planes = this.lat ? [b.plane, b.prev] : [b.plane];
      if (all) {
        const m = this.module({ masked: false, perChain: false, cycle: null });
        for (const p of planes) this.writeRows(m.rowsIn8, p, b.spinTab, 1);
      } else {
        // some held chains were not loaded: write the loaded ones alone, the others keep their spins
        const I16 = this.i16();
        const I8 = this.i8();
        for (let lane = 0; lane < g.BL; lane++) {
          if (!b.pending[lane]) continue;
          const row = this.a.i32[b.spinTab / 4 + lane];
          for (const p of planes) {
            const at = (p + 2 * lane) / 2;
            for (let i = 0; i < N; i++) I16[at + this.posOf[i] / 2] = I8[row + i] > 0 ? -1 : 0;
          }
        }
      }
      for (const p of planes) for (const c of [0, 1]) this.refreshPads(b, p, c);
      b.pending.fill(false);
    }
  }

  load(k: number, spins: ArrayLike<number>, beta: number): void {
    const g = this.g;
    const { N } = this.spec.layout;
    const b = this.blocks[Math.floor(k / g.BL)];
    const lane = k % g.BL;
    const I8 = this.i8();
    const row = this.spinRows + k * this.s8;
    if (spins instanceof Int8Array) I8.set(spins.subarray(0, N), row);
    else for (let i = 0; i < N; i++) I8[row + i] = spins[i] > 0 ? 1 : -1;
    b.pending[lane] = true;
    this.anyPending = true;
    this.snapValid = false;
    if (!this.own[k]) b.biasDirty = this.anyBiasDirty = true; // it runs on the programmed biases
    if (this.ideal) return;
    // every node settles to its field (the reference's operations) before the lane's next latch: settle()
    b.unsettled[lane] = true;
    this.anyUnsettled = true;
    this.settleScale[k] = Math.fround(2 * beta * this.planes!.unit);
  }

  /** before chain k's biases change: if it is loaded and unsettled, it settles under the ones it was loaded with */
  private settleLane(k: number): void {
    if (this.anyUnsettled && this.blocks[Math.floor(k / this.g.BL)].unsettled[k % this.g.BL]) this.settle();
  }

  /**
   * The cycle physics' load: every node of every loaded lane settles to its field, node and target
   * at the drive h = f(f(G) f(2 beta unit)) (the reference's operations), the sigmoid cache at the
   * estimate sigma~(h) a latch would leave there (emit.ts settle(); the cache only feeds the fast
   * decision's estimate, whose bound covers sigma~'s error, so the spins are the reference's). The
   * fields come from the kernel's own integer sum over the block's planes (fields(): G exact, as
   * the latch computes it), so the planes are written first. Runs before a latch, and before
   * anything that would change what a loaded lane settles to (its biases, the programmed planes,
   * begin()): the result is the one at load time. In WebAssembly, all lanes of a vector at once.
   */
  private settle(): void {
    if (!this.anyUnsettled) return;
    this.anyUnsettled = false;
    this.flushSpins();
    this.flushBias();
    const g = this.g;
    const a = this.a;
    const { colourCells } = this.spec.layout;
    const recBytes = g.NV * 16;
    if (this.fieldsOut < 0) {
      const out = a.alloc(Math.max(colourCells[0].length, colourCells[1].length) * recBytes);
      if (out < 0) throw new EngineRefusal('not enough WebAssembly memory for the fields');
      this.fieldsOut = out;
    }
    if (this.settleLanes < 0) {
      const at = a.alloc(8 * g.BL);
      if (at < 0) throw new EngineRefusal("not enough WebAssembly memory for the loaded lanes' drive scales");
      this.settleLanes = at;
    }
    const m = this.module({ masked: false, perChain: false, cycle: null });
    for (let bi = 0; bi < this.blocks.length; bi++) {
      const b = this.blocks[bi];
      if (!b.unsettled.some(Boolean)) continue;
      // the block's lanes to settle (i32 masks) and their drive scales (f32), lane by lane (settle() reads them per vector)
      const scales = this.f32;
      const masks = a.i32;
      const sc = this.settleLanes / 4;
      const mk = sc + g.BL;
      for (let lane = 0; lane < g.BL; lane++) {
        const on = b.unsettled[lane];
        b.unsettled[lane] = false;
        masks[mk + lane] = on ? -1 : 0;
        scales[sc + lane] = on ? this.settleScale[bi * g.BL + lane] : 0;
      }
      this.setI32('bPlane', b.plane);
      this.setI32('bBias', b.bias);
      this.setI32('bState', b.state);
      this.setI32('bScale', this.settleLanes);
      this.setI32('bSettle', this.settleLanes + 4 * g.BL);
      for (const c of [0, 1] as const) {
        this.setI32('bCells', this.fullRecs[c]);
        this.setI32('bCount', colourCells[c].length);
        this.setI32('bOut', this.fieldsOut);
        m.fields();
        m.settle();
      }
    }
  }

  keep(k: number, beta: number): void {
    if (this.ideal) {
      // the spins stay in the lane's planes as they are; the lane runs on its biases as load() would have it
      if (!this.own[k]) {
        const b = this.blocks[Math.floor(k / this.g.BL)];
        b.biasDirty = this.anyBiasDirty = true;
      }
      return;
    }
    const s = new Int8Array(this.spec.layout.N);
    this.readSpins(k, s);
    this.load(k, s, beta);
  }

  /** the decision table for drive scale hScale over |G| <= reach (the reference's expressions) */
  private table(hScale: number): void {
    if (hScale === this.tabScale && this.reach <= this.tabReach) return;
    const vsv = this.spec.physics.vsOverVdd;
    const I = this.a.i32;
    const at = this.tabBase / 4;
    for (let G = -this.reach; G <= this.reach; G++) {
      const h = G * hScale;
      const e = at + 2 * (G + this.gOff);
      I[e] = (latchThreshold(sigmoid(h)) ^ 0x80000000) | 0;
      I[e + 1] = dividerQ(h, vsv);
    }
    this.tabScale = hScale;
    this.tabReach = this.reach;
  }

  /** the cycle kernel's segment constants for an interval (written when the interval changes) */
  private cycleVariant(hs: HalfSweep): BatchVariant['cycle'] {
    const ph = this.spec.physics;
    const S = ph.substeps;
    const n1 = hs.seg1Cycles * S;
    const nMid = ph.latency * S;
    const n2 = (hs.ownCycles - ph.latency) * S;
    if (!(n1 >= 0 && n2 >= 0 && n1 + nMid + n2 <= MAX_SUBSTEPS)) throw new RangeError(`engine: a latch interval of ${n1 + nMid + n2} substeps`);
    const key = `${n1},${nMid},${n2}`;
    if (this.lastCycle !== key) {
      const bPow = rngMemory32(ph.aRng, n1 + nMid + n2);
      const pw = powers32(ph.aBias, Math.max(n1, nMid, n2));
      this.setF64('aB', ph.aBias);
      this.setF64('aR', ph.aRng);
      this.setF64('bPow', bPow);
      this.constF64(KC.PW1, pw[n1]);
      this.constF64(KC.PWM, pw[nMid]);
      this.constF64(KC.PW2, pw[n2]);
      this.constF32(KC.FPW1, pw[n1]);
      this.constF32(KC.FPWM, pw[nMid]);
      this.constF32(KC.FPW2, pw[n2]);
      this.constF32(KC.BPOW, bPow);
      this.constF32(KC.EE, SIGMA_ERR);
      const [k0, sk] = estimateSlop(n1 + nMid + n2, ph.aRng);
      this.constF32(KC.K0, k0);
      this.constF32(KC.SK, sk);
      const seg = new Float64Array(12);
      segmentConstants([n1, nMid, n2], pw, ph.aRng, seg, 0);
      for (let q = 0; q < 12; q++) this.constF32(KC.C + q, seg[q]);
      const z = fastBound(n1 + nMid + n2, ph.aRng, seg, this.offMax);
      this.constF32(KC.ZB1, z.ZB1);
      this.constF32(KC.ZB2, z.ZB2);
      this.constF32(KC.ZK, z.ZK);
      this.constF32(KC.ZC1, z.ZC1);
      this.constF32(KC.ZC2, z.ZC2);
      const bits = new Int32Array(new Float32Array([z.Pup, z.Pdown]).buffer);
      this.constI32(KC.ZB, bits[0] ^ bits[1]);
      this.constI32(KC.ZO, bits[1]);
      this.lastCycle = key;
    }
    return { n1, nMid, n2, lat: this.lat };
  }

  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null, energy = true): void {
    this.settle();
    this.flushSpins();
    this.flushBias();
    this.snapValid = false;
    const c = hs.colour;
    const g = this.g;
    const a = this.a;
    const hScale = 2 * hs.beta * this.planes!.unit;
    let cycle: BatchVariant['cycle'] = null;
    if (this.ideal) this.table(hScale);
    else {
      cycle = this.cycleVariant(hs);
      this.constF32(KC.FTB, hScale);
      this.constF64(KC.VSV, this.spec.physics.vsOverVdd);
      this.constF32(KC.DV, 256 * Math.fround(this.spec.physics.vsOverVdd));
    }
    this.setI32('bKey', hs.key | 0);
    this.setI32('bFix', this.fixBuf);
    const n = this.active[c];
    for (let bi = 0; bi < this.blocks.length; bi++) {
      const b = this.blocks[bi];
      if (b.count === 0) continue;
      // without energy the kernel leaves the divider terms out (per-chain tallies keep them: read, not added)
      const m = this.module({ masked: b.count < g.BL, perChain: Boolean(perChain), cycle, ...(energy || perChain ? {} : { noDivider: true }) });
      this.setI32('bPlane', b.plane);
      this.setI32('bBias', b.bias);
      this.setI32('bPhi', b.phi);
      this.setI32('bMask', b.mask);
      this.setI32('bAcc', b.acc);
      this.setI32('bState', b.state);
      this.setI32('bPrev', b.prev);
      if (perChain) a.u8.fill(0, b.acc, b.acc + this.acc.stride);
      for (let from = 0; from < n; from += CELLS_PER_CALL) {
        const cnt = Math.min(CELLS_PER_CALL, n - from);
        this.setI32('bCells', this.recs![c] + from * this.rec.stride);
        this.setI32('bCount', cnt);
        m.latch();
        sum.toggles += this.out('toggles');
        sum.wireQ += this.out('wire');
        sum.linkToggles += this.out('link');
        this.st.exact_decisions += this.out('fallbacks');
        if (perChain) {
          const d = this.readPerChain(b, perChain, bi * g.BL, cnt, energy);
          if (energy) sum.dividerQ += d;
        } else if (energy) sum.dividerQ += this.out('divider');
      }
      sum.latches += n * b.count;
      if (perChain) for (let lane = 0; lane < b.count; lane++) perChain[bi * g.BL + lane].latches += n;
      this.refreshPads(b, b.plane, c);
      if (this.lat) this.refreshPads(b, b.prev, c);
      this.st.cell_updates += n * b.count;
    }
    this.st.latch_calls++;
  }

  /**
   * A latch call of `cells` cells: block b's per-chain tallies into the chains' tallies from
   * `first`: each lane's divider terms (the cycle kernel leaves out DQK of every term: the lane holds
   * -sum bits(m) mod 2^32, emit.ts dividerTerms), and its toggles per tally class (i16, the vector's
   * lanes in the first 16 bytes of the class's 32-byte slot) with the wire and link tallies they
   * carry; then both cleared. Returns the call's divider terms over the block's chains.
   */
  private readPerChain(b: Block, per: Tally[], first: number, cells: number, energy: boolean): number {
    const a = this.a;
    const i32 = a.i32;
    const i16 = this.i16();
    const div = (b.acc + this.acc.off.DIV) >> 2;
    const tog = b.acc + this.acc.off.TOG;
    const cb = classBytes(this.g.BL);
    // a lane's true sum is below 2^31 (CELLS_PER_CALL), so the i32 arithmetic mod 2^32 gives it exactly
    const dq = this.ideal ? 0 : Math.imul(cells, DQK);
    let total = 0;
    for (let lane = 0; lane < b.count; lane++) {
      const t = per[first + lane];
      const d = (dq + i32[div + lane]) | 0;
      if (energy) t.dividerQ += d;
      total += d;
      const at = (tog + 32 * (lane >> 3) + 2 * (lane & 7)) >> 1;
      for (let c = 0; c < this.classWire.length; c++) {
        const x = i16[at + (c * cb) / 2];
        if (x === 0) continue;
        t.toggles += x;
        t.wireQ += x * this.classWire[c];
        t.linkToggles += x * this.classLinks[c];
      }
    }
    a.u8.fill(0, b.acc, b.acc + this.acc.stride);
    return total;
  }

  readSpins(k: number, out: Int8Array | Float64Array): void {
    this.flushSpins();
    const N = this.spec.layout.N;
    if (!this.snapValid) {
      // every held chain's spins into the snapshot rows at once
      const m = this.module({ masked: false, perChain: false, cycle: null });
      const g = this.g;
      const I16 = this.i16();
      const I8 = this.i8();
      for (const b of this.blocks) {
        if (b.count === 0) continue;
        this.setI32('bPlane', b.plane);
        this.setI32('bCells', this.posList);
        this.setI32('bCount', this.nGrouped / 8);
        this.setI32('bRows', b.readTab);
        m.rowsOut8();
        for (let lane = 0; lane < b.count && this.nGrouped < N; lane++) {
          const row = this.a.i32[b.readTab / 4 + lane];
          for (let i = this.nGrouped; i < N; i++) I8[row + i] = I16[(b.plane + 2 * lane + this.posOf[i]) / 2] !== 0 ? 1 : -1;
        }
        void g;
      }
      this.snapValid = true;
    }
    const row = this.readRows + k * this.s8;
    out.set(this.i8().subarray(row, row + N));
  }

  readPacked(out: Uint8Array, stride: number): void {
    this.flushSpins();
    const g = this.g;
    const N = this.spec.layout.N;
    const bytes = (N + 7) >> 3;
    if (stride < bytes) throw new RangeError(`engine: packed stride ${stride} < ${bytes}`);
    const a = this.a;
    // the kernel packs 64 cells (8 bytes per lane) at a time, into rows of `bytes` (its last group's
    // stores run up to 8 bytes past a row: the next row's first bytes, stored after them, and slack)
    const groups = Math.ceil(bytes / 8);
    if (this.packList < 0) {
      const list = a.alloc(groups * 64 * 4);
      const o = a.alloc(this.blocks.length * g.BL * bytes + 16);
      if (list < 0 || o < 0) throw new EngineRefusal('not enough WebAssembly memory for packed spins');
      // the bits past N read cell 0 and are cleared below
      for (let i = 0; i < groups * 64; i++) a.i32[list / 4 + i] = this.posOf[i < N ? i : 0];
      this.packList = list;
      this.packOut = o;
    }
    const mod = this.module({ masked: false, perChain: false, cycle: null });
    const tail = N & 7 ? (1 << (N & 7)) - 1 : 0xff;
    for (let bi = 0; bi < this.blocks.length; bi++) {
      const b = this.blocks[bi];
      if (b.count === 0) continue;
      const base = this.packOut + bi * g.BL * bytes;
      this.setI32('bPlane', b.plane);
      this.setI32('bCells', this.packList);
      this.setI32('bCount', groups);
      this.setI32('bOut', base);
      this.setI32('bStride', bytes);
      mod.pack();
      const u8 = a.u8;
      const first = bi * g.BL;
      if (stride === bytes) out.set(u8.subarray(base, base + b.count * bytes), first * bytes);
      else for (let lane = 0; lane < b.count; lane++) out.set(u8.subarray(base + lane * bytes, base + (lane + 1) * bytes), (first + lane) * stride);
      for (let lane = 0; lane < b.count; lane++) out[(first + lane) * stride + bytes - 1] &= tail;
    }
  }

  accumulateMoments(m: MomentSums): void {
    this.flushSpins();
    const N = this.spec.layout.N;
    const I = this.a.i32;
    const mod = this.module({ masked: false, perChain: false, cycle: null });
    const wp = this.wirePair;
    const own = this.ownSums.get(m);
    for (const b of this.blocks) {
      if (b.count === 0) continue;
      // the valid lanes as an i64 (two words, low first)
      I[i32Addr('bValidLo') / 4] = b.count >= 32 ? -1 : (2 ** b.count - 1) | 0;
      I[i32Addr('bValidHi') / 4] = b.count >= 64 ? -1 : b.count <= 32 ? 0 : (2 ** (b.count - 32) - 1) | 0;
      this.setI32('bPlane', b.plane);
      this.setI32('bCells', this.posList);
      this.setI32('bCount', N);
      this.setI32('bBits', this.momBits);
      this.setI32('bWires', this.momWires);
      this.setI32('bNWires', wp.length);
      if (own) {
        // added to the sums' integer accumulators here; into their arrays when they are read
        this.setI32('bSumSpin', own.accSpin);
        this.setI32('bSumPair', own.accPair);
        this.setI32('bCells', this.momCells);
        this.setI32('bBits', this.momGrid);
        this.setI32('bPads', this.momPads);
        this.setI32('bNPads', this.nMomPads);
        this.setI32('bWires', this.momC0);
        this.setI32('bNWires', this.spec.layout.colourCells[0].length);
        mod.momentsAcc();
        own.dirty = true;
      } else {
        this.setI32('bOut', this.momOut);
        mod.moments();
        const out = this.momOut / 4;
        for (let i = 0; i < N; i++) m.spin[i] += 2 * I[out + i] - b.count;
        const outW = out + N;
        for (let q = 0; q < wp.length; q++) m.pair[wp[q]] += b.count - 2 * I[outW + q];
      }
      m.samples += b.count;
    }
  }

  /**
   * Sums whose accumulateMoments adds integer counts in this engine's memory; reading `spin` or
   * `pair` first adds them to the arrays (exact: every partial sum is an integer below 2^53, so
   * the arrays hold what adding call by call gives).
   */
  momentSums(): MomentSums {
    const { N, D, colourCells } = this.spec.layout;
    const nPair = colourCells[0].length * D;
    const accSpin = this.a.alloc(N * 4);
    const accPair = this.a.alloc(nPair * 4);
    if (accSpin < 0 || accPair < 0) throw new EngineRefusal('not enough WebAssembly memory for moment sums');
    const st: OwnSums = { spin: new Float64Array(N), pair: new Float64Array(nPair), accSpin, accPair, dirty: false };
    const flush = () => this.flushSums(st);
    const m = {
      samples: 0,
      get spin(): Float64Array {
        flush();
        return st.spin;
      },
      get pair(): Float64Array {
        flush();
        return st.pair;
      },
    };
    this.ownSums.set(m, st);
    return m;
  }

  /** the integer sums added since the last read, into the sums' arrays (the wires inside the grid), and zeroed */
  private flushSums(st: OwnSums): void {
    if (!st.dirty) return;
    st.dirty = false;
    const N = this.spec.layout.N;
    const I = this.a.i32;
    const s = st.accSpin / 4;
    for (let i = 0; i < N; i++) st.spin[i] += I[s + i];
    const p = st.accPair / 4;
    const wp = this.wirePair;
    for (let q = 0; q < wp.length; q++) st.pair[wp[q]] += I[p + wp[q]];
    I.fill(0, s, s + N);
    I.fill(0, p, p + st.pair.length);
  }

  stats(): EngineStats {
    return { ...this.st, memory_bytes: this.a.bytes };
  }

  dispose(): void {
    this.modules.clear();
  }
}
