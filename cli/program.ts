/**
 * The dtca program (dist/dtca.js, package.json's bin): holds SIGINT/SIGTERM first
 * (cli/early-signals.ts: a Ctrl-C while dtca starts is one line, not a silent exit), then loads the
 * CLI (dist/cli.js, built from cli/main.ts: compiling its 2 MB takes 0.1 s or more, under the hold)
 * and runs the command line. Imported instead (a worker thread running main() in-process, as the
 * tests' CLI pool does), it only hands over `main`.
 */
import { isProgram } from './early-signals.js';

type Cli = typeof import('./main.js');
// a computed name, so that the bundler leaves the CLI in its own file, loaded after the hold
const cli = (await import(new URL('./cli.js', import.meta.url).href)) as Cli;

export const main: Cli['main'] = cli.main;

if (isProgram(import.meta.url)) await cli.runProgram();
