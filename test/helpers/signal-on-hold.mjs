// Preloaded (node --import) into the built dtca by test/signal-commands.test.ts: sends this process
// the signal named by DTCA_TEST_SIGNAL (SIGINT or SIGTERM) when the first listener for it is added
// (Node starts catching the signal before this runs: it is held, not fatal), i.e. the moment dtca
// starts holding it (cli/early-signals.ts, the program's first lines), before any command starts
// and without any timing: the signal is delivered at the event loop's next turn.
const name = process.env.DTCA_TEST_SIGNAL;
let sent = false;
process.on('newListener', (event) => {
  if (event === name && !sent) {
    sent = true;
    process.kill(process.pid, name);
  }
});
