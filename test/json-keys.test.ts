// A key given twice in one JSON object (fabric/json.ts duplicateKey): JSON.parse keeps the last
// silently, so a config, model, budget, manifest or sweep plan with `"fabric"` twice would run the
// second without a word. The scanner names the path and line, and is not fooled by braces, commas
// and quotes inside strings, by escapes that spell the same key, or by equal keys in different objects.
import { describe, it, expect } from 'vitest';
import { Packr, unpack } from 'msgpackr';
import { checkMsgpackKeys, duplicateKey, msgpackDuplicateKey, parseJsonText } from '../fabric/json.js';
import { setLayer, FLAG_NAMES } from '../sim/config.js';
import { UserError } from '../fabric/errors.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStageCheckpoint } from '../sim/train/checkpoint.js';

describe('keys given twice in one JSON object', () => {
  it('names the path and the line', () => {
    expect(duplicateKey('{"fabric": {"L": 16}, "fabric": {"L": 32}}')).toEqual({ path: 'fabric', line: 1 });
    expect(duplicateKey('{\n "a": {\n  "b": 1,\n  "b": 2\n }\n}')).toEqual({ path: 'a.b', line: 4 });
    expect(duplicateKey('{"stages": [{"ew": [1]}, {"ew": [1], "ew": [2]}]}')).toEqual({ path: 'stages[1].ew', line: 1 });
    expect(duplicateKey('[[1, 2], {"x": 1, "y": {"z": 0, "z": 1}}]')).toEqual({ path: '[1].y.z', line: 1 });
    // escapes that spell the same key are the same key
    expect(duplicateKey('{"a": 1, "\\u0061": 2}')).toEqual({ path: 'a', line: 1 });
  });

  it('lets through what only looks alike', () => {
    for (const text of [
      '{"a": 1, "b": 2}',
      '[{"a": 1}, {"a": 2}]',
      '{"a": {"a": {"a": 1}}}',
      '{"x": "{\\"a\\": 1, \\"a\\": 2}", "y": "a"}',
      '{"a": ["a", "a"], "b": "\\\\", "c": "\\""}',
      '{"": 1, " ": 2}',
      '"a"',
      '[]',
    ]) {
      JSON.parse(text); // every case is valid JSON
      expect(duplicateKey(text), text).toBeNull();
    }
  });

  it('is refused wherever dtca reads JSON: files and --set values', () => {
    expect(() => parseJsonText('{"seed": 1, "seed": 2}', 'c.json')).toThrow(UserError);
    expect(() => parseJsonText('{"seed": 1, "seed": 2}', 'c.json')).toThrow(/^c\.json: "seed" is given twice \(line 1\)/);
    // named as a library caller's sets[0], or as the command line's --set
    expect(() => setLayer('fabric={"L": 16, "L": 32}')).toThrow(/^sets\[0\] fabric=.*: "L" is given twice/);
    expect(() => setLayer('fabric={"L": 16, "L": 32}', FLAG_NAMES)).toThrow(/^--set fabric=.*: "L" is given twice/);
    expect(setLayer('description=a "b" b').raw).toEqual({ description: 'a "b" b' }); // not JSON: a string, as before
  });
});

// The same for msgpack (fabric/json.ts msgpackDuplicateKey): msgpackr keeps a map key's last value
// silently too. The maps are written by hand (a JS object cannot hold a key twice).
const packr = new Packr({ useRecords: false, variableMapSize: true });
class Raw {
  constructor(readonly b: Uint8Array) {}
}
const enc = (v: unknown): Buffer => (v instanceof Raw ? Buffer.from(v.b) : Buffer.from(packr.pack(v))); // a copy: pack reuses its buffer
const map = (...pairs: [unknown, unknown][]): Raw => new Raw(Buffer.concat([Buffer.of(0x80 | pairs.length), ...pairs.flatMap(([k, v]) => [enc(k), enc(v)])]));
const list = (...items: unknown[]): Raw => new Raw(Buffer.concat([Buffer.of(0x90 | items.length), ...items.map(enc)]));
const dup = (r: Raw, start?: number, end?: number) => msgpackDuplicateKey(r.b, start, end);

describe('keys given twice in one msgpack map', () => {
  it('msgpackr keeps the last value without a word (why the check is needed)', () => {
    expect(unpack(map(['a', 1], ['a', 2]).b)).toEqual({ a: 2 });
  });

  it('names the path and the byte of the second copy', () => {
    expect(dup(map(['a', 1], ['a', 2]))).toEqual({ path: 'a', at: 4 });
    expect(dup(map(['grid', map(['L', 16], ['L', 32])]))).toEqual({ path: 'grid.L', at: 10 });
    expect(dup(map(['stages', list(map(['ew', 1]), map(['ew', 1], ['ew', 2]))]))?.path).toBe('stages[1].ew');
    expect(dup(list(list(1, 2), map(['x', 1], ['y', map(['z', 0], ['z', 1])])))?.path).toBe('[1].y.z');
    // keys as the reader sees them: one text however it is encoded (fixstr, str8), 1 and "1",
    // true and "true", "__proto__" and "__proto_" (msgpackr renames the first)
    const str8a = new Raw(Uint8Array.of(0xd9, 1, 0x61));
    expect(dup(map(['a', 1], [str8a, 2]))?.path).toBe('a');
    expect(dup(map([1, 'x'], ['1', 'y']))?.path).toBe('1');
    expect(dup(map([true, 'x'], ['true', 'y']))?.path).toBe('true');
    expect(dup(map(['__proto__', {}], ['__proto_', 1]))?.path).toBe('__proto_');
    // after long arrays, bins, extensions and 64-bit numbers the walk is still in step
    const big = Array.from({ length: 70000 }, (_, i) => i);
    const after = map(['big', big], ['bin', new Uint8Array(300).fill(0x81)], ['n', 2 ** 40], ['f', 0.5], ['s', 'x'.repeat(40)], ['t', new Date(0)], ['n', 1]);
    expect(dup(after)?.path).toBe('n');
  });

  it('lets through what only looks alike', () => {
    for (const b of [
      map(['a', 1], ['b', 2]),
      list(map(['a', 1]), map(['a', 2])),
      map(['a', map(['a', map(['a', 1])])]),
      map(['x', Uint8Array.of(0x82, 0xa1, 0x61, 1, 0xa1, 0x61, 2)], ['y', 'a']), // a map's bytes inside a bin (a Uint8Array packs as bin)
      map(['a', ['a', 'a']], ['b', 'a']),
      map(['', 1], [' ', 2], [1, 3], [-1, 4], [1.5, 5]),
      new Raw(enc('a')),
      new Raw(enc([])),
      new Raw(enc({ L: 4, stages: [{ bias: [0.5, 1], edges: { i: [0], j: [1], w: [0.25] } }] })),
    ]) {
      unpack(b.b); // every case is valid msgpack
      expect(dup(b), Buffer.from(b.b).toString('hex')).toBeNull();
    }
  });

  it('agrees with the keys as the reader sees them on random nested maps (fast path and full walk)', () => {
    // keys as msgpackr makes them property names: text as text, 1 -> "1", true -> "true", "__proto__" -> "__proto_"
    const str8a = new Raw(Uint8Array.of(0xd9, 1, 0x61)); // "a" as a str8
    const keys: [unknown, string][] = [
      ['a', 'a'],
      ['b', 'b'],
      ['ab', 'ab'],
      ['\u00e9', '\u00e9'],
      ['1', '1'],
      [1, '1'],
      ['true', 'true'],
      [true, 'true'],
      ['__proto__', '__proto_'],
      ['__proto_', '__proto_'],
      [str8a, 'a'],
      ['__protox', '__protox'],
      // bytes that are not UTF-8 read as U+FFFD: one key to the reader however they differ
      [new Raw(Uint8Array.of(0xa1, 0x80)), '\ufffd'],
      [new Raw(Uint8Array.of(0xa1, 0x81)), '\ufffd'],
    ];
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed % n);
    // a random value and whether any of its maps gives a key twice
    const value = (depth: number): [unknown, boolean] => {
      const kind = depth > 2 ? 0 : rnd(4);
      if (kind === 0) return [[0, 0.5, 'x', 2 ** 40, new Uint8Array(3)][rnd(5)], false];
      if (kind === 1) {
        const items = Array.from({ length: rnd(4) }, () => value(depth + 1));
        return [list(...items.map((x) => x[0])), items.some((x) => x[1])];
      }
      const n = rnd(5);
      const pairs: [unknown, unknown][] = [];
      const seen = new Set<string>();
      let twice = false;
      for (let i = 0; i < n; i++) {
        const [k, text] = keys[rnd(keys.length)];
        const [v, inner] = value(depth + 1);
        twice ||= seen.has(text) || inner;
        seen.add(text);
        pairs.push([k, v]);
      }
      return [map(...pairs), twice];
    };
    let found = 0;
    for (let c = 0; c < 3000; c++) {
      const [v, twice] = value(0);
      const b = v instanceof Raw ? v.b : enc(v);
      expect(dup(new Raw(b)) !== null, Buffer.from(b).toString('hex')).toBe(twice);
      if (twice) found++;
    }
    expect(found).toBeGreaterThan(300); // both answers were asked for often
    expect(found).toBeLessThan(2700);
  });

  it('reads one value of a stream (a record) between start and end', () => {
    const a = map(['k', 1], ['k', 2]).b; // 7 bytes
    const b = Buffer.concat([enc({ k: 1 }), a, enc({ k: 1 })]); // 4 + 7 + 4 bytes
    expect(msgpackDuplicateKey(b, 0, 4)).toBeNull();
    expect(msgpackDuplicateKey(b, 4, 11)).toEqual({ path: 'k', at: 8 });
    expect(msgpackDuplicateKey(b, 11)).toBeNull();
    // a value cut short (the decoder refuses it): no throw; a key found twice before the cut is still found
    const long = map(['a', 1], ['b', 'x'.repeat(300)], ['a', 2]).b;
    for (let cut = 0; cut < long.length; cut++) {
      expect(msgpackDuplicateKey(long.subarray(0, cut)), `cut at ${cut}`).toEqual(cut >= long.length - 1 ? { path: 'a', at: long.length - 3 } : null);
      expect(msgpackDuplicateKey(long, 0, cut), `end at ${cut}`).toEqual(cut >= long.length - 1 ? { path: 'a', at: long.length - 3 } : null);
    }
  });

  it('is one line naming the file and the key', () => {
    expect(() => checkMsgpackKeys(map(['beta', 1], ['beta', 2]).b, 'm.mp')).toThrow(UserError);
    expect(() => checkMsgpackKeys(map(['beta', 1], ['beta', 2]).b, 'm.mp')).toThrow(/^m\.mp: "beta" is given twice in one map \(byte 7\); [^\n]*$/);
    // a hostile key is shown escaped, never as raw control characters
    expect(() => checkMsgpackKeys(map(['a\x1b[2J', 1], ['a\x1b[2J', 2]).b, 'm.mp')).toThrow(/"a\\x1b\[2J" is given twice/);
  });
});

describe('a key given twice in a training checkpoint', () => {
  const state = {
    stage: 0,
    epoch: 1,
    thetaW: [0.5],
    thetaB: [0],
    adamM: [0, 0],
    adamV: [0, 0],
    adamT: 1,
    lambda: 0,
    rhoPrev: null,
    cellUpdates: 0,
    wallS: 0,
    log: [],
  };
  const shape = { stage: 0, wires: 1, cells: 1, epochs: 2 };
  /** `o` packed with its key `spare` renamed `key` (as long) */
  const renamed = (o: Record<string, unknown>, spare: string, key: string): Buffer => {
    const b = enc(o);
    b.set(Buffer.from(key), b.indexOf(Buffer.from([0xa0 | spare.length, ...Buffer.from(spare)])) + 1);
    return b;
  };
  const envelope = (payload: Uint8Array, extra: Record<string, unknown> = {}) => ({
    format: 'dtca-checkpoint',
    version: 1,
    kind: 'stage',
    sha256: createHash('sha256').update(payload).digest('hex'),
    payload,
    ...extra,
  });

  it('in the envelope or in the state: refused as damage naming the key, not the last value kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtca-ckpt-twice-'));
    const p = join(dir, 'stage-0.mp');
    try {
      writeFileSync(p, enc(envelope(enc(state))));
      expect(readStageCheckpoint(p, shape).epoch).toBe(1); // the sound file reads
      writeFileSync(p, renamed(envelope(enc(state), { kinX: 'stage' }), 'kinX', 'kind'));
      expect(() => readStageCheckpoint(p, shape)).toThrow(new RegExp(`^${p}: damaged checkpoint \\("kind" is given twice in one map \\(byte \\d+\\)`));
      writeFileSync(p, enc(envelope(renamed({ ...state, epocX: 2 }, 'epocX', 'epoch'))));
      expect(() => readStageCheckpoint(p, shape)).toThrow(new RegExp(`^${p}: damaged checkpoint \\(payload: "epoch" is given twice in one map`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
