/**
 * Chip area of a sweep point (area_m2 in the results): the area model of power/area.ts through
 * sim/area.ts areaOf, for the point's resolved config. A chip the model cannot size (exact
 * weights have no storage to measure) reports null with the reason.
 */
import type { ResolvedConfig } from '../config.js';
import { UserError } from '../../fabric/errors.js';
import { areaOf } from '../area.js';

export interface Area {
  area_m2: number | null;
  note: string;
}

export function pointArea(config: ResolvedConfig): Area {
  try {
    const r = areaOf(config);
    return {
      area_m2: r.area_m2.total,
      note: r.cell.fits ? 'area model (power/area.ts)' : 'area model: the cell needs more than its pitch (sized by its devices)',
    };
  } catch (e) {
    if (e instanceof UserError) return { area_m2: null, note: e.message };
    throw e;
  }
}
