// Build dist/ once (in this process: no child process) so CLI tests run the same bundle users get
// and worker threads started from the sources find dist/worker.js.
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';

export default async function setup(): Promise<void> {
  const buildScript = fileURLToPath(new URL('../../build.mjs', import.meta.url));
  // a query makes each setup (vitest watch re-runs) build again rather than reuse the module
  await import(`${pathToFileURL(buildScript).href}?t=${Date.now()}`);
}
