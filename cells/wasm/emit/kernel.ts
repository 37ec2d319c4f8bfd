/**
 * The latch kernel of the single-chain fast engine, composed from the emitters: for each row of
 * the latching colour, a few short loops over the row's groups of four cells, passing values
 * through a small per-row buffer (short loops keep V8's register allocator from spilling, and let
 * the long dependency chains of several groups overlap):
 *   field (field.ts), the draws (hash.ts), R the node's relaxation (relax.ts, cycle), E0 the
 *   estimate's terms that do not involve the new drive (estimate.ts, cycle), A2 the decision
 *   (decision.ts), B the exact decision of the undecided lanes (exact.ts, only when there are
 *   any), C new spins, tallies in cell order, stores (commit.ts).
 * The cycle engine's module also exports fill(), which fills the sigmoid cache of a colour.
 */
import { op as o, T, assemble, type Code, type FuncDef } from '../asm.js';
import { abiLoad, outAddr } from '../abi.js';
import { chainRec, type GeomSpec, type Variant } from '../layout.js';
import { BUF, newEmitCtx, constCopies, type EmitCtx } from './context.js';
import { emitField } from './field.js';
import { emitHash } from './hash.js';
import { emitRelax } from './relax.js';
import { emitEstimateE0, emitSigmaCacheFill } from './estimate.js';
import { emitDecision } from './decision.js';
import { exactFunc, emitExactPhase } from './exact.js';
import { emitCommit } from './commit.js';

const EXP = 0; // the imported Math.exp
const F_EXACT = 1;

/** The module with one engine's latch kernel (export 'latch'; the cycle engine also 'fill'). */
export function generateKernel(g: GeomSpec, variant: Variant): Uint8Array {
  const L = chainRec(g.D, g.lat);
  const funcs: FuncDef[] = [exactFunc(variant, EXP)];
  funcs.push(...kernelFuncs(newEmitCtx(g, L, variant, F_EXACT)));
  return assemble({
    memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: true },
    imports: [{ module: 'e', name: 'exp', params: [T.f64], results: [T.f64] }],
    funcs,
  });
}

/** loop over the row's groups running `body`, advancing the given pointers */
function groupLoop(ctx: EmitCtx, body: Code[], ptrs: [number, number][]): Code[] {
  const { get, set } = ctx;
  const { cnt, nG } = ctx.l;
  return [
    set(cnt, get(nG)),
    o.loop([
      ...body,
      ...ptrs.map(([p, step]) => set(p, o.i32_add(get(p), o.i32(step)))),
      o.br_if(0, o.i32_gt_s(o.tee(cnt, o.i32_sub(get(cnt), o.i32(1))), o.i32(0))),
    ]),
  ];
}

function kernelFuncs(ctx: EmitCtx): FuncDef[] {
  const { get, set, ZERO, L, cycle } = ctx;
  const l = ctx.l;
  const { minOff } = ctx.g;

  const rowStart = (): Code[] => [
    set(l.rP, o.i32_add(get(l.recA), o.i32_mul(o.i32_load(get(l.rt), 8), o.i32(L.stride)))),
    set(l.gP, o.i32_add(get(l.groupsA), o.i32_shl(o.i32_load(get(l.rt), 8), o.i32(5)))),
    set(l.mP, o.i32_add(get(l.otherA), o.i32_shl(o.i32_load(get(l.rt), 12), o.i32(3)))),
    set(l.oP, o.i32_add(get(l.ownA), o.i32_shl(o.i32_sub(o.i32_load(get(l.rt), 12), o.i32(minOff)), o.i32(3)))),
    set(l.bufP, get(l.bufA)),
  ];

  const init: Code[] = [
    set(l.ownA, abiLoad.i32('own')),
    set(l.otherA, abiLoad.i32('other')),
    set(l.groupsA, abiLoad.i32('groups')),
    set(l.recA, abiLoad.i32('rec')),
    set(l.rowTab, abiLoad.i32('rowTab')),
    set(l.nRows, abiLoad.i32('nRows')),
    set(l.bufA, abiLoad.i32('buf')),
    set(l.wp, o.f64(0)),
    set(l.dv, o.f64(0)),
    set(l.cntL, ZERO),
    set(l.cntT, ZERO),
    set(l.lk, ZERO),
    set(l.nfb, o.i32(0)),
    set(l.nLatch, o.i32(0)),
  ];
  const ptrsA: [number, number][] = [
    [l.rP, L.stride],
    [l.mP, 32],
    [l.gP, 32],
    [l.bufP, BUF.stride],
  ];
  const ptrsA2: [number, number][] = [
    [l.rP, L.stride],
    [l.bufP, BUF.stride],
  ];
  if (cycle) ptrsA2.push([l.gP, 32], [l.oP, 32]);
  const ptrsBC: [number, number][] = [
    [l.rP, L.stride],
    [l.oP, 32],
    [l.gP, 32],
    [l.bufP, BUF.stride],
  ];
  const rows: Code[] = [
    set(l.row, o.i32(0)),
    o.block([
      o.br_if(0, o.i32_le_s(get(l.nRows), o.i32(0))),
      o.loop([
        // row entry: i0, count, groupStart, plane base (shifted by minOff), parity
        set(l.rt, o.i32_add(get(l.rowTab), o.i32_shl(get(l.row), o.i32(5)))),
        set(l.nG, o.i32_shr_u(o.i32_add(o.i32_load(get(l.rt), 4), o.i32(3)), o.i32(2))),
        set(l.nLatch, o.i32_add(get(l.nLatch), o.i32_shl(get(l.nG), o.i32(2)))),
        set(l.anyAmb, ZERO),
        ...rowStart(),
        o.if_(o.i32_load(get(l.rt), 16), groupLoop(ctx, emitField(ctx, 1), ptrsA), groupLoop(ctx, emitField(ctx, 0), ptrsA)),
        ...(cycle
          ? [
              ...rowStart(),
              ...groupLoop(ctx, emitRelax(ctx), [
                [l.gP, 32],
                [l.bufP, BUF.stride],
              ] as [number, number][]),
            ]
          : []),
        // the draws, in their own loop
        set(l.bufP, get(l.bufA)),
        set(l.iNat, o.i32_load(get(l.rt), 0)),
        ...groupLoop(
          ctx,
          [...emitHash(ctx), o.v_store(get(l.bufP), get(l.r), BUF.off.R)],
          [
            [l.bufP, BUF.stride],
            [l.iNat, 8],
          ],
        ),
        ...(cycle ? [...rowStart(), ...groupLoop(ctx, emitEstimateE0(ctx), ptrsA2)] : []),
        ...rowStart(),
        ...groupLoop(ctx, emitDecision(ctx), ptrsA2),
        o.if_(o.v_any_true(get(l.anyAmb)), [...rowStart(), ...groupLoop(ctx, emitExactPhase(ctx), ptrsBC)]),
        ...rowStart(),
        ...groupLoop(ctx, emitCommit(ctx), ptrsBC),
        o.br_if(0, o.i32_lt_s(o.tee(l.row, o.i32_add(get(l.row), o.i32(1))), get(l.nRows))),
      ]),
    ]),
  ];

  // latches = lanes committed minus clamped or invalid ones (cntL counts those, as -1 per lane)
  const out: Code[] = [
    o.f64_store(
      o.i32(0),
      o.f64_convert_i32_u(o.i32_add(get(l.nLatch), o.i32_add(o.i32x4_extract(get(l.cntL), 0), o.i32x4_extract(get(l.cntL), 2)))),
      outAddr('latches'),
    ),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(o.i32_add(o.i32x4_extract(get(l.cntT), 0), o.i32x4_extract(get(l.cntT), 2))), outAddr('toggles')),
    o.f64_store(o.i32(0), o.f64_add(o.f64x2_extract(get(l.lk), 0), o.f64x2_extract(get(l.lk), 1)), outAddr('link')),
    o.f64_store(o.i32(0), get(l.wp), outAddr('wire')),
    o.f64_store(o.i32(0), get(l.dv), outAddr('divider')),
    o.f64_store(o.i32(0), o.f64_convert_i32_u(get(l.nfb)), outAddr('fallbacks')),
  ];

  const latchFn: FuncDef = { name: 'latch', params: [], results: [], locals: ctx.lc.types, body: [...constCopies(ctx), ...init, ...rows, ...out] };
  if (!cycle) return [latchFn];
  const fillRows: Code[] = [
    set(l.row, o.i32(0)),
    o.loop([
      set(l.rt, o.i32_add(get(l.rowTab), o.i32_shl(get(l.row), o.i32(5)))),
      set(l.nG, o.i32_shr_u(o.i32_add(o.i32_load(get(l.rt), 4), o.i32(3)), o.i32(2))),
      set(l.rP, o.i32_add(get(l.recA), o.i32_mul(o.i32_load(get(l.rt), 8), o.i32(L.stride)))),
      set(l.gP, o.i32_add(get(l.groupsA), o.i32_shl(o.i32_load(get(l.rt), 8), o.i32(5)))),
      ...groupLoop(ctx, emitSigmaCacheFill(ctx), [
        [l.rP, L.stride],
        [l.gP, 32],
      ]),
      o.br_if(0, o.i32_lt_s(o.tee(l.row, o.i32_add(get(l.row), o.i32(1))), get(l.nRows))),
    ]),
  ];
  const fillFn: FuncDef = {
    name: 'fill',
    params: [],
    results: [],
    locals: ctx.lc.types,
    body: [
      ...constCopies(ctx),
      set(l.groupsA, abiLoad.i32('groups')),
      set(l.recA, abiLoad.i32('rec')),
      set(l.rowTab, abiLoad.i32('rowTab')),
      set(l.nRows, abiLoad.i32('nRows')),
      ...fillRows,
    ],
  };
  return [latchFn, fillFn];
}
