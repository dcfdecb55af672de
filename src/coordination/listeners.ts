import type { Logger } from 'pino';

/**
 * Calls every listener with `value`. One that throws is logged and does not keep the others from hearing, nor
 * break the coordination pass that noticed the change.
 */
export function notifyAll<T>(
  listeners: Set<(value: T) => void>,
  value: T,
  logger: Logger,
  what: string,
): void {
  for (const listener of [...listeners]) {
    try {
      listener(value);
    } catch (error) {
      logger.error({ err: error }, `${what} listener failed`);
    }
  }
}
