/**
 * A model's manifest (MODEL.manifest.json, written by dtca train and dtca model tune; NAME.manifest.json
 * beside a shipped model) as the commands that derive a model from another read it: found beside
 * the model file, read with a size limit, and its lineage carried on.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../fabric/errors.js';
import { readInputFile, READ_LIMITS } from '../fabric/read.js';
import { parseJsonText } from '../fabric/json.js';
import type { ResolvedConfig } from './config.js';
import { configShape } from './resources.js';

export type Manifest = Record<string, unknown>;

/**
 * The manifest beside a model file: MODEL.manifest.json, else (a shipped model) NAME.manifest.json
 * for NAME.mp; null when there is none; a UserError naming the file when it is not a JSON object.
 */
export function readManifestBeside(file: string): { path: string; manifest: Manifest } | null {
  const path = [`${file}.manifest.json`, `${file.replace(/\.(mp|json)$/, '')}.manifest.json`].find((p) => existsSync(p));
  if (!path) return null;
  const v = parseJsonText(readInputFile(path, { what: 'manifest', max: READ_LIMITS.json }).toString('utf8'), path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${path}: not a JSON object`);
  return { path, manifest: v as Manifest };
}

/** A derived model's lineage: its source's lineage, then the source's own record (without its lineage). */
export function lineageOf(src: Manifest): unknown[] {
  const earlier = Array.isArray(src.lineage) ? src.lineage : [];
  return [...earlier, Object.fromEntries(Object.entries(src).filter(([k]) => k !== 'lineage'))];
}

/**
 * The visible cells' placement a manifest records: its own `placement`, else the latest one in its
 * lineage, else one named in a command there (--placement X); null when none does (a model
 * fine-tuned with --init records none of its own).
 */
export function placementOf(m: Manifest): string | null {
  const chain: Manifest[] = [m, ...[...(Array.isArray(m.lineage) ? (m.lineage as Manifest[]) : [])].reverse()].filter(
    (e) => e !== null && typeof e === 'object',
  );
  for (const e of chain) if (e.placement === 'random' || e.placement === 'spatial') return e.placement;
  for (const e of chain) {
    const hit = typeof e.command === 'string' ? /--placement[ =](random|spatial)\b/.exec(e.command) : null;
    if (hit) return hit[1];
  }
  return null;
}

/**
 * The weight precision a model was trained for (its manifest's `weight_bits`, dtca train's chip)
 * against the chip it is about to run on: a sentence saying they differ, or null when they agree,
 * the manifest does not say, or the chip has exact weights (the ideal chip of `--ideal`, chosen
 * knowingly). `name` names the model. A chip of other precision requantises the trained weights:
 * not the chip the model was trained for (dtca run and dtca eval took the model's grid from it,
 * but not its precision, and said nothing).
 */
export function weightBitsMismatch(manifest: Manifest | null, chipBits: number | 'exact', name: string): string | null {
  const trained = manifest?.weight_bits;
  if (chipBits === 'exact' || trained === undefined || trained === null || trained === chipBits) return null;
  const bits = (b: unknown) => (b === 'exact' ? 'exact weights' : `${String(b)}-bit weights`);
  return `${name} was trained for ${bits(trained)} (its manifest) but this chip has ${bits(chipBits)}: its weights run requantised, not on the chip it was trained for; --set cell.weight_bits=${String(trained)} runs that chip`;
}

/**
 * The clocks a model was fitted to on the cycle-accurate chip, from its manifest: `trained` where
 * dtca train --chip cycle trained it (`chip: "cycle"`, `clock_hz`), `tuned` where dtca model tune
 * --chip cycle chose its guidance (`guidance_chip: "cycle"`, `guidance_clock_hz`); null for each
 * the manifest does not state (or states as no positive number).
 */
export function fittedClocks(manifest: Manifest): { trained: number | null; tuned: number | null } {
  const at = (k: string, chipKey: string): number | null =>
    manifest[chipKey] === 'cycle' && typeof manifest[k] === 'number' && (manifest[k] as number) > 0 ? (manifest[k] as number) : null;
  return { trained: at('clock_hz', 'chip'), tuned: at('guidance_clock_hz', 'guidance_chip') };
}

/**
 * The clock a model was fitted to on the cycle-accurate chip (its manifest's `chip: "cycle"` and
 * `clock_hz`, dtca train --chip cycle; or `guidance_chip: "cycle"` and `guidance_clock_hz`, dtca
 * model tune --chip cycle) against the chip it is about to run on: a sentence when the chip is the
 * cycle-accurate one at another clock, else null (the ideal chip samples alike at any clock).
 * `dtca eval configs/models/fmnist-t8-80mhz.mp` scored it at 10 MHz without a word.
 */
export function clockMismatch(manifest: Manifest | null, cfg: ResolvedConfig, name: string): string | null {
  if (manifest === null || configShape(cfg).engine === 'ideal') return null;
  const { trained, tuned } = fittedClocks(manifest);
  const hz = trained ?? tuned;
  if (hz === null || hz === cfg.clock.clock_hz || tuned === cfg.clock.clock_hz) return null;
  const mhz = (f: number) => `${+(f / 1e6).toPrecision(4)} MHz`;
  const what = trained !== null ? 'was trained on' : 'had its guidance chosen on';
  return `${name} ${what} the cycle-accurate chip at ${mhz(hz)} (its manifest) but this chip runs at ${mhz(cfg.clock.clock_hz)}: not the chip it was fitted to; --set clock.clock_hz=${hz} runs that chip`;
}
