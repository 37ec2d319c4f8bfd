// What each part of a traced 64-chain bench sweep costs on the engine thread, without the writer:
// npx tsx scripts/trace-parts.ts ideal|cycle (L = 70; the per-chain tallies of the kernel, the
// packed spins, the energy reports; each added to the one before; the modes
// interleaved in ROUNDS (40) slices of SLICE_MS (60) ms, the median slice's CPU time of each)
import { benchConfig } from '../sim/bench.js';
import { buildChip, programStage } from '../sim/chip.js';
import { randomModel } from '../sim/model.js';
import { initialSpins, initKey, latchKey, addSweepEvents, sweepEnergyInto } from '../sim/run.js';
import { ExactEvents } from '../power/events.js';
import { ENERGY_REPORT_KEYS } from '../power/energy.js';
import { createEngine } from '../cells/select.js';
import { newTally, resetTally } from '../cells/engine.js';
const physics = (process.argv[2] ?? 'ideal') as 'ideal' | 'cycle';
const cfg = benchConfig({ physics, L: 70, rules: 'G12' } as never);
const chip = buildChip(cfg);
const model = randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
const prog = programStage(chip, model, 0);
const N = chip.fabric.N;
const count = 64;
const engine = createEngine(chip.spec, { choice: 'auto', chains: count, weightBits: cfg.cell.weight_bits }).engine;
engine.program(prog.planes);
engine.begin(0, count);
const st0 = model.stages[0];
for (let k = 0; k < count; k++)
  engine.load(k, initialSpins(N, prog.planes.bias, prog.planes.unit, st0.clampIdx, st0.clampVal, initKey(chip, k, 0), 'hinton', model.beta), model.beta);
const t0t = newTally(),
  t1t = newTally();
const per0 = Array.from({ length: count }, newTally),
  per1 = Array.from({ length: count }, newTally);
const bytes = (N + 7) >> 3;
const packed = new Uint8Array(count * bytes);
const ev = new ExactEvents();
const energy = new Float64Array(ENERGY_REPORT_KEYS.length);
const ph = chip.timing.phaseCycles;
let sweep = 0;
function step(mode: number) {
  const key = latchKey(chip, 0, sweep);
  resetTally(t0t);
  resetTally(t1t);
  const per = mode >= 1;
  if (per) for (let k = 0; k < count; k++) (resetTally(per0[k]), resetTally(per1[k]));
  engine.latch({ colour: 0, seg1Cycles: sweep === 0 ? 0 : ph, ownCycles: ph, beta: model.beta, key }, t0t, per ? per0 : null);
  engine.latch({ colour: 1, seg1Cycles: ph, ownCycles: ph, beta: model.beta, key }, t1t, per ? per1 : null);
  addSweepEvents(ev, chip, t0t, t1t, sweep, count);
  if (mode >= 2) engine.readPacked!(packed, bytes);
  if (mode >= 3) for (let k = 0; k < count; k++) sweepEnergyInto(chip, per0[k], per1[k], sweep, energy, 0);
  sweep++;
}
const names = ['plain', '+per-chain tallies', '+readPacked', '+energy'];
for (let m = 0; m < 4; m++) {
  const u = performance.now() + 500;
  while (performance.now() < u) step(m);
}
// the modes interleaved in short slices (the host's speed drifts), each timed by this process's CPU
// time (a host's stolen time is not in it), each mode's median slice reported
const rounds = Number(process.env.ROUNDS ?? 40);
const sliceMs = Number(process.env.SLICE_MS ?? 60);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const per: number[][] = names.map(() => []);
for (let round = 0; round < rounds; round++)
  for (let m = 0; m < 4; m++) {
    const s0 = sweep;
    const t = performance.now();
    const c = cpuUs();
    while (performance.now() < t + sliceMs) step(m);
    per[m].push((cpuUs() - c) / (sweep - s0));
  }
const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];
const base = median(per[0]);
for (let m = 0; m < 4; m++) {
  const md = median(per[m]);
  console.log(
    physics,
    names[m].padEnd(20),
    md.toFixed(1),
    `CPU us/sweep (median of ${rounds} slices)`,
    m ? `+${(((md - base) / base) * 100).toFixed(0)} %` : '',
  );
}
