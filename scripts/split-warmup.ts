/**
 * How fast one chain split over T threads (cells/wasm/tiles.ts) reaches its steady rate: a new
 * engine runs the `dtca bench` workload (sim/bench.ts: G12, random weights) and prints its rate
 * (cell updates per wall ns) in windows from its first sweep, for two engines made one after the
 * other in one process (the second starts with this thread's code warm, its worker threads new).
 * Why `dtca bench` warms its one-chain L >= 256 rows up for SPLIT_WARMUP_S (cli/commands/bench.ts).
 *
 *   npx tsx scripts/split-warmup.ts [--L 256] [--tiles 2] [--engines 2]
 *
 * Needs dist/tile-worker.js (npm run build).
 */
import { parseArgs } from 'node:util';
import { benchConfig } from '../sim/bench.js';
import { buildChip, programStage } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { initialSpins, initKey, latchKey } from '../sim/run.js';
import { createEngine } from '../cells/select.js';
import { newTally } from '../cells/engine.js';

const { values } = parseArgs({ options: { L: { type: 'string' }, tiles: { type: 'string' }, engines: { type: 'string' } } });
const L = Number(values.L ?? 256);
const tiles = Number(values.tiles ?? 2);
const engines = Number(values.engines ?? 2);
const cfg = benchConfig({ physics: 'ideal', L, rules: 'G12' });
const chip = buildChip(cfg);
const model = randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
const prog = programStage(chip, model, 0);
const N = chip.fabric.N;
const st = model.stages[0];
const ph = chip.timing.phaseCycles;
const t = newTally();
const windows: [number, number][] = [
  [0, 0.3],
  [0.3, 0.6],
  [0.6, 1],
  [1, 2],
  [2, 3],
];
for (let e = 0; e < engines; e++) {
  const sel = createEngine(chip.spec, { choice: 'wasm', chains: 1, weightBits: cfg.cell.weight_bits, tiles });
  const engine = sel.engine;
  if ((engine.stats().tiles ?? 1) !== tiles) throw new Error(`no ${tiles} tiles: ${JSON.stringify(sel.refused)}`);
  engine.program(prog.planes);
  engine.begin(0, 1);
  engine.load(0, initialSpins(N, prog.planes.bias, prog.planes.unit, st.clampIdx, st.clampVal, initKey(chip, 0, 0), 'hinton', model.beta), model.beta);
  let sweep = 0;
  const step = () => {
    const key = latchKey(chip, 0, sweep);
    engine.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : ph, ownCycles: ph, beta: model.beta, key }, t, null);
    engine.latch({ colour: 1, seg1Cycles: ph, ownCycles: ph, beta: model.beta, key }, t, null);
    sweep++;
  };
  const out: string[] = [];
  const t0 = performance.now();
  for (const [a, b] of windows) {
    let n = 0;
    const ta = performance.now();
    while (performance.now() - t0 < b * 1000) {
      step();
      n++;
    }
    out.push(`${a}-${b} s ${((n * N) / ((performance.now() - ta) * 1e6)).toFixed(3)}`);
  }
  console.log(`L=${L}, ${tiles} thread(s), engine ${e + 1}: ${out.join(', ')}`);
  engine.dispose();
}
