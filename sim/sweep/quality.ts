/**
 * Sample quality of a sweep point: the seam where evaluation plugs in. Today no trained model
 * ships and the synthetic DTMs have random weights, so every point reports null with the reason;
 * once `dtca eval` exists, this one function turns a point's generated images (and its model)
 * into a number, and the sweep's `quality` column, plots and report pick it up unchanged.
 */
import type { Model } from '../model.js';
import type { ResolvedConfig } from '../config.js';
import type { Workload } from './plan.js';

export interface QualityInput {
  config: ResolvedConfig;
  workload: Workload;
  model: Model;
  /** generated x^0 per image: visible spins (+-1), image pixels then label cells; null for BM runs */
  outputs: Int8Array[] | null;
}

export interface Quality {
  /** one number, lower is better (e.g. a Fréchet distance), or null */
  value: number | null;
  /** what the number is, or why there is none */
  note: string;
}

export async function pointQuality(q: QualityInput): Promise<Quality> {
  if (q.outputs === null) return { value: null, note: 'Boltzmann-machine workload: no images to judge' };
  if (q.workload.kind === 'dtm') return { value: null, note: 'synthetic random-weight DTM: no trained model fits this grid' };
  return { value: null, note: 'sample quality is not measured yet (no evaluator for this model)' };
}
