/** Helpers per geometry: copies between natural-order arrays and colour-split planes, torus pads. */
import { op as o, T, Locals, assemble, type Code, type FuncDef } from '../asm.js';
import { abiLoad } from '../abi.js';
import type { GeomSpec } from '../layout.js';
import { SHUF_LO } from './context.js';

/**
 * Helpers per geometry: xfer() copies between a natural-order array and its colour-split form
 * (spin planes: row base from the row table; groups: 4 slots per group), pads() refreshes the
 * torus wrap copies in a spin plane's padding, pack() bit-packs a natural-order array of spins (traces).
 */
export function generateAux(g: GeomSpec): Uint8Array {
  const lc = new Locals(0);
  const c = lc.add(T.i32);
  const row = lc.add(T.i32);
  const rt = lc.add(T.i32);
  const nat = lc.add(T.i32);
  const spl = lc.add(T.i32);
  const n = lc.add(T.i32);
  const tab = lc.add(T.i32);
  const base = lc.add(T.i32);
  const dir = lc.add(T.i32);
  const get = o.get;
  const set = o.set;
  // one row: natural stride 2 <-> split stride 1
  const copyRow = (gather: boolean): Code[] => [
    o.block([
      o.br_if(0, o.i32_lt_s(get(n), o.i32(2))),
      o.loop(
        gather
          ? [
              o.v_store(get(spl), o.shuffle(o.v_load(get(nat), 0), o.v_load(get(nat), 16), SHUF_LO)),
              set(nat, o.i32_add(get(nat), o.i32(32))),
              set(spl, o.i32_add(get(spl), o.i32(16))),
              o.br_if(0, o.i32_ge_s(o.tee(n, o.i32_sub(get(n), o.i32(2))), o.i32(2))),
            ]
          : [
              o.f64_store(get(nat), o.f64_load(get(spl), 0), 0),
              o.f64_store(get(nat), o.f64_load(get(spl), 8), 16),
              set(nat, o.i32_add(get(nat), o.i32(32))),
              set(spl, o.i32_add(get(spl), o.i32(16))),
              o.br_if(0, o.i32_ge_s(o.tee(n, o.i32_sub(get(n), o.i32(2))), o.i32(2))),
            ],
      ),
    ]),
    o.if_(get(n), gather ? [o.f64_store(get(spl), o.f64_load(get(nat), 0))] : [o.f64_store(get(nat), o.f64_load(get(spl), 0))]),
  ];
  const xfer: FuncDef = {
    name: 'xfer',
    params: [],
    results: [],
    locals: lc.types,
    body: [
      set(dir, abiLoad.i32('xdir')),
      set(c, o.i32(0)),
      o.loop([
        set(tab, o.select(abiLoad.i32('rowTab1'), abiLoad.i32('rowTab0'), get(c))),
        set(base, o.select(abiLoad.i32('split1'), abiLoad.i32('split0'), get(c))),
        set(row, o.i32(0)),
        o.loop([
          set(rt, o.i32_add(get(tab), o.i32_shl(get(row), o.i32(5)))),
          set(nat, o.i32_add(abiLoad.i32('stage'), o.i32_shl(o.i32_load(get(rt), 0), o.i32(3)))),
          set(
            spl,
            o.i32_add(
              get(base),
              o.i32_shl(
                o.select(o.i32_shl(o.i32_load(get(rt), 8), o.i32(2)), o.i32_sub(o.i32_load(get(rt), 12), o.i32(g.minOff)), abiLoad.i32('xkind')),
                o.i32(3),
              ),
            ),
          ),
          set(n, o.i32_load(get(rt), 4)),
          o.if_(get(dir), copyRow(false), copyRow(true)),
          o.br_if(0, o.i32_lt_s(o.tee(row, o.i32_add(get(row), o.i32(1))), abiLoad.i32('nRows'))),
        ]),
        o.br_if(0, o.i32_lt_s(o.tee(c, o.i32_add(get(c), o.i32(1))), o.i32(2))),
      ]),
    ],
  };
  const lp = new Locals(0);
  const k = lp.add(T.i32);
  const pads = lp.add(T.i32);
  const pl = lp.add(T.i32);
  const padFn: FuncDef = {
    name: 'pads',
    params: [],
    results: [],
    locals: lp.types,
    body: [
      set(k, o.i32(0)),
      set(pads, abiLoad.i32('pads')),
      set(pl, abiLoad.i32('plane')),
      o.block([
        o.br_if(0, o.i32_le_s(abiLoad.i32('nPads'), o.i32(0))),
        o.loop([
          o.f64_store(
            o.i32_add(get(pl), o.i32_shl(o.i32_load(get(pads), 0), o.i32(3))),
            o.f64_load(o.i32_add(get(pl), o.i32_shl(o.i32_load(get(pads), 4), o.i32(3))), 0),
          ),
          set(pads, o.i32_add(get(pads), o.i32(8))),
          o.br_if(0, o.i32_lt_s(o.tee(k, o.i32_add(get(k), o.i32(1))), abiLoad.i32('nPads'))),
        ]),
      ]),
    ],
  };
  // pack(): the natural-order array at `stage` (f64 spins +-1) bit-packed, bCount bytes at bOut (bit
  // i & 7 of byte i >> 3: spin +1, from the f64 sign bits, two cells per i64x2.bitmask; cells past the
  // array's end read what follows it and are the caller's to clear)
  const lq = new Locals(0);
  const src = lq.add(T.i32);
  const dst = lq.add(T.i32);
  const left = lq.add(T.i32);
  const bits = lq.add(T.i32);
  const signs = (j: number) => o.i64x2_bitmask(o.v_load(get(src), 16 * j));
  const packFn: FuncDef = {
    name: 'pack',
    params: [],
    results: [],
    locals: lq.types,
    body: [
      set(src, abiLoad.i32('stage')),
      set(dst, abiLoad.i32('bOut')),
      set(left, abiLoad.i32('bCount')),
      o.block([
        o.br_if(0, o.i32_le_s(get(left), o.i32(0))),
        o.loop([
          set(bits, signs(0)),
          set(bits, o.i32_or(get(bits), o.i32_shl(signs(1), o.i32(2)))),
          set(bits, o.i32_or(get(bits), o.i32_shl(signs(2), o.i32(4)))),
          set(bits, o.i32_or(get(bits), o.i32_shl(signs(3), o.i32(6)))),
          o.i32_store8(get(dst), o.i32_xor(get(bits), o.i32(0xff))),
          set(src, o.i32_add(get(src), o.i32(64))),
          set(dst, o.i32_add(get(dst), o.i32(1))),
          o.br_if(0, o.i32_gt_s(o.tee(left, o.i32_sub(get(left), o.i32(1))), o.i32(0))),
        ]),
      ]),
    ],
  };
  return assemble({ memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true }, imports: [], funcs: [xfer, padFn, packFn] });
}

/** The module with one engine's latch kernel (export 'latch'). */
