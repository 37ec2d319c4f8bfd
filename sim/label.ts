/**
 * What to call a configuration in tables, directory names and manifests: a preset by its name, a
 * config file by its file name (not the name of the preset it extends), plus what was changed on
 * the command line: `dtca-paper+2 sets`, `my-chip+ideal`.
 */
import { dirname } from 'node:path';
import { DEFAULT_CONFIG, CONFIG_DIR, configName, locate } from './config.js';

export interface ConfigLabel {
  /** for people: "dtca-paper+2 sets" */
  label: string;
  /** for a directory name: "dtca-paper+2-sets" */
  slug: string;
  /** what the manifest records */
  manifest: { label: string; config_ref: string; sets: string[]; ideal: boolean };
}

export function configLabel(ref: string | undefined, sets: string[] = [], ideal = false): ConfigLabel {
  const r = ref ?? DEFAULT_CONFIG;
  // the same name the resolved config carries (sim/config.ts configName)
  const path = locate(r);
  const isFile = dirname(path) !== CONFIG_DIR;
  let label = configName(path);
  if (sets.length > 0) label += `+${sets.length} set${sets.length === 1 ? '' : 's'}`;
  if (ideal) label += '+ideal';
  const slug = label.replace(/[^A-Za-z0-9._+-]+/g, '-');
  return { label, slug, manifest: { label, config_ref: isFile ? path : r, sets: [...sets], ideal } };
}
