/**
 * How every benchmark script runs: `main`, then `teardown` whatever happened (also on Ctrl-C or
 * SIGTERM, then exit 130); a failure prints one line naming the benchmark and sets exit code 1.
 */
export function runBench(name: string, main: () => Promise<void>, teardown: () => Promise<void>) {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    void teardown().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  main()
    .catch((error: unknown) => {
      console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => teardown());
}
