/**
 * The thread entry of a tile of one chain split over threads (built as dist/tile-worker.js): the
 * loop of cells/wasm/tiles.ts, which says what a tile does.
 */
import { workerData } from 'node:worker_threads';
import { tileWorkerLoop, type TileWorkerData } from './tiles.js';

tileWorkerLoop(workerData as TileWorkerData);
