/** Canonical JSON and the hashes sweep points, twins and models are named by. */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the text a hash is taken of. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashOf(v: unknown, n = 12): string {
  return createHash('sha256').update(canonical(v)).digest('hex').slice(0, n);
}
