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
/** The library's code for an error a broker answered with. */
const PROTOCOL_ERROR_CODE = 'PLT_KFK_PROTOCOL';

export function kafkaErrorWhere(error: unknown, property: string, value: unknown): boolean {
  if (!(error instanceof Error) || !GenericError.isGenericError(error)) return false;
  return (error as SearchableKafkaError).findBy(property, value) !== null;
}

/** Whether the library's error, or any cause it gathered, is Kafka's error `id`. */
export function kafkaError(error: unknown, id: ErrorCodeName): boolean {
  return kafkaErrorWhere(error, 'apiId', id);
}

/** Whether a broker answered with an error (or gathered ones): the same request is answered the same way. */
export function kafkaAnswered(error: unknown): boolean {
  return kafkaErrorWhere(error, 'code', PROTOCOL_ERROR_CODE);
}
