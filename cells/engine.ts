/**
 * The latch-engine interface: what the clock (sim/) needs from whatever computes the cells'
 * latches. An engine owns the state of a batch of chains that share one programmed stage (weights,
 * base biases, clamp mask); each chain may carry its own biases (the DTM input clamp) and its own
 * spins. The physics is cells/physics.ts; engines differ only in how fast they compute it:
 *
 *   reference  cells/reference.ts   the model written out cell by cell, chain by chain (TypeScript)
 *   wasm       cells/wasm/engine.ts one chain at a time, four cells per SIMD vector (generated code)
 *   batch      cells/wasm/batch/    many chains at a time, chains in SIMD lanes (generated code)
 *
 * Every engine gives the same bits for the same chains: spins, node values, tallies
 * (test/engines.test.ts). cells/select.ts is the only place that knows all of them.
 *
 * Chains are numbered globally (the image, or the chain of a Boltzmann-machine run); the number
 * enters each chain's draws (rng/counter.ts latchDraw), so results do not depend on which batch,
 * engine or worker ran a chain.
 */
import type { Planes } from './planes.js';

export type EngineKind = 'reference' | 'wasm' | 'batch';
export type EngineChoice = EngineKind | 'auto';
export const ENGINE_CHOICES: EngineChoice[] = ['auto', 'reference', 'wasm', 'batch'];

/** The fabric as the engines see it (sim/chip.ts builds it from fabric/). */
export interface FabricLayout {
  L: number;
  N: number;
  D: number;
  dirs: readonly (readonly [number, number])[];
  boundary: 'open' | 'torus';
  /** neighbour of (cell, direction); N (the pad, spin 0) for a wire that leaves an open grid */
  nbr: Int32Array;
  /** 1 = the wire of (cell, direction) crosses a tile boundary (a link) */
  cross: Uint8Array;
  /** tile-crossing wires a cell drives */
  crossCount: Uint8Array;
  /** wire length a cell drives, in 1/WIRE_Q pitches (physics.ts) */
  wireQ: Int32Array;
  /** the two colours' cells in cell order */
  colourCells: readonly [Int32Array, Int32Array];
}

/** The circuit constants of one chip (sim/chip.ts). */
export interface CellPhysics {
  /** per analog substep: exp(-dt / tau_bias), exp(-dt / tau_rng) (0 when tau = 0) */
  aBias: number;
  aRng: number;
  substeps: number;
  /** per-cell drive gain and offset from mismatch (u = gain h + offset); null without mismatch */
  gain: Float64Array | null;
  offset: Float64Array | null;
  /** V_s,nominal / Vdd: node fraction f = 0.5 + vsOverVdd * V */
  vsOverVdd: number;
  /** extra cycles before a tile-crossing neighbour's new value arrives */
  latency: number;
  /** cycles of each colour's phase (clock.phase_cycles): a latch interval spans two phases */
  phaseCycles: number;
}

/** substeps per latch interval the generated cycle kernels take (a bound on their code size and time) */
export const MAX_SUBSTEPS = 100000;

/**
 * Why the WebAssembly engines cannot run this physics (null when they can): a latch interval (two
 * phases of analog substeps) beyond MAX_SUBSTEPS. The reference engine has no such bound.
 */
export function intervalRefusal(p: CellPhysics): string | null {
  if (isIdealPhysics(p)) return null;
  const n = 2 * p.phaseCycles * p.substeps;
  return n > MAX_SUBSTEPS ? `a latch interval of ${n} analog substeps (2 x clock.phase_cycles x clock.analog_substeps) is beyond its ${MAX_SUBSTEPS}` : null;
}

export interface EngineSpec {
  layout: FabricLayout;
  physics: CellPhysics;
}

/** No relaxation, no mismatch, no link latency: P = sigma(h) exactly. */
export function isIdealPhysics(p: CellPhysics): boolean {
  return p.aBias === 0 && p.aRng === 0 && p.gain === null && p.latency === 0;
}

/** One colour's latch edge. */
export interface HalfSweep {
  colour: 0 | 1;
  /** cycles since the colour's previous latch before its neighbours changed (0 in a chain's first sweep) */
  seg1Cycles: number;
  /** cycles of the colour's own phase */
  ownCycles: number;
  beta: number;
  /** the draw stream of this half-sweep: a key of (seed, chip, stage, sweep) */
  key: number;
}

/** Integer tallies of latches (physics.ts), summed over cells and, in a batch tally, over chains. */
export interface Tally {
  latches: number;
  toggles: number;
  /** wire length driven by toggling cells, 1/WIRE_Q pitches */
  wireQ: number;
  linkToggles: number;
  /** divider terms, 1/DIVIDER_Q units */
  dividerQ: number;
}

export function newTally(): Tally {
  return { latches: 0, toggles: 0, wireQ: 0, linkToggles: 0, dividerQ: 0 };
}

export function resetTally(t: Tally): void {
  t.latches = t.toggles = t.wireQ = t.linkToggles = t.dividerQ = 0;
}

export function addTally(a: Tally, b: Tally): void {
  a.latches += b.latches;
  a.toggles += b.toggles;
  a.wireQ += b.wireQ;
  a.linkToggles += b.linkToggles;
  a.dividerQ += b.dividerQ;
}

export interface EngineStats {
  kind: EngineKind;
  /** chains the instance holds at most */
  capacity: number;
  latch_calls: number;
  cell_updates: number;
  /** latches the fast engines decided with the exact expression (the estimate could not) */
  exact_decisions: number;
  /**
   * generated modules (kernels) the engine needed: compiled for it, or taken from its thread's cache
   * of compiled code (the batch engine's), so a function of the run, not of what ran before it
   */
  compiles: number;
  /** bytes of engine memory (WebAssembly arena or typed arrays) */
  memory_bytes: number;
  /** threads one chain is split over by bands of rows (cells/wasm/tiles.ts); absent: one */
  tiles?: number;
}

/**
 * Spin and bias sums of a batch, for moments: sum over chains (and calls) of s_i, and of
 * s_i s_j for every wire, indexed (colour-0 cell c0 in colourCells[0] order, direction d): every
 * wire joins a colour-0 cell to a colour-1 cell, so this lists each wire exactly once; entries of
 * wires that leave an open grid stay 0. `samples` counts chain-states added.
 */
export interface MomentSums {
  samples: number;
  spin: Float64Array; // N
  pair: Float64Array; // N0 * D
}

export function newMomentSums(layout: FabricLayout): MomentSums {
  return { samples: 0, spin: new Float64Array(layout.N), pair: new Float64Array(layout.colourCells[0].length * layout.D) };
}

/**
 * Adds one chain-state to the sums (accumulateMoments of the engines that hold spins as numbers): s holds the
 * N spins (±1) and a 0 at index N, the absent neighbour of an open grid's edge cells.
 */
export function addChainMoments(m: MomentSums, layout: FabricLayout, s: ArrayLike<number>): void {
  const { D, nbr, colourCells, N } = layout;
  const c0 = colourCells[0];
  for (let i = 0; i < N; i++) m.spin[i] += s[i];
  for (let n = 0; n < c0.length; n++) {
    const i = c0[n];
    for (let d = 0; d < D; d++) m.pair[n * D + d] += s[i] * s[nbr[i * D + d]];
  }
  m.samples++;
}

/**
 * keep() for an engine that reads chain k's spins out and loads them back (the reference and the
 * one-chain engines); the many-chain engine continues in place instead.
 */
export function keepByReload(engine: Pick<LatchEngine, 'readSpins' | 'load'>, N: number, k: number, beta: number): void {
  const s = new Float64Array(N);
  engine.readSpins(k, s);
  engine.load(k, s, beta);
}

/** `bias` with cells[n] set to values[n] (a new array): setBiasAt's biases as setBias takes them */
export function biasWith(bias: Float64Array, cells: Int32Array, values: Float64Array): Float64Array {
  const b = bias.slice();
  for (let n = 0; n < cells.length; n++) b[cells[n]] = values[n];
  return b;
}

export interface LatchEngine {
  readonly kind: EngineKind;
  /** chains this instance holds at most */
  readonly capacity: number;
  /**
   * Write a stage: weights, base biases and clamp mask, shared by every chain of the batch. The
   * chains are begun again (begin()) before they latch under it: what a chain's own biases mean
   * across a change of weights is not defined (the engines store them relative to the weights).
   */
  program(planes: Planes): void;
  /**
   * The programmed stage with another clamp mask: `planes` holds the weights and biases last
   * programmed (the same arrays, unchanged since) and its own clamp mask. What program(planes)
   * would do, without rewriting the weights (a training step's two phases).
   */
  programClamp(planes: Planes): void;
  /** Hold chains first .. first + count - 1 (global numbers); per-chain biases reset to the programmed ones. */
  begin(first: number, count: number): void;
  /** Chain k's own biases (plane units, all N cells): the DTM input clamp. Before load(). */
  setBias(k: number, bias: Float64Array): void;
  /**
   * Chain k's own biases given as the cells where they differ from the programmed ones: cell
   * cells[n] gets values[n] (plane units). The same as setBias(k, biasWith(programmed, cells,
   * values)); the DTM input clamp touches only the visible cells. Before load().
   */
  setBiasAt(k: number, cells: Int32Array, values: Float64Array): void;
  /** Chain k's initial spins (+-1; clamped cells hold theirs); every bias node settles to its field at beta. */
  load(k: number, spins: ArrayLike<number>, beta: number): void;
  /**
   * Chain k starts from the spins its slot ended the previous batch with: load(k, those spins,
   * beta), without reading them out and back (chains that continue where others stopped, e.g. a
   * training step's negative chains from its positive ones).
   */
  keep(k: number, beta: number): void;
  /**
   * Latch one colour in every held chain; adds the batch's tallies to `sum` and, if given, chain k's
   * to perChain[k]. With `energy` false the caller reads no energy (training): the divider terms,
   * the one tally whose arithmetic the latch pays for beyond its toggles, are left out (`dividerQ`
   * of sum and perChain unchanged); spins, nodes and every other tally are the same.
   */
  latch(hs: HalfSweep, sum: Tally, perChain?: Tally[] | null, energy?: boolean): void;
  /** Chain k's spins (+-1) into out[0..N-1]. */
  readSpins(k: number, out: Int8Array | Float64Array): void;
  /**
   * Optional fast read of every held chain's spins, bit-packed: chain k's at out[k * stride ..],
   * cell i at byte i >> 3, bit i & 7, 1 = spin +1, bits past N zero (the trace's packing).
   */
  readPacked?(out: Uint8Array, stride: number): void;
  /** Add every held chain's spins and wire products to the sums. */
  accumulateMoments(m: MomentSums): void;
  /** Zeroed sums for this engine's fabric that accumulateMoments adds to fastest (any MomentSums of the fabric works too). */
  momentSums(): MomentSums;
  stats(): EngineStats;
  /** Give back memory; the instance must not be used afterwards. */
  dispose(): void;
}

/** A reason an engine cannot run a configuration (select.ts logs it once and records it). */
export class EngineRefusal extends Error {}
