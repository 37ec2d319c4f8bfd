/**
 * Measuring one sweep point, and one ideal twin, through the high-level calls only:
 * buildChip(config), then generate(chip, model, opts) for DTM workloads or runModel(chip, model,
 * opts) for Boltzmann machines. What is measured besides cost:
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
 * DTM per-sweep spins come through generate()'s trace-sink option (an in-memory observer; nothing
 * is written), so generation runs in this thread: sweeps parallelise over points instead.
 */
import { createHash } from 'node:crypto';
import { readInputFile, READ_LIMITS } from '../../fabric/read.js';
import { UserError } from '../../fabric/errors.js';
import { buildChip, type Chip } from '../chip.js';
import { newDtmModel, generate } from '../dtm.js';
import { runModel } from '../run.js';
import { randomModel, readModel, type Model } from '../model.js';
import { makeDtmStats, makeStats, energySplit, noteRandomWeights, type Stats } from '../stats.js';
import { samplesPng, samplesFigure } from '../io/images.js';
import { CLASSES } from '../fmnist.js';
import { imageSourceOf } from '../layout.js';
import { fmnistLayout, type QualityColumns } from './quality.js';
import { samplesNpy, labelsNpy, SAMPLES_FILE, LABELS_FILE, type SamplesManifest } from '../quality/samples.js';
import type { ResolvedConfig } from '../config.js';
import type { EnergyReport } from '../../power/energy.js';
import type { TraceSink, SweepInfo } from '../../traces/types.js';
import { visibleCells, type Point, type Twin, type Workload } from './plan.js';
import { pointQuality } from './quality.js';
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

export function buildModel(w: Workload, cfg: ResolvedConfig, chip: Chip, modelSeed: number, modelFile?: string): Model {
  if (w.kind === 'trained') {
    if (!modelFile) throw new Error('a trained workload without its model file');
    return readModel(modelFile);
  }
  if (w.kind === 'dtm') {
    const v = visibleCells(w.visible, cfg.fabric.L);
    return newDtmModel({
      T: w.T!,
      L: cfg.fabric.L,
      rules: cfg.fabric.rules,
      boundary: cfg.fabric.boundary,
      visible: w.visible === 'fmnist' ? 'fmnist' : v.image,
      weights: { random: 0.25 },
      seed: modelSeed,
    });
  }
  if (w.kind === 'bm') return randomModel(chip.fabric, modelSeed, 0.25, 0.1);
  const sha = createHash('sha256').update(readInputFile(w.model!, { what: 'model file', max: READ_LIMITS.model })).digest('hex');
  if (sha !== w.model_sha256) throw new UserError(`${w.model}: the model file changed since the sweep was planned (sha256 differs); plan the sweep again`);
  return readModel(w.model!);
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
  outputs: Int8Array[] | null;
  labels: number[] | undefined;
}

/** Run the workload on a chip built from cfg, with the model drawn from modelSeed (or read from modelFile). */
async function sample(cfg: ResolvedConfig, w: Workload, modelSeed: number, modelFile?: string): Promise<Sampled> {
  const chip = buildChip(cfg);
  const model = buildModel(w, cfg, chip, modelSeed, modelFile);
  const beta = w.beta === null ? undefined : w.beta;
  if (model.dtm && w.images !== null) {
    const obs = new Observer(chip.fabric.N, model.dtm.T - 1, burnIn(w.sweeps));
    // a Fashion-MNIST model generates one image per class in turn, so its samples can be judged
    const labels = fmnistLayout(model) ? Array.from({ length: CLASSES }, (_, c) => c) : undefined;
    const gen = await generate(chip, model, { images: w.images, sweeps: w.sweeps, beta, labels, mapping: w.mapping ?? 'reprogram', sink: obs, keepChains: 0 });
    const stats = makeDtmStats(chip, gen, model.source);
    noteRandomWeights(stats, model);
    return { chip, model, stats, moments: obs.moments(), lag1: obs.lagSum / obs.lagN, outputs: gen.outputs, labels };
  }
  if (model.dtm) throw new UserError(`${model.source}: a DTM model file needs the DTM workload fields (images)`);
  const N = chip.fabric.N;
  const prev = new Float64Array(N);
  let lagSum = 0;
  let lagN = 0;
  const warmup = w.warmup!;
  const r = await runModel(chip, model, {
    chains: w.chains!,
    sweeps: w.sweeps,
    warmup,
    beta,
    moments: true,
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
  const stats = makeStats(chip, r, model.source);
  noteRandomWeights(stats, model);
  const moments = Float64Array.from([...r.moments!.mean_spin, ...r.moments!.edge_corr]);
  return { chip, model, stats, moments, lag1: lagSum / lagN, outputs: null, labels: undefined };
}

export function rmse(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`rmse: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

/** A point's samples.png title: what ran, in words. */
export function pointTitle(p: Point, images: number): string {
  const axes = Object.entries(p.axes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
  return `Sweep point ${p.index + 1}: ${images} generated image${images === 1 ? '' : 's'}${p.model ? ' (class-clamped)' : ''}\n${axes || 'the base config'}; ${p.workload_label}${p.model ? `; model ${p.model.key}` : ''}`;
}

export async function measurePoint(p: Point, modelFile?: string): Promise<PointOutput> {
  const t0 = performance.now();
  const got = await sample(p.config, p.workload, p.config.seed, modelFile);
  const st = got.stats;
  const cellSweeps = st.cell_sweeps;
  const sp = energySplit(got.chip, st.energy_j as unknown as EnergyReport, cellSweeps);
  const images = (st.images as number | undefined) ?? null;
  const q = await pointQuality({ config: p.config, workload: p.workload, model: got.model, outputs: got.outputs });
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
  if (got.outputs && dtm) {
    try {
      png = await samplesFigure(got.outputs, dtm, got.labels, pointTitle(p, got.outputs.length));
    } catch {
      png = samplesPng(got.outputs, dtm); // no fonts for the figure: the bare grid
    }
    const labelled = got.labels !== undefined && got.labels.length > 0;
    samples = {
      npy: samplesNpy(got.outputs),
      labels: labelled ? labelsNpy(got.outputs.length, got.labels!) : null,
      manifest: {
        file: SAMPLES_FILE,
        labels_file: labelled ? LABELS_FILE : null,
        images: got.outputs.length,
        visible: dtm.image.length + dtm.label.length,
        image_cells: dtm.image.length,
        image_shape: dtm.image_shape,
        label_copies: dtm.label_copies,
        classes: dtm.label_copies > 0 ? dtm.label.length / dtm.label_copies : 0,
        image_source: imageSourceOf(dtm),
      },
    };
  }
  return { measured, stats: st, moments: got.moments, samples_png: png, samples, wall_s: (performance.now() - t0) / 1000 };
}

/** The ideal twin: the reference run (seed + 1) and the floor partner (the point's seed), both ideal. */
export async function measureTwin(t: Twin, w: Workload, modelFile?: string): Promise<TwinOutput> {
  const t0 = performance.now();
  const next = { ...t.config, seed: t.config.seed + 1 };
  const ref = await sample(next, w, t.model_seed, modelFile);
  const partner = await sample(t.config, w, t.model_seed, modelFile);
  if (!ref.chip.ideal || !partner.chip.ideal) throw new Error('ideal twin: the chip is not ideal (a non-ideality left on)');
  return { moments: ref.moments, lag1_autocorr_ideal: ref.lag1, moment_rmse_floor: rmse(ref.moments, partner.moments), wall_s: (performance.now() - t0) / 1000 };
}
