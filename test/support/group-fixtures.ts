import {
  type CoordinatorOptions,
  GroupCoordinator,
  type JoinParams,
  type JoinResult,
} from '../../src/broker/group-coordinator.js';
import { OffsetStore } from '../../src/broker/offset-store.js';
import { LogManager } from '../../src/log/index.js';
import { RecordingLogger, temporaryDirectory } from './log-fixtures.js';

/** The one topic the fixture's coordinator knows, with its partition count. */
export const FIXTURE_TOPIC = 't';
const FIXTURE_PARTITIONS = 4;

/** A JoinGroup as a consumer in group `g` sends it; `overrides` change any field. */
export const joinParams = (memberId: string, overrides: Partial<JoinParams> = {}): JoinParams => ({
  groupId: 'g',
  memberId,
  groupInstanceId: null,
  clientId: 'client',
  clientHost: '127.0.0.1',
  sessionTimeoutMs: 300,
  rebalanceTimeoutMs: 1000,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('m') }],
  requireKnownMemberId: false,
  ...overrides,
});

export interface CoordinatorFixture {
  coordinator: GroupCoordinator;
  dir: string;
  logger: RecordingLogger;
  /** A new coordinator over the same data directory, as after a broker restart; the old one is closed. */
  restart(): Promise<GroupCoordinator>;
}

/** A coordinator over a fresh data directory, closed (with its logs) when `work` ends. */
export async function withCoordinator(
  work: (fixture: CoordinatorFixture) => Promise<void>,
  options: Partial<CoordinatorOptions> = {},
): Promise<void> {
  using tmp = temporaryDirectory();
  const logger = new RecordingLogger();
  const open = async () => {
    const logs = LogManager.open({ dataDir: tmp.dir, logger });
    const coordinator = new GroupCoordinator(await OffsetStore.open(logs), {
      initialRebalanceDelayMs: 20,
      minSessionTimeoutMs: 100,
      logger,
      partitionExists: (topic, partition) => topic === FIXTURE_TOPIC && partition < FIXTURE_PARTITIONS,
      ...options,
    });
    return { logs, coordinator };
  };
  let current = await open();
  const fixture: CoordinatorFixture = {
    coordinator: current.coordinator,
    dir: tmp.dir,
    logger,
    restart: async () => {
      current.coordinator.close();
      await current.logs.close();
      current = await open();
      fixture.coordinator = current.coordinator;
      return current.coordinator;
    },
  };
  try {
    await work(fixture);
  } finally {
    current.coordinator.close();
    await current.logs.close();
  }
}

/** Joins `groupId` as its only member and syncs, so the group is Stable with that member. */
export async function joinAndSync(
  coordinator: GroupCoordinator,
  groupId: string,
  overrides: Partial<JoinParams> = {},
): Promise<JoinResult> {
  const joined = await coordinator.join(joinParams('', { groupId, ...overrides }));
  if (joined.errorCode !== 0) return joined;
  const synced = await coordinator.sync({
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('p0') }],
  });
  return { ...joined, errorCode: synced.errorCode };
}

/** A commit of offset `offset` for t-0, as a standalone consumer (no generation) or as `member`. */
export function commitOne(
  coordinator: GroupCoordinator,
  groupId: string,
  offset: number,
  member: { memberId: string; generationId: number } = { memberId: '', generationId: -1 },
): Promise<Array<{ errorCode: number }>> {
  return coordinator.commitOffsets({
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    offsets: [{ topic: FIXTURE_TOPIC, partition: 0, offset, leaderEpoch: -1, metadata: null }],
  });
}
