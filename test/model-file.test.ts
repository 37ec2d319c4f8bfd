// Model files' checksum (sim/model.ts modelFileBytes, checkModelSum): a msgpack model dtca writes
// ends with "sha256", the SHA-256 of every byte before that key; a flipped bit anywhere is refused
// with the file named, a file without the key is read unchecked (older files, other writers), and
// a JSON model carries none.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { buildChip } from '../sim/chip.js';
import { randomModel, readModel, modelFileBytes, modelToObject } from '../sim/model.js';
import { makePackr } from '../traces/pack.js';
import { UserError } from '../fabric/errors.js';
import { testConfig } from './helpers/chip.js';

describe('model files carry a checksum', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtca-model-file-'));
  const chip = buildChip(testConfig(['fabric.L=8', 'fabric.rules=[[0,1]]']));
  const model = randomModel(chip.fabric, 5, 0.3, 0.1);
  const bytes = modelFileBytes(model, false);
  const content = (file: string) => JSON.stringify(modelToObject(readModel(file), true));
  const file = join(dir, 'm.mp');
  writeFileSync(file, bytes);
  const refusedWith = (path: string, re: RegExp) => {
    let err: unknown;
    try {
      readModel(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
  };

  it('ends with the key "sha256" and the SHA-256 of every byte before it; reads back to the same model', () => {
    const tail = Buffer.from(bytes.subarray(bytes.length - 73));
    expect(tail.subarray(0, 9)).toEqual(Buffer.from([0xa6, ...Buffer.from('sha256'), 0xd9, 64]));
    expect(tail.subarray(9).toString('latin1')).toBe(
      createHash('sha256')
        .update(bytes.subarray(0, bytes.length - 73))
        .digest('hex'),
    );
    expect(content(file)).toBe(JSON.stringify(modelToObject(model, true)));
  });

  it('a flipped bit anywhere in the file is refused: in a weight, in the map, in the checksum itself', () => {
    // every 97th byte and the last (the checksum's), one bit each; a flip may also break the msgpack or a key
    const at = [...Array.from({ length: Math.floor(bytes.length / 97) }, (_, k) => 97 * k + 13), bytes.length - 1];
    for (const [n, pos] of at.entries()) {
      const b = Uint8Array.from(bytes);
      b[pos] ^= 1 << (n % 8);
      const p = join(dir, `flip-${pos}.mp`);
      writeFileSync(p, b);
      let err: unknown;
      try {
        readModel(p);
      } catch (e) {
        err = e;
      }
      expect(err, `bit flipped at byte ${pos}`).toBeInstanceOf(UserError);
      expect((err as Error).message.startsWith(`${p}: `)).toBe(true);
    }
    // a flip inside the weights' bytes: the checksum is what notices it
    const b = Uint8Array.from(bytes);
    b[Math.floor(bytes.length / 2)] ^= 4;
    writeFileSync(join(dir, 'mid.mp'), b);
    refusedWith(join(dir, 'mid.mp'), /checksum mismatch: the model changed after it was written/);
  });

  it('a cut file, or a checksum that is not the last entry, is refused', () => {
    writeFileSync(join(dir, 'cut.mp'), bytes.subarray(0, bytes.length - 10));
    expect(() => readModel(join(dir, 'cut.mp'))).toThrow(UserError);
    // the same map with the checksum first: another tool rewrote it
    const { sha256, ...rest } = makePackr().unpack(bytes) as Record<string, unknown>;
    writeFileSync(join(dir, 'first.mp'), makePackr().pack({ sha256, ...rest }));
    refusedWith(join(dir, 'first.mp'), /sha256: the checksum must be the file's last entry/);
    writeFileSync(join(dir, 'short.mp'), makePackr().pack({ ...rest, sha256: 'abc' }));
    refusedWith(join(dir, 'short.mp'), /sha256 = abc: expected 64 lower-case hex digits/);
  });

  it('a msgpack model without the key is read unchecked; a JSON model with one is refused', () => {
    const { sha256: _, ...rest } = makePackr().unpack(bytes) as Record<string, unknown>;
    writeFileSync(join(dir, 'old.mp'), makePackr().pack(rest));
    expect(content(join(dir, 'old.mp'))).toBe(content(file));
    const json = JSON.parse(Buffer.from(modelFileBytes(model, true)).toString('utf8')) as Record<string, unknown>;
    expect('sha256' in json).toBe(false);
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ ...json, sha256: '0'.repeat(64) }));
    refusedWith(join(dir, 'm.json'), /sha256: a JSON model carries no checksum/);
  });

  it('a model\'s manifest given as the model says so and names the model beside it (was: "sha256: ... remove the key")', () => {
    for (const name of ['fmnist-t8', 'fmnist-t8-L32']) {
      const manifest = fileURLToPath(new URL(`../configs/models/${name}.manifest.json`, import.meta.url));
      refusedWith(
        manifest,
        new RegExp(
          `^.*${name}\\.manifest\\.json: a model's manifest \\(written beside a model by dtca train or model tune\\), not a model file; give the model itself: .*configs/models/${name}\\.mp$`,
        ),
      );
    }
    // dtca train's naming (MODEL.manifest.json beside MODEL), a manifest without a checksum
    writeFileSync(join(dir, 't.mp.manifest.json'), JSON.stringify({ model: join(dir, 't.mp'), command: 'dtca train', T: 2, grid: { L: 16 } }));
    writeFileSync(join(dir, 't.mp'), bytes);
    refusedWith(join(dir, 't.mp.manifest.json'), /t\.mp\.manifest\.json: a model's manifest .*; give the model itself: .*\/t\.mp$/);
  });

  it('the shipped models carry it', () => {
    for (const name of ['fmnist-t8', 'fmnist-t8-80mhz', 'fmnist-t8-L32', 'fmnist-t8-L48']) {
      const b = readFileSync(new URL(`../configs/models/${name}.mp`, import.meta.url));
      const sum = createHash('sha256')
        .update(b.subarray(0, b.length - 73))
        .digest('hex');
      expect(b.subarray(b.length - 64).toString('latin1'), name).toBe(sum);
    }
  });
});
