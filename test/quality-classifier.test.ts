// The quality classifier: back-propagation against finite differences, determinism, the weights file.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import {
  Net,
  initParams,
  PARAM_NAMES,
  trainClassifier,
  serialiseClassifier,
  deserialiseClassifier,
  readClassifier,
  Classifier,
  type Arch,
} from '../sim/quality/classifier.js';
import { CLASSIFIER_PATH } from '../sim/quality/train.js';
import { F32Arena } from '../sim/quality/gemm.js';
import { streamKey, uniform } from '../rng/counter.js';

const ARCH: Arch = { c1: 4, c2: 3, hidden: 8, classes: 10 };

function randomImages(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const key = streamKey(seed, 77);
  const images = new Uint8Array(n * 784);
  for (let i = 0; i < images.length; i++) images[i] = uniform(key, i) < 0.4 ? 1 : 0;
  const labels = Uint8Array.from({ length: n }, (_, i) => Math.floor(uniform(key, 1e7 + i) * 10));
  return { images, labels };
}

describe('gemm', () => {
  it('matches a plain triple loop (C += A.B) for odd M and K', () => {
    const ar = new F32Arena(1 << 20);
    const [M, K, N] = [5, 7, 36];
    const a = ar.f32(M * K);
    const b = ar.f32(K * N);
    const c = ar.f32(M * N);
    a.forEach((_, i) => (a[i] = Math.sin(i)));
    b.forEach((_, i) => (b[i] = Math.cos(3 * i)));
    c.fill(0.25);
    ar.gemm(a, b, c, M, K, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0.25;
        for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
        expect(c[i * N + j]).toBeCloseTo(s, 5);
      }
    }
  });
});

describe('classifier', () => {
  it('back-propagation agrees with central finite differences of the loss', () => {
    // continuous inputs: binary images put many pooling windows at exact ties, where the loss has kinks
    const B = 3;
    const key = streamKey(1, 78);
    const images = Float64Array.from({ length: B * 784 }, (_, i) => uniform(key, i));
    const labels = [1, 5, 7];
    const net = new Net(ARCH, B);
    const init = initParams(ARCH, 5);
    for (const k of PARAM_NAMES) net.p[k].set(init[k]);
    // non-zero biases so no ReLU sits exactly at its kink
    for (const k of ['b1', 'b2', 'b3', 'b4'] as const) net.p[k].forEach((_, i) => (net.p[k][i] = 0.05 * Math.sin(i + 1)));
    const loss = () => {
      net.forward(images, 0, B);
      return net.backward(labels, null, 0, B);
    };
    loss();
    const grads: Record<string, Float32Array> = {};
    for (const k of PARAM_NAMES) grads[k] = net.g[k].slice();
    const h = 1e-3;
    let checked = 0;
    for (const k of PARAM_NAMES) {
      const P = net.p[k];
      const picks = [0, Math.floor(P.length / 3), Math.floor((2 * P.length) / 3), P.length - 1];
      for (const i of picks) {
        const old = P[i];
        P[i] = old + h;
        const up = loss();
        P[i] = old - h;
        const down = loss();
        P[i] = old;
        const fd = (up - down) / (2 * h);
        // float32 forward passes (rounding ~1e-3 in the difference quotient) and the odd ReLU/max kink within h
        expect(Math.abs(fd - grads[k][i])).toBeLessThan(0.01 + 0.02 * Math.abs(fd));
        checked++;
      }
    }
    expect(checked).toBe(32);
  });

  it('training is deterministic for a seed and learns a separable toy task', () => {
    // class = which half of the image is brighter; 200 images
    const n = 200;
    const key = streamKey(3, 9);
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 784; p++) {
        const top = p < 392;
        const on = top === (labels[i] === 0) ? 0.7 : 0.1;
        images[i * 784 + p] = uniform(key, i * 784 + p) < on ? 1 : 0;
      }
    }
    const opts = { arch: ARCH, seed: 2, epochs: 8, lr: 1e-2 };
    const a = trainClassifier(images, labels, n, opts);
    const b = trainClassifier(images, labels, n, opts);
    for (const k of PARAM_NAMES) expect(Buffer.from(a.params[k].buffer).equals(Buffer.from(b.params[k].buffer))).toBe(true);
    expect(a.accuracy(images, labels, n)).toBeGreaterThan(0.95);
  });

  it('the weights file round-trips exactly and rejects damage', () => {
    const net = new Classifier(ARCH, initParams(ARCH, 4));
    const bytes = serialiseClassifier(net, { note: 'test' });
    const back = deserialiseClassifier(bytes, 'x');
    for (const k of PARAM_NAMES) expect(Array.from(back.net.params[k])).toEqual(Array.from(net.params[k]));
    expect(back.info.note).toBe('test');
    const { images } = randomImages(5, 2);
    expect(Array.from(back.net.run(images, 5).features)).toEqual(Array.from(net.run(images, 5).features));
    expect(() => deserialiseClassifier(bytes.subarray(0, 100), 'cut.bin')).toThrow(/cut.bin/);
    // a key given twice (the weights' checksum does not cover info): refused, not the last one kept
    const twice = Buffer.from(serialiseClassifier(net, { note: 'test', notX: 'other' }));
    twice.set(Buffer.from('note'), twice.indexOf(Buffer.from([0xa4, ...Buffer.from('notX')])) + 1);
    expect(() => deserialiseClassifier(twice, 'twice.bin')).toThrow(/^twice\.bin: "info\.note" is given twice in one map \(byte \d+\)/);
  });

  it('the weights carry a checksum: one flipped weight byte, a damaged key or a non-finite weight is refused', () => {
    const net = new Classifier(ARCH, initParams(ARCH, 4));
    const bytes = serialiseClassifier(net, { note: 'test' });
    // a flip in the last float of w4's data changes a weight by a little: the checksum catches it
    const flipped = Uint8Array.from(bytes);
    const w4 = Buffer.from(bytes).indexOf(Buffer.from('b4', 'latin1')) - 8;
    flipped[w4] ^= 0x01;
    expect(() => deserialiseClassifier(flipped, 'f.msgpack')).toThrow(/^f\.msgpack: checksum mismatch/);
    // the checksum's key renamed (one byte): not silently read unchecked
    const renamed = Uint8Array.from(bytes);
    renamed[Buffer.from(bytes).indexOf(Buffer.from('weights_sha256', 'latin1'))] = 0x57;
    expect(() => deserialiseClassifier(renamed, 'r.msgpack')).toThrow(/^r\.msgpack: unknown top-level key/);
    // a file without the checksum is read unchecked, but a non-finite weight is refused
    const doc = unpack(bytes) as Record<string, unknown> & { tensors: Record<string, { data: Uint8Array }> };
    delete doc.weights_sha256;
    expect(() => deserialiseClassifier(pack(doc), 'old.msgpack')).not.toThrow();
    // trailing bytes: said in words, the content never quoted (msgpackr's message quotes the value read)
    const trailing = Buffer.concat([pack(['root:SECRETHASH', 'x']), Buffer.of(1)]);
    expect(() => deserialiseClassifier(trailing, 't.msgpack')).toThrow(/^t\.msgpack: not a classifier file \(trailing bytes after the msgpack value\)$/);
    new DataView(doc.tensors.w3.data.buffer, doc.tensors.w3.data.byteOffset).setFloat32(0, NaN, true);
    expect(() => deserialiseClassifier(pack(doc), 'nan.msgpack')).toThrow(/^nan\.msgpack: tensor w3 holds a non-finite value/);
  });

  it('the committed weights file carries its checksum', () => {
    const doc = unpack(readFileSync(CLASSIFIER_PATH)) as { weights_sha256?: string };
    expect(doc.weights_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(() => readClassifier(CLASSIFIER_PATH)).not.toThrow();
  });
});
