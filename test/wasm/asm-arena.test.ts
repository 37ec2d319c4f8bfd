// The WebAssembly assembler (cells/wasm/asm.ts), the memory arena (cells/wasm/arena.ts) and the
// ABI table (cells/wasm/abi.ts) on their own.
import { describe, it, expect } from 'vitest';
import { op as o, T, Locals, assemble, uleb, sleb } from '../../cells/wasm/asm.js';
import { Arena, PAGE } from '../../cells/wasm/arena.js';
import { checkAbi, REGIONS, RESERVED, I32, KC, constAddr } from '../../cells/wasm/abi.js';

function run(funcs: Parameters<typeof assemble>[0]['funcs'], memory: WebAssembly.Memory, imports: Record<string, unknown> = {}) {
  const bytes = assemble({ memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true }, imports: [], funcs });
  expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { e: { m: memory, ...imports } }).exports as Record<
    string,
    (...a: number[]) => number
  >;
}

describe('assembler', () => {
  it('LEB128 encodings', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 1]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([63]);
    expect(sleb(64)).toEqual([0xc0, 0]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('scalar code, loops and locals compute what they say', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const lc = new Locals(1);
    const acc = lc.add(T.i32);
    const k = lc.add(T.i32);
    // sum of 1..n
    const f = run(
      [
        {
          name: 'tri',
          params: [T.i32],
          results: [T.i32],
          locals: lc.types,
          body: [
            o.set(acc, o.i32(0)),
            o.set(k, o.get(0)),
            o.block([
              o.br_if(0, o.i32_le_s(o.get(k), o.i32(0))),
              o.loop([o.set(acc, o.i32_add(o.get(acc), o.get(k))), o.br_if(0, o.i32_gt_s(o.tee(k, o.i32_sub(o.get(k), o.i32(1))), o.i32(0)))]),
            ]),
            o.get(acc),
          ],
        },
      ],
      mem,
    );
    expect(f.tri(10)).toBe(55);
    expect(f.tri(0)).toBe(0);
    expect(f.tri(1000)).toBe(500500);
  });

  it('SIMD lanes: i16 arithmetic wraps, masks narrow, f64 lanes convert', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const i16 = new Int16Array(mem.buffer as unknown as ArrayBuffer);
    const i32 = new Int32Array(mem.buffer as unknown as ArrayBuffer);
    const f64 = new Float64Array(mem.buffer as unknown as ArrayBuffer);
    i16.set([32767, -5, 3, 0, 1, 2, 3, 4], 0); // at byte 0
    i16.set([1, 5, -3, 0, 1, 1, 1, 1], 8); // at byte 16
    i32.set([-1, 0, -1, 0], 8); // at byte 32
    i32.set([0, -1, 0, -1], 12); // at byte 48
    const f = run(
      [
        { name: 'add16', params: [], results: [], locals: [], body: [o.v_store(o.i32(0), o.i16x8_add(o.v_load(o.i32(0), 0), o.v_load(o.i32(0), 16)), 64)] },
        {
          name: 'narrow',
          params: [],
          results: [],
          locals: [],
          body: [o.v_store(o.i32(0), o.i16x8_narrow_i32x4_s(o.v_load(o.i32(0), 32), o.v_load(o.i32(0), 48)), 80)],
        },
        { name: 'cvt', params: [], results: [], locals: [], body: [o.v_store(o.i32(0), o.f64x2_convert_low_i32x4_s(o.v_load(o.i32(0), 32)), 96)] },
        { name: 'lane', params: [], results: [T.i32], locals: [], body: [o.i16x8_extract_u(o.v_load(o.i32(0), 0), 1)] },
      ],
      mem,
    );
    f.add16();
    expect(Array.from(i16.subarray(32, 40))).toEqual([-32768, 0, 0, 0, 2, 3, 4, 5]);
    f.narrow();
    expect(Array.from(i16.subarray(40, 48))).toEqual([-1, 0, -1, 0, 0, -1, 0, -1]);
    f.cvt();
    expect(Array.from(f64.subarray(12, 14))).toEqual([-1, 0]);
    expect(f.lane()).toBe(65531);
  });
});

describe('arena', () => {
  it('hands out zeroed, aligned, non-overlapping blocks and reuses what is released', () => {
    const a = new Arena(RESERVED, 1);
    const b1 = a.alloc(100);
    const b2 = a.alloc(1000);
    expect(b1 % 64).toBe(0);
    expect(b2 % 64).toBe(0);
    expect(b1).toBeGreaterThanOrEqual(RESERVED);
    expect(b2).toBeGreaterThanOrEqual(b1 + 100);
    a.u8.fill(7, b1, b1 + 100);
    a.release(b1);
    const b3 = a.alloc(50);
    expect(b3).toBe(b1); // first fit
    expect(Array.from(a.u8.subarray(b3, b3 + 50)).every((x) => x === 0)).toBe(true);
  });

  it('grows the memory, and views taken by the arena follow', () => {
    const a = new Arena(RESERVED, 1);
    const big = a.alloc(40 * PAGE);
    expect(big).toBeGreaterThan(0);
    expect(a.bytes).toBeGreaterThanOrEqual(big + 40 * PAGE);
    a.f64[(big + 40 * PAGE - 8) / 8] = 3.5;
    expect(a.f64View(big + 40 * PAGE - 8, 1)[0]).toBe(3.5);
  });

  it('says no (-1) beyond the 4 GiB of wasm32', () => {
    const a = new Arena(RESERVED, 1);
    expect(a.alloc(2 ** 33)).toBe(-1);
  });
});

describe('ABI table', () => {
  it('regions inside the reserved bytes, without overlaps; slots inside regions', () => {
    expect(() => checkAbi()).not.toThrow();
    const regions = Object.values(REGIONS).sort((x, y) => x.at - y.at);
    for (let k = 1; k < regions.length; k++) expect(regions[k].at).toBeGreaterThanOrEqual(regions[k - 1].at + regions[k - 1].bytes);
    expect(regions[regions.length - 1].at + regions[regions.length - 1].bytes).toBeLessThanOrEqual(RESERVED);
    expect(Math.max(...Object.values(I32)) * 4 + 4).toBeLessThanOrEqual(REGIONS.I32.bytes);
    expect(constAddr(KC.DUPS_END)).toBeLessThanOrEqual(REGIONS.CONST.at + REGIONS.CONST.bytes);
  });
});
