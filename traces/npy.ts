/**
 * Minimal .npy (NumPy format 1.0) writing: a magic string, a little header (a Python dict literal
 * giving dtype, order and shape, space-padded so the data starts at a multiple of 64 bytes) and the
 * raw little-endian data. `npyHeader` makes the header; `NpyStreamWriter` writes a 2-D array row by
 * row when the number of rows is known only at the end (it reserves a fixed 128-byte header and
 * rewrites it on close). The file is written under a temporary name (fabric/files.ts): close()
 * finishes it there, commit() renames it into place, abort() removes it.
 */
import { SafeFile } from '../fabric/files.js';

/** numpy descr strings for the dtypes written here */
export const NPY_DESCR = { uint8: '|u1', int32: '<i4', int64: '<i8', float64: '<f8' } as const;
export type NpyDtype = keyof typeof NPY_DESCR;

/** The .npy header for an array of this dtype and shape (C order), padded to `total` bytes if given. */
export function npyHeader(dtype: NpyDtype, shape: number[], total?: number): Buffer {
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${NPY_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shp}, }`;
  const min = 10 + dict.length + 1;
  const size = total ?? Math.ceil(min / 64) * 64;
  if (size < min || size - 10 > 0xffff) throw new Error(`npy header for shape ${shp} does not fit in ${size} bytes`);
  const b = Buffer.alloc(size, 0x20);
  b.write('\x93NUMPY', 0, 'latin1');
  b[6] = 1;
  b[7] = 0;
  b.writeUInt16LE(size - 10, 8);
  b.write(dict, 10, 'latin1');
  b[size - 1] = 0x0a;
  return b;
}

/** A whole array as .npy bytes: 1-D, or of `shape` (C order; its product must be values.length). */
export function npyBytes(dtype: NpyDtype, values: ArrayLike<number>, shape: number[] = [values.length]): Buffer {
  const n = values.length;
  if (shape.reduce((a, b) => a * b, 1) !== n) throw new Error(`npy shape (${shape.join(', ')}) does not hold ${n} values`);
  const h = npyHeader(dtype, shape);
  let data: Buffer;
  switch (dtype) {
    case 'uint8':
      data = Buffer.from(Uint8Array.from(values));
      break;
    case 'int32':
      data = Buffer.from(Int32Array.from(values).buffer);
      break;
    case 'float64':
      data = Buffer.from(Float64Array.from(values).buffer);
      break;
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(Math.round(values[i]));
      data = Buffer.from(a.buffer);
      break;
    }
  }
  return Buffer.concat([h, data]);
}

const STREAM_HEADER = 128;
const BUFFER = 1 << 20;

/** Writes a (rows, cols) uint8 array row by row to `path`; close() fixes the row count in the header. */
export class NpyStreamWriter {
  private file: SafeFile;
  private buf = Buffer.allocUnsafe(BUFFER);
  private used = 0;
  rows = 0;
  constructor(
    path: string,
    private readonly cols: number,
  ) {
    this.file = new SafeFile(path, { label: path, kind: 'npy' });
    this.file.write(npyHeader('uint8', [0, cols], STREAM_HEADER));
  }
  writeRow(row: Uint8Array): void {
    if (row.length !== this.cols) throw new Error(`npy row of ${row.length} values, expected ${this.cols}`);
    if (this.used + row.length > this.buf.length) this.flush();
    if (row.length > this.buf.length) this.file.write(row);
    else {
      this.buf.set(row, this.used);
      this.used += row.length;
    }
    this.rows++;
  }
  /** Finish the file under its temporary name (rows in the header, fsynced). */
  close(): void {
    this.flush();
    this.file.writeAt(npyHeader('uint8', [this.rows, this.cols], STREAM_HEADER), 0);
    this.file.close();
  }
  /** Rename the finished file into place. */
  commit(): void {
    this.file.commit();
  }
  abort(): void {
    this.file.abort();
  }
  private flush(): void {
    if (this.used > 0) this.file.write(this.buf, 0, this.used);
    this.used = 0;
  }
}
