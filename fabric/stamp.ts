/**
 * Creation times written into dtca's files. A run's outputs record one only when SOURCE_DATE_EPOCH
 * gives it (seconds since 1970, the reproducible-builds convention): a trace's header `created`
 * and a VCD's $date are that time, or none (recordedTime: ''), so two runs of the same config and
 * seed write the same bytes with or without the variable. Files that record a measurement (the
 * quality classifier's file, a bench report) take now unless SOURCE_DATE_EPOCH is set
 * (creationTime). Run manifests and timings keep the real time: they record when and how long a
 * run ran.
 */
import { UserError } from './errors.js';

/** The largest SOURCE_DATE_EPOCH a Date holds (year 275760). */
const MAX_EPOCH_S = 8.64e12;

/**
 * The creation time a run's output records: SOURCE_DATE_EPOCH's, ISO 8601, or '' when it is unset
 * (the run's manifest.json holds when it ran). A malformed value is refused.
 */
export function recordedTime(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.SOURCE_DATE_EPOCH;
  return v === undefined || v === '' ? '' : creationTime(env);
}

/** Now, or the time SOURCE_DATE_EPOCH gives, ISO 8601. */
export function creationTime(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return new Date().toISOString();
  if (!/^\d{1,13}$/.test(v) || Number(v) > MAX_EPOCH_S)
    throw new UserError(`SOURCE_DATE_EPOCH=${JSON.stringify(v).slice(0, 40)}: must be a whole number of seconds since 1970-01-01 (at most ${MAX_EPOCH_S})`);
  return new Date(Number(v) * 1000).toISOString();
}
