/**
 * Resolves with the name of the first SIGINT or SIGTERM, then stops listening, so a second signal ends the
 * process at once if a clean shutdown hangs.
 */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
