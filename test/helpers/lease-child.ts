// One process of test/lease.test.ts's race: waits for the `go` file, then `rounds` times takes the
// lock at `path` (sim/sweep/lease.ts, with the LEASE periods given as JSON), notes "in PID" and
// "out PID" in `log` around a short hold, and leaves the lock behind as a dead holder of another
// node would (a foreign text, an old mtime: its heartbeat stopped), so the other processes race to
// take it over. Run with node --import tsx from the repository root.
import { appendFileSync, existsSync, writeFileSync, utimesSync } from 'node:fs';
import { lock, LEASE } from '../../sim/sweep/lease.js';
import { quietContext } from '../../sim/context.js';

const [path, log, go, rounds, lease] = process.argv.slice(2);
Object.assign(LEASE, JSON.parse(lease));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
while (!existsSync(go)) await sleep(5);
for (let k = 0; k < Number(rounds); k++) {
  const release = await lock(path, quietContext(), 'race');
  appendFileSync(log, `in ${process.pid}\n`);
  await sleep(30);
  appendFileSync(log, `out ${process.pid}\n`);
  writeFileSync(path, `node-dead:${process.pid}:${k}\n`);
  const old = new Date(Date.now() - 3600_000);
  utimesSync(path, old, old);
  release(); // the lock is no longer this process's text: left in place, as a SIGKILL leaves it
}
