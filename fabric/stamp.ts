/**
 * The creation time written into dtca's data files (a trace's header, a VCD's $date, the quality
 * classifier's file): now, or the time SOURCE_DATE_EPOCH gives (seconds since 1970, the
 * reproducible-builds convention), so that two runs of the same config and seed can write the same
 * bytes. Run manifests and timings keep the real time: they record when and how long a run ran.
 */
import { UserError } from './errors.js';

/** The largest SOURCE_DATE_EPOCH a Date holds (year 275760). */
const MAX_EPOCH_S = 8.64e12;

export function creationTime(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return new Date().toISOString();
  if (!/^\d{1,13}$/.test(v) || Number(v) > MAX_EPOCH_S)
    throw new UserError(`SOURCE_DATE_EPOCH=${JSON.stringify(v).slice(0, 40)}: must be a whole number of seconds since 1970-01-01 (at most ${MAX_EPOCH_S})`);
  return new Date(Number(v) * 1000).toISOString();
}
