// The per-chain cost of a traced sweep without the kernel: energy, encoding, CRC, buffering, writing.
// THREAD=0 encodes and writes in this thread; by default a writer thread does (traces/ring.ts), and
// "main" is this thread's CPU alone (Linux: /proc/self/task/PID/stat), "CPU" the process's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceWriter } from '../traces/writer.js';
import { TRACE_FORMAT, TRACE_VERSION } from '../traces/types.js';
import { benchConfig } from '../sim/bench.js';
import { buildChip } from '../sim/chip.js';
import { energyOf } from '../power/energy.js';
import * as run from '../sim/run.js';
import { ExactEvents } from '../power/events.js';
import { chipEvents } from '../sim/chip.js';
import { newTally } from '../cells/engine.js';
const cfg = benchConfig({ physics: 'ideal', L: 70, rules: 'G12' });
const chip = buildChip(cfg);
const N = chip.fabric.N;
const tmp = mkdtempSync(join(tmpdir(), 'dtca-micro-'));
const sink = openTraceWriter(join(tmp, 't.dtct'), {}, { thread: process.env.THREAD !== '0' });
/** this thread's CPU seconds (user + system), or NaN off Linux */
const mainCpu = (): number => {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};
sink.header({
  format: TRACE_FORMAT,
  version: TRACE_VERSION,
  dtca_version: 'x',
  created: 'x',
  config: cfg,
  model: {},
  layout: { L: 70, N, colour: chip.fabric.colour, visible: new Int32Array(0), image: new Int32Array(0), label: new Int32Array(0), label_copies: 1 },
  run: { chains: 64, stages: 1, sweeps: 2 ** 31, clock_hz: chip.timing.clockHz, mapping: 'bench' },
});
const bytes = (N + 7) >> 3;
const packed = new Uint8Array(64 * bytes).map((_, i) => (i * 37) & 255);
const per0 = Array.from({ length: 64 }, () => ({ ...newTally(), latches: 2450, toggles: 1200 + 0, wireQ: 123456, linkToggles: 0, dividerQ: 98765 }));
const per1 = per0.map((t) => ({ ...t }));
const fast = (run as Record<string, unknown>).sweepEventsOf as undefined | ((...a: unknown[]) => ReturnType<typeof chipEvents>);
const events = (k: number, sweep: number) => {
  if (fast) return fast(chip, per0[k], per1[k], sweep);
  const e = new ExactEvents();
  run.addSweepEvents(e, chip, per0[k], per1[k], sweep, 1);
  e.add('leak_cell_cycles', N * chip.timing.sweepCycles);
  return chipEvents(chip, e);
};
const sweeps = Number(process.env.SWEEPS ?? 2000);
/** SINK=none: the energy report alone (what stays on this thread whatever the writer does) */
const noSink = process.env.SINK === 'none';
const m0 = mainCpu();
const t0 = process.cpuUsage();
const w0 = performance.now();
for (let sweep = 0; sweep < sweeps; sweep++) {
  for (let k = 0; k < 64; k++) {
    const cycle = (sweep + 1) * chip.timing.sweepCycles;
    if (noSink) {
      energyOf(events(k, sweep), chip.table);
      continue;
    }
    sink.sweep({
      chain: k,
      stage: 0,
      sweep,
      cycle,
      time_s: cycle / chip.timing.clockHz,
      spins: new Float64Array(0),
      packed: packed.subarray(k * bytes, (k + 1) * bytes),
      toggles: per0[k].toggles + per1[k].toggles,
      energy_j: energyOf(events(k, sweep), chip.table),
    });
  }
}
const wall = performance.now() - w0;
const main = mainCpu() - m0;
await sink.close();
const cpu = process.cpuUsage(t0);
console.log(
  `${fast ? 'fast' : 'base'} ${noSink ? 'no sink' : sink.threaded || process.env.THREAD !== '0' ? 'thread' : 'in-thread'}: ${((cpu.user + cpu.system) / sweeps / 64).toFixed(2)} us CPU per chain-sweep (user ${(cpu.user / sweeps / 64).toFixed(2)}, sys ${(cpu.system / sweeps / 64).toFixed(2)}), main ${((main * 1e6) / sweeps / 64).toFixed(2)} us, wall ${((wall * 1000) / sweeps / 64).toFixed(2)} us`,
);
rmSync(tmp, { recursive: true, force: true });
