/**
 * Measuring one sweep point, and one ideal twin, through the one way to run a workload
 * (sim/workload.ts): the point as a workload request (pointRequest: its model file, or the seeded
 * random model it generates), planned and executed. What is measured besides cost:
 *
 * - lag-1: ⟨s_i(t) s_i(t+1)⟩ over cells, consecutive sweeps after the burn-in, chains (and stages).
 *   On the ideal chip it is the model's own value; sticky p-bits raise it.
 * - moments: per cell mean spin (DTM: in the noisiest stage, which is unconditioned, so its
 *   distribution is the model's own and not the luck of a few input images; over every image and
 *   the sweeps after the burn-in. BM: mean spins and edge correlations after warm-up). A point's moment error is the RMSE of its
 *   moments against its ideal twin's, which runs with the next seed (independent noise); the
 *   statistical floor is the RMSE between two ideal runs of the same model with different seeds,
 *   so a point at the floor samples like the ideal chip.
 *
 * DTM per-sweep spins come through the execution's trace sink (an in-memory observer; nothing is
 * written), Boltzmann machines' through its onSweep, so a point runs in one thread: sweeps
 * parallelise over points instead.
 */
import { createHash } from 'node:crypto';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { UserError } from '../../fabric/errors.js';
import type { Chip } from '../chip.js';
import { readModel, type Model } from '../model.js';
import { energySplit, type Stats } from '../stats.js';
import { samplesPng, samplesFigure } from '../io/images.js';
import type { SamplesManifest } from '../quality/samples.js';
import { planWorkload, executeWorkload, sampleFiles, type WorkloadRequest, type DtmOutcome } from '../workload.js';
import type { ResolvedConfig } from '../config.js';
import type { EnergyReport } from '../../power/energy.js';
import type { TraceSink, SweepInfo } from '../../traces/types.js';
import { visibleCells, type Point, type Twin, type Workload } from './plan.js';
import { pointQuality, type QualityColumns } from './quality.js';
import { pointArea } from './area.js';

/** The columns of a result row that a point measures by itself (the twin adds the rest). */
export type Measured = {
  physics: 'ideal' | 'cycle';
  cells: number;
  images: number | null;
  T: number | null;
  sweeps: number;
  energy_total_j: number;
  energy_per_image_j: number | null;
  energy_per_stage_j: number | null;
  time_per_image_s: number | null;
  images_per_s: number | null;
  sim_time_s: number;
  average_power_w: number;
  sweep_time_s: number;
  sweep_energy_per_cell_sweep_j: number;
  static_energy_per_cell_sweep_j: number;
  dynamic_energy_per_cell_sweep_j: number;
  programming_energy_j: number;
  programming_energy_per_image_j: number | null;
  other_energy_j: number;
  area_m2: number | null;
  area_note: string;
  /** images per second per mm² of chip (throughput density) */
  images_per_s_per_mm2: number | null;
  lag1_autocorr: number;
  quality_note: string;
} & QualityColumns;

export interface PointOutput {
  measured: Measured;
  stats: Stats;
  moments: Float64Array;
  samples_png: Uint8Array | null;
  /** the generated images for dtca eval: samples.npy, labels.npy and the manifest's samples section */
  samples: { npy: Uint8Array; labels: Uint8Array | null; manifest: SamplesManifest } | null;
  wall_s: number;
}

export interface TwinOutput {
  /** the reference run's moments (seed + 1) */
  moments: Float64Array;
  lag1_autocorr_ideal: number;
  moment_rmse_floor: number;
  wall_s: number;
}

/** The burn-in of a DTM stage: sweeps before this one are left out of moments and lag-1. */
export function burnIn(K: number): number {
  return Math.floor(K / 10);
}

/** The model file a point samples (a model file checked against the digest planned, or its trained model), or null for a generated one. */
function modelOf(w: Workload, modelFile?: string): Model | null {
  if (w.kind === 'trained') {
    if (!modelFile) throw new Error('a trained workload without its model file');
    return readModel(modelFile);
  }
  if (w.kind !== 'model') return null;
  const sha = createHash('sha256')
    .update(readInputFile(w.model!, { what: 'model file', max: READ_LIMITS.model }))
    .digest('hex');
  if (sha !== w.model_sha256) throw new UserError(`${w.model}: the model file changed since the sweep was planned (sha256 differs); plan the sweep again`);
  return readModel(w.model!);
}

/**
 * A point's run as a workload request (sim/workload.ts) on config `cfg`: its model file, or the
 * random model drawn from `modelSeed` (a synthetic DTM of the workload's stages and visible cells,
 * or a Boltzmann machine). A Fashion-MNIST model generates one image per class in turn, so its
 * samples can be judged. Memory and counts were checked when the sweep was planned.
 */
export function pointRequest(w: Workload, cfg: ResolvedConfig, modelSeed: number, modelFile?: string): WorkloadRequest {
  const model = modelOf(w, modelFile);
  const beta = w.beta === null ? undefined : w.beta;
  const base = { config: cfg, sweeps: w.sweeps, beta, force: true };
  if (model?.dtm && w.images === null) throw new UserError(`${model.source}: a DTM model file needs the DTM workload fields (images)`);
  if (w.images !== null && (model?.dtm || w.kind === 'dtm')) {
    const random = model
      ? undefined
      : { seed: modelSeed, T: w.T!, visible: w.visible === 'fmnist' ? ('fmnist' as const) : visibleCells(w.visible, cfg.fabric.L).image };
    return { ...base, model, random, images: w.images, labels: 'classes', mapping: w.mapping ?? 'reprogram' };
  }
  return {
    ...base,
    model,
    workload: model ? undefined : 'bm',
    random: model ? undefined : { seed: modelSeed },
    chains: w.chains!,
    warmup: w.warmup!,
    moments: true,
  };
}

/** An in-memory trace sink: the noisiest stage's mean spins and the lag-1 spin product, nothing written. */
class Observer implements TraceSink {
  readonly sums: Float64Array;
  count = 0;
  private prev: Float64Array;
  lagSum = 0;
  lagN = 0;
  constructor(
    private N: number,
    private momentStage: number,
    private burn: number,
  ) {
    this.sums = new Float64Array(N);
    this.prev = new Float64Array(N);
  }
  header(): void {}
  wantsSweep(): boolean {
    return true;
  }
  sweep(r: SweepInfo): void {
    const { N } = this;
    const s = r.spins;
    if (r.sweep >= this.burn) {
      if (r.stage === this.momentStage) {
        for (let i = 0; i < N; i++) this.sums[i] += s[i];
        this.count++;
      }
      if (r.sweep > this.burn) {
        let d = 0;
        for (let i = 0; i < N; i++) d += this.prev[i] * s[i];
        this.lagSum += d;
        this.lagN += N;
      }
    }
    for (let i = 0; i < N; i++) this.prev[i] = s[i];
  }
  stageBegin(): void {}
  stageEnd(): void {}
  end(): void {}
  async close(): Promise<void> {}
  moments(): Float64Array {
    return this.sums.map((v) => v / this.count);
  }
}

interface Sampled {
  chip: Chip;
  model: Model;
  stats: Stats;
  moments: Float64Array;
  lag1: number;
  /** a generation's outcome (its images and labels), or null for a Boltzmann machine */
  dtm: DtmOutcome | null;
}

/** Plan and execute a point's request, observing every sweep: the moments and lag-1 product. */
async function sample(req: WorkloadRequest): Promise<Sampled> {
  const plan = planWorkload(req);
  const { chip, model } = plan;
  const N = chip.fabric.N;
  if (plan.kind === 'dtm') {
    const obs = new Observer(N, model.dtm!.T - 1, burnIn(plan.sweeps));
    const out = await executeWorkload(plan, undefined, { sink: obs, pictures: false, bare: true });
    if (out.kind !== 'dtm') throw new Error('a DTM plan executed to a Boltzmann-machine run');
    return { chip, model, stats: out.stats, moments: obs.moments(), lag1: obs.lagSum / obs.lagN, dtm: out };
  }
  const prev = new Float64Array(N);
  let lagSum = 0;
  let lagN = 0;
  const warmup = plan.warmup;
  const out = await executeWorkload(plan, undefined, {
    bare: true,
    onSweep: (v) => {
      const s = v.s;
      if (v.sweep > warmup) {
        let d = 0;
        for (let i = 0; i < N; i++) d += prev[i] * s[i];
        lagSum += d;
        lagN += N;
      }
      for (let i = 0; i < N; i++) prev[i] = s[i];
    },
  });
  if (out.kind !== 'bm') throw new Error('a Boltzmann-machine plan executed to a generation');
  const m = out.result.moments!;
  return { chip, model, stats: out.stats, moments: Float64Array.from([...m.mean_spin, ...m.edge_corr]), lag1: lagSum / lagN, dtm: null };
}

export function rmse(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`rmse: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

/** A point's samples.png title: what ran, in words. */
export function pointTitle(p: Point, images: number): string {
  const axes = Object.entries(p.axes)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return `Sweep point ${p.index + 1}: ${images} generated image${images === 1 ? '' : 's'}${p.model ? ' (class-clamped)' : ''}\n${axes || 'the base config'}; ${p.workload_label}${p.model ? `; model ${p.model.key}` : ''}`;
}

export async function measurePoint(p: Point, modelFile?: string): Promise<PointOutput> {
  const t0 = performance.now();
  const got = await sample(pointRequest(p.workload, p.config, p.config.seed, modelFile));
  const st = got.stats;
  const cellSweeps = st.cell_sweeps;
  const sp = energySplit(got.chip, st.energy_j as unknown as EnergyReport, cellSweeps);
  const images = (st.images as number | undefined) ?? null;
  const q = await pointQuality({ config: p.config, workload: p.workload, model: got.model, outputs: got.dtm?.gen.outputs ?? null });
  const area = pointArea(p.config);
  const measured: Measured = {
    physics: st.physics,
    cells: st.cells,
    images,
    T: (st.T as number | undefined) ?? null,
    sweeps: p.workload.sweeps,
    energy_total_j: st.energy_j.total,
    energy_per_image_j: images === null ? null : (st.energy_per_image_j as number),
    energy_per_stage_j: images === null ? null : (st.energy_per_stage_j as number),
    time_per_image_s: images === null ? null : (st.image_interval_s as number),
    images_per_s: images === null ? null : (st.images_per_s as number),
    sim_time_s: st.sim_time_s,
    average_power_w: st.average_power_w,
    sweep_time_s: got.chip.timing.sweepCycles / got.chip.timing.clockHz,
    sweep_energy_per_cell_sweep_j: sp.sweep_j / cellSweeps,
    static_energy_per_cell_sweep_j: sp.static_j / cellSweeps,
    dynamic_energy_per_cell_sweep_j: sp.dynamic_j / cellSweeps,
    programming_energy_j: sp.programming_j,
    programming_energy_per_image_j: images === null ? null : sp.programming_j / images,
    other_energy_j: sp.other_j,
    area_m2: area.area_m2,
    area_note: area.note,
    images_per_s_per_mm2: images === null || area.area_m2 === null ? null : (st.images_per_s as number) / (area.area_m2 * 1e6),
    lag1_autocorr: got.lag1,
    quality_note: q.note,
    ...q.metrics,
  };
  const dtm = got.model.dtm;
  let png: Uint8Array | null = null;
  let samples: PointOutput['samples'] = null;
  if (got.dtm && dtm) {
    const outputs = got.dtm.gen.outputs;
    const labels = got.dtm.plan.labels;
    try {
      png = await samplesFigure(outputs, dtm, labels, pointTitle(p, outputs.length));
    } catch {
      png = samplesPng(outputs, dtm); // no fonts for the figure: the bare grid
    }
    samples = sampleFiles(got.dtm);
  }
  return { measured, stats: st, moments: got.moments, samples_png: png, samples, wall_s: (performance.now() - t0) / 1000 };
}

/** The ideal twin: the reference run (seed + 1) and the floor partner (the point's seed), both ideal. */
export async function measureTwin(t: Twin, w: Workload, modelFile?: string): Promise<TwinOutput> {
  const t0 = performance.now();
  const next = { ...t.config, seed: t.config.seed + 1 };
  const ref = await sample(pointRequest(w, next, t.model_seed, modelFile));
  const partner = await sample(pointRequest(w, t.config, t.model_seed, modelFile));
  if (!ref.chip.ideal || !partner.chip.ideal) throw new Error('ideal twin: the chip is not ideal (a non-ideality left on)');
  return {
    moments: ref.moments,
    lag1_autocorr_ideal: ref.lag1,
    moment_rmse_floor: rmse(ref.moments, partner.moments),
    wall_s: (performance.now() - t0) / 1000,
  };
}
