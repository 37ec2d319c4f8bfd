// Build dist/ once (in this process: no child process) so CLI tests run the same bundle users get
// and worker threads started from the sources find dist/worker.js.
// Every test's temporary files go under one directory of this run (TMPDIR, which os.tmpdir() and
// the test processes forked after this setup read), removed when the run ends: a test suite run
// otherwise leaves about a hundred directories in /tmp each time.
// Vitest runs a global setup once per project (vitest.config.ts has three): the first does the
// work, the others find it done (one build, one directory: nested directories made Chromium's
// socket path longer than a Unix socket may be).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';

const DONE = 'DTCA_TEST_SETUP_ROOT';

export default async function setup(): Promise<() => void> {
  if (process.env[DONE]) return () => {};
  const buildScript = fileURLToPath(new URL('../../build.mjs', import.meta.url));
  // a query makes each setup (vitest watch re-runs) build again rather than reuse the module
  await import(`${pathToFileURL(buildScript).href}?t=${Date.now()}`);
  const before = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'dtca-tests-'));
  process.env.TMPDIR = root;
  process.env[DONE] = root;
  return () => {
    delete process.env[DONE];
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      // a mount a failed test left behind: say so rather than fail the run
      console.warn(`test temporary directory ${root} not removed: ${(e as Error).message}`);
    }
  };
}
