// Worker thread that runs the built CLI's main() in-process for test/helpers/cli-pool.ts: one
// message per invocation, stdout and stderr captured, process.env set per call. The pool
// terminates this worker when an invocation hangs (so a hang is a finding, not a stuck test).
import { parentPort, workerData } from 'node:worker_threads';

const { main } = await import(workerData.cli);
const baseline = new Set(Object.getOwnPropertyNames(Object.prototype));

parentPort.on('message', async (job) => {
  const out = [];
  const err = [];
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  const env = { ...process.env };
  process.stdout.write = (s, ...rest) => {
    out.push(typeof s === 'string' ? s : Buffer.from(s).toString('latin1'));
    const cb = rest.find((r) => typeof r === 'function');
    if (cb) cb();
    return true;
  };
  process.stderr.write = (s, ...rest) => {
    err.push(typeof s === 'string' ? s : Buffer.from(s).toString('latin1'));
    const cb = rest.find((r) => typeof r === 'function');
    if (cb) cb();
    return true;
  };
  for (const [k, v] of Object.entries(job.env ?? {})) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
  let code;
  let thrown = null;
  try {
    code = await main(job.args);
  } catch (e) {
    thrown = e instanceof Error ? (e.stack ?? e.message) : String(e);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
  }
  // anything a --set managed to hang on Object.prototype
  const polluted = Object.getOwnPropertyNames(Object.prototype).filter((k) => !baseline.has(k));
  for (const k of polluted) delete Object.prototype[k];
  parentPort.postMessage({ id: job.id, code, stdout: out.join(''), stderr: err.join(''), thrown, polluted });
});
parentPort.postMessage({ ready: true });
