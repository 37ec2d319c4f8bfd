/**
 * The WebAssembly memory the fast kernels work in (one per thread): shared (SharedArrayBuffer-
 * backed), so growing it never detaches a view taken earlier, with a first-fit allocator that
 * hands out zeroed, 64-byte-aligned blocks with some readable slack after each (vector loads at
 * row ends may read a little past a block; they never use what they read there).
 */
import type { Mem } from './struct.js';

export const PAGE = 65536;
const ALIGN = 64;
/** every block gets this much readable slack after it (vector over-reads at row ends) */
const SLACK = 128;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export class Arena implements Mem {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private free: { addr: number; size: number }[] = [];
  private sizes = new Map<number, number>();
  /** views of the whole memory, renewed when it grows (struct.ts Mem: records are written through them) */
  f64!: Float64Array;
  f32!: Float32Array;
  u8!: Uint8Array;
  i8!: Int8Array;
  i16!: Int16Array;
  i32!: Int32Array;

  constructor(reservedBytes: number, initialPages = 64) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.top = roundUp(reservedBytes, ALIGN);
    this.refresh();
  }

  private refresh(): void {
    const buf = this.memory.buffer as unknown as ArrayBuffer;
    this.f64 = new Float64Array(buf);
    this.f32 = new Float32Array(buf);
    this.u8 = new Uint8Array(buf);
    this.i8 = new Int8Array(buf);
    this.i16 = new Int16Array(buf);
    this.i32 = new Int32Array(buf);
  }

  get bytes(): number {
    return this.u8.byteLength;
  }

  /** Allocates `bytes` (zeroed) or returns -1 when memory cannot grow that far. */
  alloc(bytes: number): number {
    const size = roundUp(bytes + SLACK, ALIGN);
    for (let k = 0; k < this.free.length; k++) {
      const f = this.free[k];
      if (f.size >= size) {
        const addr = f.addr;
        if (f.size === size) this.free.splice(k, 1);
        else {
          f.addr += size;
          f.size -= size;
        }
        this.u8.fill(0, addr, addr + size);
        this.sizes.set(addr, size);
        return addr;
      }
    }
    const addr = this.top;
    const end = addr + size;
    if (end > this.bytes) {
      const need = Math.ceil((end - this.bytes) / PAGE);
      const grow = Math.max(need, Math.min(this.bytes / PAGE, MAX_PAGES - this.bytes / PAGE)); // at least double while small
      try {
        this.memory.grow(Math.min(MAX_PAGES - this.bytes / PAGE, Math.max(need, grow)));
      } catch {
        try {
          this.memory.grow(need);
        } catch {
          return -1;
        }
      }
      this.refresh();
      if (end > this.bytes) return -1;
    }
    this.top = end;
    this.u8.fill(0, addr, end); // may reuse memory given back by release()
    this.sizes.set(addr, size);
    return addr;
  }

  release(addr: number): void {
    const size = this.sizes.get(addr);
    if (size === undefined) return;
    this.sizes.delete(addr);
    // insert sorted, coalesce with neighbours
    let k = 0;
    while (k < this.free.length && this.free[k].addr < addr) k++;
    this.free.splice(k, 0, { addr, size });
    if (k + 1 < this.free.length && addr + size === this.free[k + 1].addr) {
      this.free[k].size += this.free[k + 1].size;
      this.free.splice(k + 1, 1);
    }
    if (k > 0 && this.free[k - 1].addr + this.free[k - 1].size === addr) {
      this.free[k - 1].size += this.free[k].size;
      this.free.splice(k, 1);
    }
    // give the tail back to the bump pointer
    const last = this.free[this.free.length - 1];
    if (last && last.addr + last.size === this.top) {
      this.top = last.addr;
      this.free.pop();
    }
  }

  f64View(addr: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer as unknown as ArrayBuffer, addr, n);
  }
}

export function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
