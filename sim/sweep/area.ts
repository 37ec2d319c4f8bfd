/**
 * Chip area of a sweep point: the seam where the area model plugs in (area_m2 in the results).
 * Until power/ has one, every point reports null with the reason.
 */
import type { ResolvedConfig } from '../config.js';

export interface Area {
  area_m2: number | null;
  note: string;
}

export function pointArea(_config: ResolvedConfig): Area {
  return { area_m2: null, note: 'no area model yet' };
}
