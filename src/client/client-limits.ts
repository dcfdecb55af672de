/**
 * Bounds on what one call, or one client, may ask for. A caller's mistake (a runaway loop, a wrong unit) fails
 * at once with a LogClientError naming the limit instead of costing memory or a long stall.
 */
export const LOG_CLIENT_LIMITS = {
  maxRecordsPerProduce: 1_000_000,
  maxPartitionsPerFetch: 10_000,
  /** A fetch's maxBytes: what one call may hold in memory at once. */
  maxFetchBytes: 64 * 1024 * 1024,
  maxGroupsPerClient: 100,
  /**
   * A fetch's maxWaitMs in the embedded client. The remote client bounds it a second below its
   * requestTimeoutMs instead, so a long poll is never taken for a lost request.
   */
  maxFetchWaitMsEmbedded: 300_000,
  /** Embedded fetches waiting for data at once, each holding a timer and a watch on its partitions. */
  maxWaitingFetches: 1_000,
  /** Remote produce calls queued behind the one request in flight (also transactions per transactional writer). */
  maxQueuedProduceCalls: 10_000,
  /** Transactional writers one remote client has open, each with a producer and connections of its own. */
  maxTransactionalWriters: 1_000,
} as const;
