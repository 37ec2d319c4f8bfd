/** Worker thread of a sweep: trains models, measures points and ideal twins, one task per message, and replies. */
import { parentPort } from 'node:worker_threads';
import { UserError } from '../../fabric/errors.js';
import { resetOutputSession } from '../../fabric/files.js';
import { measurePoint, measureTwin } from './point.js';
import { trainModel } from './models.js';
import type { Task } from './pool.js';

parentPort!.on('message', async (task: Task) => {
  try {
    resetOutputSession();
    const result =
      task.kind === 'point' ? await measurePoint(task.point, task.modelFile) : task.kind === 'twin' ? await measureTwin(task.twin, task.workload, task.modelFile) : await trainModel(task.cache, task.job, { stages: task.stages });
    parentPort!.postMessage({ ok: true, result });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), message: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
  }
});
