/**
 * The `dtca bench` workload (sim/bench.ts: G12, random weights U(-0.25, 0.25), biases
 * U(-0.1, 0.1)) on one engine, one sweep per step(): what the interleaved measuring scripts
 * (cycle-ratio.ts, tiles-ratio.ts, split-warmup.ts) time.
 */
import { benchConfig } from '../sim/bench.js';
import { buildChip, programStage } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { initialSpins, initKey, latchKey } from '../sim/run.js';
import { createEngine } from '../cells/select.js';
import { newTally, type EngineChoice, type LatchEngine } from '../cells/engine.js';

export interface BenchRunner {
  /** one sweep (two half-sweeps) of every chain */
  step: () => void;
  engine: LatchEngine;
  /** cells of the grid */
  N: number;
  /** chains each step() sweeps */
  chains: number;
}

/** This process's CPU seconds (user and system) so far. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** `r` stepped for at least `seconds` of wall time: its cell updates, wall and CPU seconds. */
export function timeSteps(r: BenchRunner, seconds: number): { updates: number; wall: number; cpu: number } {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    r.step();
    n++;
  }
  return { updates: n * r.N * r.chains, wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
}

/** `chains` chains on an L x L grid; `tiles`: one chain split over that many threads (checked to be granted). */
export function benchRunner(o: { physics: 'ideal' | 'cycle'; L: number; chains: number; choice: EngineChoice; tiles?: number }): BenchRunner {
  const cfg = benchConfig({ physics: o.physics, L: o.L, rules: 'G12' });
  const chip = buildChip(cfg);
  const model = randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  const prog = programStage(chip, model, 0);
  const N = chip.fabric.N;
  const sel = createEngine(chip.spec, { choice: o.choice, chains: o.chains, weightBits: cfg.cell.weight_bits, tiles: o.tiles });
  if (o.tiles !== undefined && (sel.engine.stats().tiles ?? 1) !== o.tiles) throw new Error(`no ${o.tiles} tiles: ${JSON.stringify(sel.refused)}`);
  const engine = sel.engine;
  engine.program(prog.planes);
  engine.begin(0, o.chains);
  const st = model.stages[0];
  for (let k = 0; k < o.chains; k++) {
    engine.load(k, initialSpins(N, prog.planes.bias, prog.planes.unit, st.clampIdx, st.clampVal, initKey(chip, k, 0), 'hinton', model.beta), model.beta);
  }
  const ph = chip.timing.phaseCycles;
  const t = newTally();
  let sweep = 0;
  const step = () => {
    const key = latchKey(chip, 0, sweep);
    engine.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : ph, ownCycles: ph, beta: model.beta, key }, t, null);
    engine.latch({ colour: 1, seg1Cycles: ph, ownCycles: ph, beta: model.beta, key }, t, null);
    sweep++;
  };
  return { step, engine, N, chains: o.chains };
}
