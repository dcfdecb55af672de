import { GenericError } from '@platformatic/kafka';
import type { ErrorCodeName } from '../protocol/index.js';

// Apart from remote-common.ts (options and defaults, read by configs everywhere): what needs the Kafka client
// library loaded.

/** What GenericError and MultipleErrors share: findBy walks the causes gathered over retries and partitions. */
interface SearchableKafkaError {
  findBy(property: string, value: unknown): unknown;
}

/** The library's code for a connection that failed or was cut. */
export const NETWORK_ERROR_CODE = 'PLT_KFK_NETWORK';

export function kafkaErrorWhere(error: unknown, property: string, value: unknown): boolean {
  if (!(error instanceof Error) || !GenericError.isGenericError(error)) return false;
  return (error as SearchableKafkaError).findBy(property, value) !== null;
}

/** Whether the library's error, or any cause it gathered, is Kafka's error `id`. */
export function kafkaError(error: unknown, id: ErrorCodeName): boolean {
  return kafkaErrorWhere(error, 'apiId', id);
}
