/**
 * Training the quality classifier on binarised Fashion-MNIST (`dtca eval --train-classifier`).
 *
 * The train split is cut in two: images 0..49,999 train the network; images 50,000..59,999 are
 * held out (validation during training, and the `floor` yardstick of `dtca eval`, so the floor is
 * scored on training-split images the classifier never saw). Test accuracy is measured once, on
 * the 10,000 binarised test images, with the float32 weights that are written.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CONFIG_DIR } from '../config.js';
import { loadFmnist, subset, BINARY_THRESHOLD } from '../fmnist.js';
import { trainClassifier, serialiseClassifier, paramCount, DEFAULT_ARCH, TRAIN_DEFAULTS, type Arch, type Classifier } from './classifier.js';
import { VERSION } from '../io/output.js';
import { creationTime } from '../../fabric/stamp.js';

/** The committed classifier. */
export const CLASSIFIER_PATH = join(CONFIG_DIR, 'classifier', 'fmnist-cnn.msgpack');
/** Train-split images [0, TRAIN_SPLIT) train the classifier; [TRAIN_SPLIT, 60000) are held out. */
export const TRAIN_SPLIT = 50000;
export const DEFAULT_EPOCHS = 12;
export const DEFAULT_SEED = 1;

export interface TrainRun {
  dir?: string;
  seed?: number;
  epochs?: number;
  arch?: Arch;
  /** use only the first n training images (quick runs) */
  limit?: number;
  onProgress?: (done: number, total: number, epoch: number) => void;
  onEpoch?: (e: { epoch: number; loss: number; valAccuracy: number | null; wallS: number }) => void;
}

export interface TrainedClassifier {
  net: Classifier;
  bytes: Uint8Array;
  info: Record<string, unknown>;
}

export function trainQualityClassifier(o: TrainRun): TrainedClassifier {
  const seed = o.seed ?? DEFAULT_SEED;
  const epochs = o.epochs ?? DEFAULT_EPOCHS;
  const arch = o.arch ?? DEFAULT_ARCH;
  const t0 = performance.now();
  const train = loadFmnist({ dir: o.dir, split: 'train' });
  const test = loadFmnist({ dir: o.dir, split: 'test' });
  const nTrain = Math.min(TRAIN_SPLIT, o.limit ?? TRAIN_SPLIT);
  const fit = subset(train, 0, nTrain);
  const val = subset(train, TRAIN_SPLIT, train.n);
  const history: { epoch: number; loss: number; val_accuracy: number | null; wall_s: number }[] = [];
  const net = trainClassifier(fit.images, fit.labels, fit.n, {
    arch,
    seed,
    epochs,
    val,
    onProgress: o.onProgress,
    onEpoch: (e) => {
      history.push({ epoch: e.epoch, loss: e.loss, val_accuracy: e.valAccuracy, wall_s: e.wallS });
      o.onEpoch?.(e);
    },
  });
  const trainS = (performance.now() - t0) / 1000;
  const testAccuracy = net.accuracy(test.images, test.labels, test.n);
  const info = {
    what: 'quality classifier for binarised Fashion-MNIST (pixel/255 > 0.1); its penultimate layer gives the features of the Frechet distance',
    command: ['dtca', 'eval', '--train-classifier', '--seed', String(seed), '--epochs', String(epochs)],
    seed,
    epochs,
    arch,
    params: paramCount(arch),
    ...TRAIN_DEFAULTS,
    binary_threshold: BINARY_THRESHOLD,
    train_images: `train split [0, ${nTrain})`,
    held_out_images: `train split [${TRAIN_SPLIT}, ${train.n})`,
    val_accuracy: history.length ? history[history.length - 1].val_accuracy : null,
    test_accuracy: testAccuracy,
    train_wall_s: trainS,
    machine: `${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores`,
    node: process.version,
    dtca_version: VERSION,
    created: creationTime(),
    history,
  };
  return { net, bytes: serialiseClassifier(net, info), info };
}
