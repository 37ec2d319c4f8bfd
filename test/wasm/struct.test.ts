// The typed record tables (cells/wasm/struct.ts) and the layouts declared with them: offsets from
// the table, alignment checked, accessors that write and read what WebAssembly loads. That the
// layouts are the ones the kernels were generated for is test/wasm/emit-hash.test.ts's job.
import { describe, it, expect } from 'vitest';
import { struct, structFamily } from '../../cells/wasm/struct.js';
import { Arena } from '../../cells/wasm/arena.js';
import { RESERVED } from '../../cells/wasm/abi.js';
import { chainRec } from '../../cells/wasm/layout.js';
import { BUF } from '../../cells/wasm/emit/context.js';
import { batchRec, batchAcc, classBytes, STATE, MASK, PHI } from '../../cells/wasm/batch/layout.js';
import { FIX } from '../../cells/wasm/batch/emit.js';
import { chainMemory, geomSpec, planeLayout } from '../../cells/wasm/geometry.js';
import { directions, resolveRules } from '../../fabric/rules.js';

describe('struct tables', () => {
  it('offsets follow the table; declared alignment pads, stride rounds to the record alignment', () => {
    const s = struct('t', [
      { name: 'A', type: 'i32' },
      { name: 'B', type: 'i16', count: 3 },
      { name: 'C', type: 'f64', count: 2, align: 16 },
      { name: 'D', type: 'u8' },
    ]);
    expect(s.off).toEqual({ A: 0, B: 4, C: 16, D: 32 });
    expect(s.size).toBe(33);
    expect(s.align).toBe(16);
    expect(s.stride).toBe(48);
    expect(s.f.C.bytes).toBe(16);
    expect(() => s.checkBase(64)).not.toThrow();
    expect(() => s.checkBase(8)).toThrow(/alignment 16/);
  });

  it('refuses padding nobody declared, bad alignments, repeated names', () => {
    expect(() =>
      struct('t', [
        { name: 'A', type: 'i16' },
        { name: 'B', type: 'i32' },
      ]),
    ).toThrow(/B \(i32\) would start at 2/);
    expect(() => struct('t', [{ name: 'A', type: 'f64', align: 4 }])).toThrow(/aligned to 4/);
    expect(() => struct('t', [{ name: 'A', type: 'i32', align: 12 }])).toThrow(/aligned to 12/);
    expect(() =>
      struct('t', [
        { name: 'A', type: 'i32' },
        { name: 'A', type: 'i32' },
      ]),
    ).toThrow(/twice/);
    expect(() => struct('t', [{ name: 'A', type: 'i32', count: -1 }])).toThrow(/-1 elements/);
  });

  it('accessors write the bytes WebAssembly reads, through each element type', () => {
    const a = new Arena(RESERVED, 2);
    const s = struct('t', [
      { name: 'I8', type: 'i8', count: 2 },
      { name: 'U8', type: 'u8' },
      { name: 'I16', type: 'i16', align: 2 },
      { name: 'I32', type: 'i32', count: 2, align: 4 },
      { name: 'F32', type: 'f32' },
      { name: 'F64', type: 'f64', count: 2, align: 8 },
      { name: 'I64', type: 'i64', count: 2 },
    ]);
    const r = a.alloc(3 * s.stride) + s.stride;
    s.f.I8.set(a, r, -3, 1);
    s.f.U8.set(a, r, 250);
    s.f.I16.set(a, r, -2);
    s.f.I32.set(a, r, 123456, 1);
    s.f.F32.set(a, r, 0.1);
    s.f.F64.set(a, r, Math.PI, 1);
    s.f.I64.set(a, r, -1, 0);
    s.f.I64.set(a, r, 7, 1);
    const dv = new DataView(a.memory.buffer as unknown as ArrayBuffer);
    expect(dv.getInt8(r + s.off.I8 + 1)).toBe(-3);
    expect(dv.getUint8(r + s.off.U8)).toBe(250);
    expect(dv.getInt16(r + s.off.I16, true)).toBe(-2);
    expect(dv.getInt32(r + s.off.I32 + 4, true)).toBe(123456);
    expect(dv.getFloat32(r + s.off.F32, true)).toBe(Math.fround(0.1));
    expect(dv.getFloat64(r + s.off.F64 + 8, true)).toBe(Math.PI);
    expect(dv.getBigInt64(r + s.off.I64, true)).toBe(-1n);
    expect(dv.getBigInt64(r + s.off.I64 + 8, true)).toBe(7n);
    expect([s.f.I8.get(a, r, 1), s.f.U8.get(a, r), s.f.I16.get(a, r), s.f.I32.get(a, r, 1), s.f.F64.get(a, r, 1), s.f.I64.get(a, r, 1)]).toEqual([
      -3,
      250,
      -2,
      123456,
      Math.PI,
      7,
    ]);
    expect(s.f.F32.index(r)).toBe((r + s.off.F32) / 4);
    // the records around it are untouched
    expect(a.u8.subarray(r - s.stride, r).every((b) => b === 0)).toBe(true);
    expect(a.u8.subarray(r + s.stride, r + 2 * s.stride).every((b) => b === 0)).toBe(true);
  });

  it('families make one layout per parameters', () => {
    let made = 0;
    const fam = structFamily((n: number) => (made++, struct('f', [{ name: 'X', type: 'i32', count: n }])));
    expect(fam(3)).toBe(fam(3));
    expect(fam(4).size).toBe(16);
    expect(made).toBe(2);
  });
});

describe('the engines’ layouts', () => {
  it('single-chain group record: vector fields 16-byte aligned, delayed-link masks only with latency', () => {
    for (const D of [4, 8, 12, 16]) {
      for (const lat of [false, true]) {
        const r = chainRec(D, lat);
        for (const f of r.fields) if (f.count * 8 >= 16 || f.type === 'f32') expect(f.offset % 16, `${f.name} D=${D}`).toBe(0);
        expect(r.stride % 16).toBe(0);
        expect(r.f.CROSS.bytes).toBe(lat ? 32 * D : 0);
      }
    }
    expect(BUF.stride % 16).toBe(0);
    for (const f of BUF.fields) expect(f.offset % 16).toBe(0);
  });

  it('many-chain records: 16-byte strides, tallies per lane, one state record per vector of eight chains', () => {
    for (const D of [4, 8, 12, 16, 20]) {
      const r = batchRec(D);
      expect(r.stride % 16).toBe(0);
      expect(r.off.SLOT).toBe(r.off.W + 4 * D);
    }
    for (const BL of [8, 16, 64]) {
      for (const classes of [1, 11]) {
        const acc = batchAcc(BL, classes);
        // divider terms an i32 per lane, then per tally class a 32-byte slot of i16 toggle counts per vector of eight lanes
        expect(acc.fields.map((f) => [f.name, f.count])).toEqual([
          ['DIV', BL],
          ['TOG', 2 * BL * classes],
        ]);
        expect(acc.off.TOG).toBe(4 * BL);
        expect(classBytes(BL)).toBe(32 * (BL / 8));
        expect(acc.stride).toBe(4 * BL + classes * classBytes(BL));
      }
    }
    expect([STATE.stride, MASK.stride, PHI.stride, FIX.stride]).toEqual([96, 112, 32, 144]);
    for (const s of [STATE, MASK, PHI]) for (const f of s.fields) expect(f.offset % 16).toBe(0);
  });

  it('the kernels’ distances come from the chain memory’s layout', () => {
    const dirs = directions(resolveRules('G12'));
    const plane = planeLayout(70, dirs);
    const m = chainMemory(plane.planeBytes, 64 * 100);
    const spec = geomSpec(dirs.length, plane, 64 * 100, true);
    expect(spec.PREV).toBe(2 * plane.planeBytes);
    expect([spec.TGOFF, spec.SGOFF, spec.BIOFF]).toEqual([6400, 12800, 19200]);
    expect(m.stride).toBe(4 * plane.planeBytes + 8 * 6400);
    expect(m.off.NODE1 - m.off.NODE0).toBe(4 * 6400);
  });
});
