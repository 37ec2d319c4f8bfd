/** The values of the static constant slots (abi KC below PER_CALL), written once per arena. */
import { KC, REGIONS } from '../abi.js';
import { MAGIC32, TWO_POW_M32, TINY_DISTANCE } from './context.js';
import { CELL_STRIDE } from '../../../rng/counter.js';
import { DIVIDER_Q } from '../../physics.js';
import { SIGMA_POLY } from './sigmoid.js';

/** DIVIDER_Q / 4 + bits(2^23) as an i32: a divider term is DQK - bits(f(q + 2^23)) (the many-chain cycle kernel, batch/emit.ts dividerTerms) */
export const DQK = (DIVIDER_Q / 4 + 0x4b000000) | 0;

export function writeStaticConstants(buf: ArrayBuffer): void {
  const at = REGIONS.CONST.at;
  const f64 = new Float64Array(buf, at, 64);
  const f32 = new Float32Array(buf, at, 128);
  const i32 = new Int32Array(buf, at, 128);
  const d2 = (slot: number, x: number) => f64.fill(x, 2 * slot, 2 * slot + 2);
  const f4 = (slot: number, x: number) => f32.fill(x, 4 * slot, 4 * slot + 4);
  const i4 = (slot: number, x: number) => i32.fill(x, 4 * slot, 4 * slot + 4);
  d2(KC.ONE, 1);
  d2(KC.MONE, -1);
  d2(KC.HALF, 0.5);
  i32.set([0, -0x80000000, 0, -0x80000000], 4 * KC.SIGN);
  i4(KC.GOLD, 0x9e3779b9 | 0);
  i4(KC.M1, 0x7feb352d);
  i4(KC.M2, 0x846ca68b | 0);
  i32.set([0, 2, 4, 6], 4 * KC.IDX0);
  f4(KC.F40, 40);
  f4(KC.FNLOG2E, -Math.LOG2E);
  f4(KC.FMAGIC, MAGIC32);
  f4(KC.F1, 1);
  [KC.SP0, KC.SP1, KC.SP2, KC.SP3, KC.SP4].forEach((slot, i) => f4(slot, SIGMA_POLY[i]));
  f4(KC.FTWO32, TWO_POW_M32);
  i4(KC.KCELL, CELL_STRIDE | 0);
  d2(KC.DQ, DIVIDER_Q);
  d2(KC.TINY, TINY_DISTANCE);
  f4(KC.FTINY, TINY_DISTANCE);
  i4(KC.ISIGN, -0x80000000);
  i4(KC.FABS, 0x7fffffff);
  f4(KC.FM40L, Math.fround(-40 * Math.fround(Math.LOG2E)));
  f4(KC.F2P23, 2 ** 23);
  f4(KC.F16384, 16384);
  i4(KC.DQK, DQK);
  d2(KC.D128, 128);
  d2(KC.DM128, -128);
  d2(KC.DQ4, DIVIDER_Q / 4);
}
