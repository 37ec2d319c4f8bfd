/**
 * The memory contract between TypeScript and the generated WebAssembly: one description of every
 * fixed slot in the arena's reserved low region, from which both sides derive what they need —
 * the emitters their loads (`abiLoad`), the engine its writes and reads (`AbiView`). Slots are
 * named; addresses are computed, never written twice by hand. `checkAbi` (run at module load and
 * by the tests) proves the regions lie inside the reserved bytes without overlapping and every
 * slot inside its region.
 *
 * Regions (bytes from address 0; below 1024 stays unused so a stray null pointer reads zeros):
 *   I32      i32 parameters of a call (pointers, counts; an i64 as two adjacent slots, low first)
 *   F64      f64 parameters (the exact paths' constants)
 *   OUT      f64 results of a call (tallies)
 *   SCRATCH  stores that only order the generated code (see barrier() in emit/context.ts); the
 *            many-chain cycle kernel's per-cell splat weights (batch/emit.ts WSPLAT) and the
 *            slot after them (its field's ordering stores)
 *   TAB      the ideal decision table: 2^TAB_BITS entries of (lo, hi) f64 logit bounds
 *   CONST    16-byte constants read by the kernels: static ones (written once), per-call ones,
 *            then per-use-site copies (DUPS..DUPS_END) made at the entry of each kernel
 */
import { op as o, type Code } from './asm.js';

export const TAB_BITS = 10;

export const REGIONS = {
  I32: { at: 1024, bytes: 1024 },
  F64: { at: 2048, bytes: 2048 },
  OUT: { at: 4096, bytes: 4096 },
  SCRATCH: { at: 12288, bytes: 4096 },
  TAB: { at: 16384, bytes: 16 << TAB_BITS },
  CONST: { at: 32768, bytes: 16384 },
} as const;

/** Bytes at the bottom of the arena that hold the regions; allocations start above. */
export const RESERVED = 65536;

/** i32 parameter slots (4 bytes each, in I32). */
export const I32 = {
  own: 0, // spin plane (padded, colour-split) of the latching colour; its prev-spin twin at +PREV
  other: 1, // spin plane of the other colour (the neighbours)
  groups: 2, // node values of the latching colour by group; targets at +TGOFF
  rec: 3, // compiled group records of the latching colour
  rowTab: 4,
  nRows: 5,
  // xfer(): natural <-> split copies
  xdir: 8, // 0: natural -> split, 1: split -> natural
  xkind: 9, // 0: spin-plane layout, 1: group layout
  stage: 10, // natural-order array
  split0: 11, // split array of colour 0
  split1: 12, // split array of colour 1
  rowTab0: 13,
  rowTab1: 14,
  // pads(): torus wrap copies within one spin plane
  plane: 15,
  pads: 16,
  nPads: 17,
  buf: 18, // per-row scratch (groups of the longest row x emit/context.ts BUF)
  // the many-chain engine (batch/)
  bPlane: 20, // spin masks of the block: padded cells x chains of the block, i16
  bBias: 21, // the block's biases (plane units, minus the cell's weight sum), same layout
  bCells: 22, // records of the latching cells (batch/layout.ts)
  bCount: 23, // cells in this call
  bPhi: 24, // per vector of the block: chain * CHAIN_STRIDE per lane (i32x4, two per vector)
  bKey: 25, // the half-sweep's draw key
  bMask: 26, // per vector: valid-lane masks (i16x8, then two i32x4)
  bPads: 27, // torus wrap list (byte offsets: destination, source)
  bNPads: 28,
  bOut: 29, // moments: i32 per cell (spin ups), then per colour-0 cell and direction (disagreements)
  bAcc: 30, // per-chain tallies of the block (batch/layout.ts ACC)
  bState: 31, // cycle: the block's analog state (batch/layout.ts STATE)
  bScale: 32, // settle(): per vector of the block, the lanes' drive scales (two f32x4)
  bSettle: 33, // settle(): per vector of the block, the lanes to settle (two i32x4 masks, -1 = settle)
  bPrev: 34, // cycle with delayed links: previous spin masks, laid out as the spin plane
  bStride: 35, // pack(): bytes per chain of the packed output
  bRows: 36, // rowsIn8/rowsIn16/rowsOut8: per lane of the block, an i32 pointer to its row (chain-major staging)
  bValidLo: 38, // moments(): the i64 mask of the block's valid lanes (bit l = lane l), low and high words
  bValidHi: 39,
  bBits: 40, // moments(): per cell an i64 of its chains' spins (bit l = lane l is +1)
  bWires: 41, // moments(): per wire the byte offsets of its two cells' bits (in bBits) and of its sum (in bSumPair)
  bNWires: 42,
  bSumSpin: 43, // momentsSum(): f64 sums per cell
  bSumPair: 44, // momentsSum(): f64 sums per (colour-0 cell, direction)
  bFix: 45, // cycle: the undecided halves of the cell being latched (batch/emit.ts FIX)
  bFixN: 46, // cycle: exact decisions made by fix()
} as const;

/** f64 parameter slots (8 bytes each, in F64): the cycle engine's exact path. */
export const F64 = { aB: 2, aR: 3, bPow: 4 } as const;

/** f64 result slots (8 bytes each, in OUT). */
export const OUT = { latches: 0, toggles: 1, link: 2, wire: 3, divider: 4, fallbacks: 5 } as const;

/**
 * Slots of 16-byte constants in CONST. V8 builds an arbitrary v128.const with several
 * instructions and then keeps it in a register for the whole loop; a constant loaded from memory
 * costs one load where it is used (often folded into the arithmetic) and no register. Slots below
 * PER_CALL are written once (writeStaticConstants), those from PER_CALL before every call.
 */
export const KC = {
  ONE: 0,
  MONE: 1,
  HALF: 2,
  SIGN: 3,
  GOLD: 4,
  M1: 5,
  M2: 6,
  IDX0: 7,
  F40: 8,
  FNLOG2E: 9,
  FMAGIC: 10,
  SP4: 11, // f32x4 the sigmoid's 2^y polynomial, y^4 (emit/sigmoid.ts SIGMA_POLY)
  F1: 12,
  SP0: 13, // f32x4 y^0 .. y^3
  SP1: 14,
  SP2: 15,
  SP3: 16,
  FTWO32: 17,
  KCELL: 18, // i32x4 the cell stride of a draw's base (rng/counter.ts)
  DQ: 19, // f64x2 DIVIDER_Q
  TINY: 20, // f64x2 distances below this count as 0 in the estimate (no subnormal arithmetic)
  FTINY: 21, // f32x4 the same, for the many-chain engine's f32 lanes
  ISIGN: 22, // i32x4 0x80000000 in every lane (a u32 draw to a signed one: r - 2^31)
  FABS: 23, // i32x4 0x7fffffff (|x| of f32 lanes)
  FM40L: 27, // f32x4 f(-40 f(log2 e)): the sigmoid's floor on y = -|z| log2 e
  // the cycle cell's divider term in f32 (cells/physics.ts dividerQ32; batch/emit.ts dividerTerms)
  F2P23: 24, // f32x4 2^23
  F16384: 25, // f32x4 16384 (128^2)
  DQK: 28, // i32x4 DIVIDER_Q / 4 + bits(2^23)
  D128: 29, // f64x2 128 (the same in the single-chain engine's f64 lanes, emit/commit.ts)
  DM128: 30, // f64x2 -128
  DQ4: 31, // f64x2 DIVIDER_Q / 4
  PER_CALL: 32,
  TB: 32, // f64x2 hScale = 2 beta unit
  VSV: 33, // f64x2 vsv
  KEY: 34, // i32x4 key
  FTB: 35, // f32x4 f(hScale) (the many-chain cycle kernel)
  BPOW: 36, // f32x4 a_rng^n
  EE: 37, // f32x4 E
  K0: 38, // f32x4 constant slop
  SK: 39, // f32x4 slop per magnitude
  CHAIN: 52, // i32x4 chain * CHAIN_STRIDE (the single-chain engine's chain)
  PW1: 53, // f64x2 a_bias^n1 (running product)
  PWM: 54, // f64x2 a_bias^nMid
  PW2: 55, // f64x2 a_bias^n2
  FPW1: 56, // f32x4 a_bias^n1 (f32 running product; the many-chain cycle kernel)
  FPWM: 57, // f32x4 a_bias^nMid
  FPW2: 58, // f32x4 a_bias^n2
  // the many-chain kernel's zeroth-order decision in units of 2^-32 (batch/emit.ts emitCycleFast)
  GOFF: 62, // i16x8 the table offset of the bias plane (G' = G + gOff)
  ZB: 63, // i32x4 the sticky-bit term: (old AND ZB) XOR ZO = f(2^32 bPow - 2^31) or -2^31
  ZO: 64, // i32x4
  ZC1: 65, // f32x4 2^32 C0 of the first segment
  ZC2: 66, // f32x4 2^32 C0 of the last segment
  ZB1: 67, // f32x4 2^32 (C1 / 4 + SK) of the first segment, per unit |gain| |distance|
  ZB2: 68, // f32x4 the same, last segment
  ZK: 69, // f32x4 2^32 times the bound's constant
  DV: 70, // f32x4 f(256 f(vsv))
  DV64: 71, // f64x2 the same value (the single-chain engine's f64 lanes)
  C: 40, // f32x4 C[seg*4 + m], 12 slots (40..51)
  C_END: 52,
  PER_CALL_END: 80,
  DUPS: 80, // per-use-site copies (see K() in emit/context.ts)
  DUPS_END: 1024,
} as const;

export const i32Addr = (name: keyof typeof I32): number => REGIONS.I32.at + 4 * I32[name];
export const f64Addr = (name: keyof typeof F64): number => REGIONS.F64.at + 8 * F64[name];
export const outAddr = (name: keyof typeof OUT): number => REGIONS.OUT.at + 8 * OUT[name];
export const constAddr = (slot: number): number => REGIONS.CONST.at + 16 * slot;

/** Loads the generated code uses for parameters. */
export const abiLoad = {
  i32: (name: keyof typeof I32): Code => o.i32_load(o.i32(0), i32Addr(name)),
  f64: (name: keyof typeof F64): Code => o.f64_load(o.i32(0), f64Addr(name)),
};

/** Every region inside [1024, RESERVED) without overlaps, every slot inside its region. */
export function checkAbi(): void {
  const regions = Object.entries(REGIONS).sort((a, b) => a[1].at - b[1].at);
  let end = 1024;
  for (const [name, r] of regions) {
    if (r.at < end) throw new Error(`wasm abi: region ${name} at ${r.at} overlaps the one before (ends ${end})`);
    end = r.at + r.bytes;
  }
  if (end > RESERVED) throw new Error(`wasm abi: regions end at ${end}, past the reserved ${RESERVED} bytes`);
  const slots = (region: keyof typeof REGIONS, table: Record<string, number>, size: number) => {
    const seen = new Map<number, string>();
    for (const [name, s] of Object.entries(table)) {
      if (!Number.isInteger(s) || s < 0 || (s + 1) * size > REGIONS[region].bytes) throw new Error(`wasm abi: slot ${name} = ${s} outside ${region}`);
      if (seen.has(s)) throw new Error(`wasm abi: slots ${seen.get(s)} and ${name} share ${region}[${s}]`);
      seen.set(s, name);
    }
  };
  slots('I32', I32, 4);
  slots('F64', F64, 8);
  slots('OUT', OUT, 8);
  const { PER_CALL, C, C_END, DUPS, DUPS_END } = KC;
  const statics = Object.entries(KC).filter(([, s]) => s < PER_CALL);
  slots('CONST', Object.fromEntries(statics), 16);
  const perCall = Object.entries(KC).filter(
    ([n, s]) => s >= PER_CALL && n !== 'PER_CALL' && n !== 'C_END' && n !== 'PER_CALL_END' && (s < C || s >= KC.C_END) && s < KC.PER_CALL_END,
  );
  slots('CONST', Object.fromEntries(perCall), 16);
  if (!(C + 12 <= C_END && C_END < KC.PER_CALL_END && KC.PER_CALL_END <= DUPS && DUPS < DUPS_END && DUPS_END * 16 <= REGIONS.CONST.bytes)) {
    throw new Error('wasm abi: constant slot ranges overlap or leave CONST');
  }
}

checkAbi();
