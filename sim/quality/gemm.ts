/**
 * Single-precision matrix multiply-add in WebAssembly SIMD, for the quality classifier:
 * C[M x N] += A[M x K] . B[K x N], all row-major in one wasm memory, N a multiple of 4.
 *
 * Each row of C is computed 16 columns at a time in four f32x4 accumulators (then 4 at a time),
 * running over K with one broadcast element of A and four vector loads of B per step. Summation
 * order is fixed (k ascending per output), so results are deterministic. Assembled at run time
 * with the project's minimal wasm writer (cells/wasm/asm.ts); no native library.
 */
import { op as o, T, Locals, assemble, type Code } from '../../cells/wasm/asm.js';

const f32_load = (addr: Code): Code => [addr, 0x2a, 0x02, 0x00];
/** block { loop { if (exit) break; body; continue } } */
const whileNot = (exit: Code, body: Code[]): Code => o.block([o.loop([o.br_if(1, exit), ...body, o.br(0)])]);

function gemmModule(): Uint8Array {
  // params: a, b, c, M, K, N (byte pointers and sizes)
  const [A, B, C, M, K, N] = [0, 1, 2, 3, 4, 5];
  const L = new Locals(6);
  const i = L.add(T.i32);
  const j = L.add(T.i32);
  const k = L.add(T.i32);
  const ap = L.add(T.i32);
  const bp = L.add(T.i32);
  const cp = L.add(T.i32);
  const arow = L.add(T.i32);
  const nb = L.add(T.i32); // N * 4 bytes
  const av = L.add(T.v128);
  const acc = [L.add(T.v128), L.add(T.v128), L.add(T.v128), L.add(T.v128)];
  const g = o.get;
  const add = o.i32_add;
  const mulAcc = (q: number) => o.set(acc[q], o.f32x4_add(g(acc[q]), o.f32x4_mul(g(av), o.v_load(g(bp), 16 * q))));
  const kLoop = (lanes: number): Code[] => [
    o.set(ap, g(arow)),
    o.set(bp, add(g(B), o.i32_shl(g(j), o.i32(2)))),
    o.set(k, o.i32(0)),
    whileNot(o.i32_ge_s(g(k), g(K)), [
      o.set(av, o.f32x4_splat(f32_load(g(ap)))),
      ...Array.from({ length: lanes }, (_, q) => mulAcc(q)),
      o.set(ap, add(g(ap), o.i32(4))),
      o.set(bp, add(g(bp), g(nb))),
      o.set(k, add(g(k), o.i32(1))),
    ]),
  ];
  const block = (lanes: number): Code =>
    whileNot(o.i32_gt_s(add(g(j), o.i32(4 * lanes)), g(N)), [
      o.set(cp, add(g(C), o.i32_shl(add(o.i32_mul(g(i), g(N)), g(j)), o.i32(2)))),
      ...Array.from({ length: lanes }, (_, q) => o.set(acc[q], o.v_load(g(cp), 16 * q))),
      ...kLoop(lanes),
      ...Array.from({ length: lanes }, (_, q) => o.v_store(g(cp), g(acc[q]), 16 * q)),
      o.set(j, add(g(j), o.i32(4 * lanes))),
    ]);
  const body: Code[] = [
    o.set(nb, o.i32_shl(g(N), o.i32(2))),
    o.set(i, o.i32(0)),
    whileNot(o.i32_ge_s(g(i), g(M)), [
      o.set(arow, add(g(A), o.i32_shl(o.i32_mul(g(i), g(K)), o.i32(2)))),
      o.set(j, o.i32(0)),
      block(4),
      block(1),
      o.set(i, add(g(i), o.i32(1))),
    ]),
  ];
  return assemble({
    memory: { module: 'e', name: 'm', initial: 1, maximum: 65536, shared: false },
    imports: [],
    funcs: [{ name: 'gemm', params: [T.i32, T.i32, T.i32, T.i32, T.i32, T.i32], results: [], locals: L.types, body }],
  });
}

let compiled: WebAssembly.Module | null = null;

/** One wasm memory with a bump allocator of f32 (and i32) arrays, and the gemm kernel over it. */
export class F32Arena {
  readonly memory: WebAssembly.Memory;
  private top = 64;
  private gemmFn: (a: number, b: number, c: number, M: number, K: number, N: number) => void;

  constructor(bytes: number) {
    const pages = Math.ceil((bytes + 1024) / 65536) + 1;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
    compiled ??= new WebAssembly.Module(gemmModule() as Uint8Array<ArrayBuffer>);
    const inst = new WebAssembly.Instance(compiled, { e: { m: this.memory } });
    this.gemmFn = inst.exports.gemm as never;
  }

  private reserve(bytes: number): number {
    const addr = this.top;
    this.top = Math.ceil((addr + bytes + 64) / 64) * 64; // 64 bytes of slack, 64-byte aligned
    if (this.top > this.memory.buffer.byteLength) throw new Error(`classifier arena: ${this.top} bytes needed, ${this.memory.buffer.byteLength} reserved`);
    return addr;
  }

  f32(n: number): Float32Array {
    const addr = this.reserve(4 * n);
    return new Float32Array(this.memory.buffer, addr, n);
  }

  i32(n: number): Int32Array {
    const addr = this.reserve(4 * n);
    return new Int32Array(this.memory.buffer, addr, n);
  }

  /** C[M x N] += A[M x K] . B[K x N]; all three must be arrays of this arena; N % 4 == 0. */
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, M: number, K: number, N: number): void {
    if (N % 4 !== 0) throw new Error(`gemm: N = ${N} is not a multiple of 4`);
    if (a.length < M * K || b.length < K * N || c.length < M * N) throw new Error(`gemm: arrays too small for ${M}x${K}x${N}`);
    this.gemmFn(a.byteOffset, b.byteOffset, c.byteOffset, M, K, N);
  }
}

/** dst[c][r] = src[r][c] for a rows x cols source, written into a dst with `ldd` columns (>= rows; extra columns untouched). */
export function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array, ldd = rows): void {
  for (let r = 0; r < rows; r++) {
    const so = r * cols;
    for (let c = 0; c < cols; c++) dst[c * ldd + r] = src[so + c];
  }
}
