/**
 * Rewrites a quality classifier's weights file with the checksum of its weights
 * (`weights_sha256`, sim/quality/classifier.ts) without retraining: the weights, arch and info are
 * read and written back unchanged, so scores do not change. Used once for the committed file:
 *
 *   npx tsx scripts/classifier-checksum.ts [FILE]      # default configs/classifier/fmnist-cnn.msgpack
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deserialiseClassifier, serialiseClassifier, PARAM_NAMES } from '../sim/quality/classifier.js';

const path = process.argv[2] ?? 'configs/classifier/fmnist-cnn.msgpack';
const before = deserialiseClassifier(readFileSync(path), path);
const bytes = serialiseClassifier(before.net, before.info);
const after = deserialiseClassifier(bytes, path);
for (const k of PARAM_NAMES) {
  if (
    !Buffer.from(after.net.params[k].buffer, after.net.params[k].byteOffset, after.net.params[k].byteLength).equals(
      Buffer.from(before.net.params[k].buffer, before.net.params[k].byteOffset, before.net.params[k].byteLength),
    )
  )
    throw new Error(`tensor ${k} changed`);
}
writeFileSync(path, bytes);
process.stdout.write(`${path}: ${bytes.length} bytes, weights checksummed\n`);
