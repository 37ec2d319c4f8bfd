/** Worker thread of a sweep: measures points and ideal twins, one task per message, and replies. */
import { parentPort } from 'node:worker_threads';
import { UserError } from '../../fabric/errors.js';
import { measurePoint, measureTwin } from './point.js';
import type { Task } from './pool.js';

parentPort!.on('message', async (task: Task) => {
  try {
    const result = task.kind === 'point' ? await measurePoint(task.point) : await measureTwin(task.twin, task.workload);
    parentPort!.postMessage({ ok: true, result });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), message: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
  }
});
