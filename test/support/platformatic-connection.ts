import { ConnectionPool, parseBroker } from '@platformatic/kafka';

export type PlatformaticConnection = Awaited<ReturnType<ConnectionPool['getFirstAvailable']>>;

/**
 * One @platformatic/kafka connection to `address` (host:port) for `work`, closed after: for the library's
 * request functions of APIs its Admin does not wrap (describeClusterV1, describeProducersV0, ...).
 */
export async function withPlatformaticConnection<T>(
  address: string,
  work: (connection: PlatformaticConnection) => Promise<T>,
): Promise<T> {
  const pool = new ConnectionPool('edgestream-test', { connectTimeout: 5_000, requestTimeout: 10_000 });
  try {
    return await work(await pool.getFirstAvailable([parseBroker(address)]));
  } finally {
    await pool.close();
  }
}
