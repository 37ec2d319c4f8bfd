/** Worker thread of a sweep: measures points and ideal twins, one task per message, and replies. */
import { parentPort } from 'node:worker_threads';
import { errorReply } from '../../fabric/errors.js';
import { measurePoint, measureTwin } from './point.js';
import type { Task } from './pool.js';

parentPort!.on('message', async (task: Task) => {
  try {
    const result = task.kind === 'point' ? await measurePoint(task.point) : await measureTwin(task.twin, task.workload);
    parentPort!.postMessage({ ok: true, result });
  } catch (e) {
    const r = errorReply(e);
    // an internal error travels with its stack
    parentPort!.postMessage({ ok: false, ...r, error: !r.user && e instanceof Error ? (e.stack ?? e.message) : r.error });
  }
});
