/**
 * `dtca probe [config] --cells LIST --vcd OUT.vcd`: analog waveforms of a few cells from a short
 * cycle-accurate run, for a circuit designer looking at why p-bits stick: per probed cell, every
 * analog substep's bias-node voltage and RNG P(1) (VCD `real` variables), and its spin at each
 * latch, with the chip clock, the colour phase and the sweep counter. A cell's signals sit in the
 * scope trace export names that cell by (traces/trace-vcd.ts CELLS_SCOPE): dtca.cells.x3_y5.spin,
 * .v_node, .rng_p1 for cell 5L + 3.
 *
 * The run is one chain of a Boltzmann machine (a model's stage, or the seeded random model on the
 * configured fabric) on the reference engine, which reports the substeps it computes anyway
 * (cells/physics.ts cycleLatchP): the values are the model's own, not a second simulation.
 *   node voltage  V_node = Vdd / 2 + V_s,nominal V   (V in drive units; the divider's output)
 *   RNG P(1)      the probability that the RNG's output is 1 given its value at the last latch
 */
import type { Argv } from 'yargs';
import { UserError } from '../../fabric/errors.js';
import { checkTarget, isStdout } from '../../fabric/files.js';
import { buildChip, programStage } from '../../sim/chip.js';
import { readModel, randomModel, checkModelFitsFabric } from '../../sim/model.js';
import { FLAG_NAMES } from '../../sim/config.js';
import { runStage, initialSpins, initKey } from '../../sim/run.js';
import { ReferenceEngine } from '../../cells/reference.js';
import { ExactEvents } from '../../power/events.js';
import { writeVcdSignals, type VcdSignal } from '../../traces/vcd.js';
import { CELLS_SCOPE, cellVcdName } from '../../traces/trace-vcd.js';

/** a signal being collected */
type Growing = VcdSignal & { time_s: number[]; values: number[] };
import { parseIndexList } from '../../traces/writer.js';
import { VERSION } from '../../sim/io/output.js';
import { eng } from '../../sim/stats.js';
import { adoptedGrid, adoptGridLabel, loadConfig, withConfigOptions, refusedIdeal, positiveInt, type CommonArgs } from '../common.js';
import type { Session } from '../session.js';

/** refuse a probe whose file would pass this many bytes (about 20 bytes per value change) */
const MAX_BYTES = 200 * 2 ** 20;

async function cmdProbe(a: CommonArgs & Record<string, unknown>, s: Session): Promise<void> {
  const { log } = s;
  if (!a.vcd) throw new UserError('--vcd OUT.vcd: where to write the waveforms');
  if (isStdout(String(a.vcd))) throw new UserError('--vcd -: the VCD is written to a file (renamed into place when complete); name a file');
  let cfg = loadConfig(a);
  const file = a.model ? readModel(String(a.model)) : null;
  // the output before the simulation (a directory, a missing directory or a file not a VCD was found after the run)
  const label = `--vcd ${String(a.vcd)}`;
  checkTarget(String(a.vcd), { label, kind: 'vcd' });
  // the model's grid when no config or --set names one (as dtca run takes it); a grid named is held to the model below
  const grid = file ? adoptedGrid(a, file, cfg) : [];
  if (grid.length > 0) {
    cfg = loadConfig(a, [], grid);
    adoptGridLabel(a, file!, cfg, log);
  }
  const chip = buildChip(cfg);
  if (chip.ideal)
    throw new UserError('probe: the ideal chip has no analog state between latches (no relaxation, no RNG memory); probe a cycle-accurate config');
  const N = chip.fabric.N;
  const cells = a.cells === undefined ? [0] : parseIndexList('--cells', String(a.cells));
  for (const i of cells) if (i >= N) throw new UserError(`--cells: cell ${i} outside 0..${N - 1}`);
  const sweeps = positiveInt('sweeps', a.sweeps as number | undefined) ?? 20;
  const chain = positiveInt('chain', a.chain as number | undefined, 0) ?? 0;
  const model = file ?? randomModel(chip.fabric, cfg.seed, 0.25, 0.1);
  checkModelFitsFabric(model, cfg, chip.fabric.rules, FLAG_NAMES); // said with --set, before programStage's own check
  const stage = positiveInt('stage', a.stage as number | undefined, 0) ?? 0;
  if (stage >= model.stages.length) throw new UserError(`--stage ${stage}: the model has stages 0..${model.stages.length - 1}`);
  const t = chip.timing;
  // the VCD holds every analog substep and both clock edges, half a substep apart at the finest: a
  // VCD's finest timescale is 1 fs, and below it samples would merge onto one time stamp
  if (t.clockHz * t.substeps > 5e14)
    throw new UserError(
      `probe: clock.clock_hz = ${t.clockHz} with clock.analog_substeps = ${t.substeps} puts the waveforms' samples ${eng(1 / (2 * t.clockHz * t.substeps), 's')} apart, finer than a VCD's finest timescale (1 fs); probe with clock_hz x analog_substeps at most 5e14 (--set clock.analog_substeps=1, or a slower clock)`,
    );
  const perLatch = 2 * t.phaseCycles * t.substeps;
  const estimate = cells.length * sweeps * (2 * perLatch * 24 + 40) + sweeps * 2 * t.phaseCycles * 2 * 8;
  if (estimate > MAX_BYTES) {
    throw new UserError(
      `probe: about ${(estimate / 2 ** 20).toFixed(0)} MiB of VCD for ${cells.length} cells x ${sweeps} sweeps (${perLatch} substeps per latch); probe fewer --cells or --sweeps (limit ${MAX_BYTES / 2 ** 20} MiB)`,
    );
  }
  const prog = programStage(chip, model, stage);
  const dt = 1 / (t.clockHz * t.substeps);
  const vs = chip.fab.vSNominal;
  const vdd = cfg.power.vdd_v;
  // per probed cell: substep values of the current interval, and the signals so far
  const pending = new Map<number, { V: number[]; p: number[] }>();
  const latches = new Map<number, number>();
  const sig = new Map<number, { spin: Growing; v: Growing; p: Growing }>();
  const st0 = model.stages[stage];
  const init = initialSpins(N, prog.planes.bias, prog.planes.unit, st0.clampIdx, st0.clampVal, initKey(chip, chain, stage), 'hinton', model.beta);
  // at t = 0 every node has settled to its field (as the engines load a chain)
  const { D, nbr } = chip.spec.layout;
  const hScale = 2 * model.beta * prog.planes.unit;
  const v0 = (i: number) => {
    let G = prog.planes.bias[i];
    for (let d = 0; d < D; d++) {
      const j = nbr[i * D + d];
      G += prog.planes.w[i * D + d] * (j < N ? init[j] : 0);
    }
    return vdd / 2 + vs * G * hScale;
  };
  for (const i of cells) {
    // named as trace export names the cell (dtca.cells.x3_y5), its signals in that scope
    const scope = [...CELLS_SCOPE, cellVcdName(i, chip.fabric.L)];
    sig.set(i, {
      spin: { scope, name: 'spin', type: 'wire', time_s: [0], values: [init[i] > 0 ? 1 : 0] },
      v: { scope, name: 'v_node', type: 'real', time_s: [0], values: [v0(i)] },
      p: { scope, name: 'rng_p1', type: 'real', time_s: [0], values: [init[i] > 0 ? 1 : 0] },
    });
    pending.set(i, { V: [], p: [] });
    latches.set(i, 0);
  }
  const colour = chip.fabric.colour;
  const engine = new ReferenceEngine(chip.spec, 1, {
    cells: new Set(cells),
    substep: (_c, i, _q, V, p1) => {
      const b = pending.get(i)!;
      b.V.push(V);
      b.p.push(p1);
    },
    latch: (_c, i, spin) => {
      const s = latches.get(i)!;
      latches.set(i, s + 1);
      // colour c latches at the end of its phase of sweep s: cycle (2s + 1 + c) P
      const tl = (2 * s + 1 + colour[i]) * t.phaseCycles * t.substeps;
      const b = pending.get(i)!;
      const g = sig.get(i)!;
      const Q = b.V.length;
      for (let q = 0; q < Q; q++) {
        const ts = (tl - (Q - 1 - q)) * dt;
        g.v.time_s.push(ts);
        g.v.values.push(vdd / 2 + vs * b.V[q]);
        g.p.time_s.push(ts);
        g.p.values.push(b.p[q]);
      }
      g.spin.time_s.push(tl * dt);
      g.spin.values.push(spin > 0 ? 1 : 0);
      // after the latch the RNG restarts from the latched bit
      g.p.time_s.push(tl * dt);
      g.p.values.push(spin > 0 ? 1 : 0);
      b.V = [];
      b.p = [];
    },
  });
  engine.program(prog.planes);
  runStage(chip, engine, prog.planes, chain, 1, { stage, sweeps, betaAt: () => model.beta, spinsOf: () => init, finals: false }, new ExactEvents());
  // clock, phase and sweep
  const clk: Growing = { scope: ['dtca'], name: 'clk', type: 'wire', time_s: [], values: [] };
  const phase: Growing = { scope: ['dtca'], name: 'phase', type: 'wire', time_s: [], values: [] };
  const sweep: Growing = { scope: ['dtca'], name: 'sweep', type: 'integer', time_s: [], values: [] };
  const period = 1 / t.clockHz;
  for (let c = 0; c < sweeps * t.sweepCycles; c++) {
    clk.time_s.push(c * period, (c + 0.5) * period);
    clk.values.push(1, 0);
    if (c % t.phaseCycles === 0) {
      phase.time_s.push(c * period);
      phase.values.push(Math.floor(c / t.phaseCycles) % 2);
    }
    if (c % t.sweepCycles === 0) {
      sweep.time_s.push(c * period);
      sweep.values.push(c / t.sweepCycles);
    }
  }
  const signals = [clk, phase, sweep, ...cells.flatMap((i) => [sig.get(i)!.spin, sig.get(i)!.v, sig.get(i)!.p])];
  const r = writeVcdSignals(String(a.vcd), signals, {
    resolution_s: dt / 2,
    version: `dtca ${VERSION}`,
    label,
    comment: `dtca probe: ${cfg.name}, model ${model.source} stage ${stage}, chain ${chain}, cells ${cells.join(',')} (cells.xX_yY: cell y*L + x, L = ${chip.fabric.L}); v_node in volts, rng_p1 the RNG's P(1)`,
  });
  log.info({ vcd: a.vcd, bytes: r.bytes, cells: cells.length, sweeps }, 'waveforms written');
  process.stdout.write(
    `${a.vcd}: ${cells.length} cell${cells.length === 1 ? '' : 's'} x ${sweeps} sweep${sweeps === 1 ? '' : 's'}, ${(r.bytes / 1024).toFixed(0)} KiB (timescale ${r.timescale.magnitude} ${r.timescale.unit})\n`,
  );
}

export function probeCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'probe [config]',
    'analog waveforms (bias-node voltage, RNG P(1)) of a few cells from a short cycle-accurate run, as VCD',
    (yy) =>
      refusedIdeal(withConfigOptions(yy), 'the ideal chip has no analog state between latches; probe a cycle-accurate config')
        .option('vcd', { type: 'string', describe: 'the VCD file to write' })
        .option('cells', { type: 'string', describe: 'cells to probe, e.g. 0,1,70 or 0-3 (default 0)' })
        .option('sweeps', { type: 'number', describe: 'sweeps to run (default 20)' })
        .option('chain', { type: 'number', describe: 'chain number (its draws; default 0)' })
        .option('model', {
          type: 'string',
          describe: "model file (default: the seeded random model on the fabric); without a config or a --set of the grid, the chip takes the model's grid",
        })
        .option('stage', { type: 'number', describe: 'the model stage to run (default 0)' }),
    (a) => cmdProbe(a as never, s),
  );
}
