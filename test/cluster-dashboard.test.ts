import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { AlertEngine, parseRules } from '../src/alerts/index.js';
import { offsetsPartitionOf } from '../src/broker/group-router.js';
import { Paths } from '../src/cluster/index.js';
import { ZooKeeperCoordinator } from '../src/coordination/index.js';
import { brokerClusterView, HttpApi, LiveFeed, type ReplicationView } from '../src/http/index.js';
import { SqliteAggregateStore } from '../src/store/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { type BrowserSession, openBrowser, requireDashboard, waitUntil } from './support/browser.js';

type Clustered = Extract<ReplicationView, { clustered: true }>;

interface Health {
  status: 'ok' | 'degraded';
  reason: string | null;
  cluster: boolean;
  coordination: {
    connected: boolean;
    unreachableSinceMs: number | null;
    leadershipConfirmed: boolean;
    leaderPartitions: number;
  } | null;
}

const TOPIC = 'site-telemetry';
/** A topic with its only replica on broker 1: the in-process broker 3 holds none of it. */
const SOLO_TOPIC = 'solo-on-1';

/** The HTTP API of one process in front of its in-process broker, as `edgestream start` runs them. */
interface ApiProcess {
  api: HttpApi;
  base: string;
  close(): Promise<void>;
}

async function startApi(running: RunningBroker, staticDir: string | null): Promise<ApiProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-cluster-dashboard-'));
  const store = SqliteAggregateStore.open({ path: path.join(dir, 'aggregates.db') });
  const engine = new AlertEngine({ rules: parseRules([]) });
  const api = await HttpApi.start({
    host: '127.0.0.1',
    port: 0,
    store,
    alerts: engine,
    cluster: brokerClusterView(running.broker),
    registries: [running.broker.metrics.registry, engine.metrics.registry],
    live: new LiveFeed({ maxClients: 4 }),
    logger: pino({ level: 'silent' }),
    staticDir,
  });
  return {
    api,
    base: `http://127.0.0.1:${api.address().port}`,
    async close() {
      await api.close();
      await engine.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

/** Polls `url` until `accept` holds; fails with the last answer. */
async function eventually<T>(url: string, accept: (value: T) => boolean, timeoutMs: number, what: string) {
  return waitUntil(what, () => getJson<T>(url), accept, timeoutMs);
}

describe('GET /api/cluster on a single node', () => {
  it('answers that the broker is not clustered, not an error', async () => {
    const running = await startBroker();
    const served = await startApi(running, null);
    try {
      const body = await getJson<ReplicationView>(`${served.base}/api/cluster`);
      assert.equal(body.clustered, false);
      assert.match((body as { message: string }).message, /single node/);
      const health = await getJson<Health>(`${served.base}/health`);
      assert.deepEqual(
        [health.status, health.reason, health.cluster, health.coordination],
        ['ok', null, true, null],
      );
    } finally {
      await served.close();
      await running.stop();
    }
  });
});

describe('the broker page and HTTP API on a three-broker cluster', { timeout: 240_000 }, () => {
  let cluster: BrokerCluster;
  let node3: RunningBroker;
  let http: ApiProcess;
  let session: BrowserSession | null = null;
  /** Reads /controller_epoch as the brokers' election wrote it. */
  let zookeeper: ZooKeeperCoordinator;
  const staticDir = path.resolve(import.meta.dirname, '..', 'web');

  before(async () => {
    requireDashboard();
    // Brokers 1 and 2 are processes; broker 3 runs here, where the HTTP API can reach its ClusterNode.
    cluster = await BrokerCluster.start({ brokers: 2 });
    node3 = await startBroker({
      nodeId: 3,
      cluster: {
        zookeeper: cluster.ensemble.connectString,
        zookeeperSessionTimeoutMs: 2000,
        replicaLagTimeMaxMs: 2000,
        controlledShutdownTimeoutMs: 2000,
      },
    });
    http = await startApi(node3, staticDir);
    zookeeper = new ZooKeeperCoordinator({
      connectString: cluster.ensemble.connectString,
      sessionTimeoutMs: 10_000,
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 5_000,
      logger: pino({ level: 'silent' }),
    });
    await zookeeper.start();
    session = await openBrowser({ width: 1600, height: 1200 });
  });

  const controllerEpoch = () => readControllerEpochWith(zookeeper);

  after(async () => {
    await session?.close().catch(() => undefined);
    await http?.close().catch(() => undefined);
    await zookeeper?.close().catch(() => undefined);
    await node3?.stop().catch(() => undefined);
    await cluster?.stop();
  });

  it('shows three live brokers, a controller, every partition in sync; then broker 1 down', async () => {
    const url = `${http.base}/api/cluster`;
    const registered = await eventually<Clustered>(
      url,
      (c) => c.clustered && c.brokers.filter((b) => b.alive).length === 3 && c.controller.id > 0,
      30_000,
      'three live brokers and a controller',
    );
    assert.equal(registered.nodeId, 3);
    assert.ok(registered.clusterId.length > 0);

    const kafka = new Kafka({
      clientId: 'cluster-dashboard-test',
      brokers: [...cluster.bootstrap.split(','), node3.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createReplicatedTopic(admin, TOPIC, 3);
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: SOLO_TOPIC, replicaAssignment: [{ partition: 0, replicas: [1] }] }],
      });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, value: `r-${i}` })),
    });
    await producer.disconnect();

    const ofTopic = (c: Clustered, topic: string) => c.partitions.filter((p) => p.topic === topic);
    const healthy = await eventually<Clustered>(
      url,
      (c) =>
        ofTopic(c, TOPIC).length === 3 &&
        ofTopic(c, TOPIC).every((p) => p.isr.length === 3 && !p.offline) &&
        ofTopic(c, SOLO_TOPIC).length === 1 &&
        c.underReplicatedPartitions === 0 &&
        c.offlinePartitions === 0 &&
        // Every follower of a partition broker 3 leads has fetched everything.
        c.followerLags.every((lag) => lag.lagOffsets === 0),
      30_000,
      'the RF3 topic in sync on three brokers',
    );
    assert.deepEqual(
      healthy.brokers.map((b) => [b.id, b.alive, b.host]),
      [
        [1, true, '127.0.0.1'],
        [2, true, '127.0.0.1'],
        [3, true, '127.0.0.1'],
      ],
    );
    assert.deepEqual(
      healthy.brokers.filter((b) => b.controller).map((b) => b.id),
      [healthy.controller.id],
    );
    assert.equal(healthy.brokers.find((b) => b.id === 3)!.port, node3.port);
    assert.ok((healthy.controller.epoch ?? 0) >= 1, `controller epoch ${healthy.controller.epoch}`);
    assert.equal(healthy.controller.epoch, await controllerEpoch());
    for (const p of ofTopic(healthy, TOPIC)) {
      assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
      assert.deepEqual([...p.isr].sort(), [1, 2, 3]);
      assert.deepEqual(p.offlineReplicas, []);
      assert.ok(p.leader !== null && p.replicas.includes(p.leader));
      assert.ok((p.leaderEpoch ?? -1) >= 0);
    }
    assert.equal(healthy.partitionCount, healthy.partitions.length);
    assert.equal(healthy.truncated, false);
    // Broker 3 measures its own followers: two per partition it leads.
    const led = ofTopic(healthy, TOPIC).filter((p) => p.leader === 3);
    for (const p of led) {
      assert.deepEqual(
        healthy.followerLags
          .filter((lag) => lag.topic === TOPIC && lag.partition === p.partition)
          .map((lag) => lag.follower)
          .sort(),
        [1, 2],
      );
    }
    assert.equal(healthy.leaderPartitions >= led.length, true);
    for (const value of Object.values(healthy.counters).filter((v) => typeof v === 'number'))
      assert.ok(Number.isInteger(value) && value >= 0);

    // /api/topics lists the whole cluster's topics; offsets only where broker 3 holds a replica.
    const { topics } = await getJson<{
      topics: Array<{ name: string; partitions: Array<{ logEndOffset: number | null }> }>;
    }>(`${http.base}/api/topics`);
    const replicated = topics.find((t) => t.name === TOPIC);
    assert.deepEqual(
      replicated?.partitions.map((p) => p.logEndOffset),
      [10, 10, 10],
    );
    assert.deepEqual(
      topics.find((t) => t.name === SOLO_TOPIC)?.partitions.map((p) => p.logEndOffset),
      [null],
    );
    // Groups with committed offsets, coordinated by whichever broker leads their offsets partition: the
    // listing of broker 3 has them all, those of brokers 1 and 2 read over the Kafka protocol.
    const coordinatorOf = (c: Clustered, groupId: string) =>
      c.partitions.find(
        (p) => p.topic === '__consumer_offsets' && p.partition === offsetsPartitionOf(groupId, 12),
      )?.leader;
    const groupAdmin = kafka.admin();
    await groupAdmin.connect();
    // setOffsets runs a consumer through a whole join and leave (about 5 s): the groups commit at once.
    const committed = new Map<string, number>(
      Array.from({ length: 8 }, (_, i) => [`dashboard-group-${i}`, i]),
    );
    try {
      await Promise.all(
        [...committed].map(([groupId, offset]) =>
          groupAdmin.setOffsets({
            groupId,
            topic: TOPIC,
            partitions: [{ partition: 1, offset: String(offset) }],
          }),
        ),
      );
    } finally {
      await groupAdmin.disconnect();
    }
    const withGroups = await getJson<Clustered>(url);
    const coordinators = new Set([...committed.keys()].map((id) => coordinatorOf(withGroups, id)));
    assert.ok(
      [...coordinators].some((id) => id !== 3),
      `some groups coordinated elsewhere than broker 3: ${[...coordinators]}`,
    );
    const listing = await getJson<{
      groups: Array<{
        groupId: string;
        offsets: Array<{ partition: number; committedOffset: number; lag: number }>;
      }>;
      unreachableBrokers: number[];
    }>(`${http.base}/api/groups`);
    assert.deepEqual(listing.unreachableBrokers, []);
    assert.deepEqual(
      listing.groups.filter((g) => committed.has(g.groupId)).map((g) => [g.groupId, g.offsets]),
      [...committed].map(([groupId, offset]) => [
        groupId,
        [
          {
            topic: TOPIC,
            partition: 1,
            committedOffset: offset,
            processedOffset: null,
            highWatermark: 10,
            lag: 10 - offset,
          },
        ],
      ]),
    );

    const metrics = await (await fetch(`${http.base}/metrics`)).text();
    assert.match(metrics, /^edgestream_cluster_brokers 3$/m);

    const page = session!.page;
    await page.goto(`${http.base}/broker`, { waitUntil: 'load' });
    await page.locator('.cluster-section tr[data-broker="3"][data-alive="true"]').waitFor();
    assert.equal(await page.locator('.cluster-section tr[data-alive="true"]').count(), 3);
    assert.equal(
      await page.locator(`.cluster-section tr[data-topic="${TOPIC}"][data-health="healthy"]`).count(),
      3,
    );
    await page.locator(`.topic-card[data-topic="${TOPIC}"]`).waitFor();
    assert.equal(await page.locator('.group-card[data-group^="dashboard-group-"]').count(), committed.size);
    await session!.screenshot('cluster-broker-page');

    await cluster.kill(1);
    const degraded = await eventually<Clustered>(
      url,
      (c) =>
        c.brokers.find((b) => b.id === 1)?.alive === false &&
        c.controller.id > 1 &&
        ofTopic(c, TOPIC).every((p) => p.underReplicated && !p.isr.includes(1) && !p.offline) &&
        ofTopic(c, SOLO_TOPIC)[0]?.offline === true,
      30_000,
      'broker 1 down, its partitions under-replicated or offline',
    );
    assert.deepEqual(
      degraded.brokers.map((b) => [b.id, b.alive]),
      [
        [1, false],
        [2, true],
        [3, true],
      ],
    );
    assert.equal(degraded.brokers[0]!.host, null);
    for (const p of ofTopic(degraded, TOPIC)) assert.deepEqual(p.offlineReplicas, [1]);
    assert.deepEqual(ofTopic(degraded, SOLO_TOPIC)[0]!.offlineReplicas, [1]);
    assert.ok(degraded.underReplicatedPartitions >= 3, `${degraded.underReplicatedPartitions}`);
    assert.ok(degraded.offlinePartitions >= 1, `${degraded.offlinePartitions}`);
    const after = await (await fetch(`${http.base}/metrics`)).text();
    assert.match(after, /^edgestream_cluster_brokers 2$/m);
    // The epoch is the election's, not the newest found in partition states: a new controller shows it at
    // once, before it has written any state.
    const epochNow = await controllerEpoch();
    await eventually<Clustered>(url, (c) => c.controller.epoch === epochNow, 5_000, 'the controller epoch');
    if (degraded.controller.id !== healthy.controller.id)
      assert.ok(epochNow > healthy.controller.epoch!, `epoch ${epochNow} after a new controller`);
    // Broker 1's replicas leave the ISRs by the controller's decision (it led some __consumer_offsets
    // partitions, so a leader cannot have done it): counted when broker 3 is that controller.
    assert.match(after, /^# TYPE edgestream_cluster_controller_isr_shrinks_total counter$/m);
    const { counters } = degraded;
    assert.equal(counters.isrShrinks, counters.isrShrinksBy.leader + counters.isrShrinksBy.controller);
    if (degraded.controller.id === 3) {
      const fresh = await getJson<Clustered>(url);
      assert.ok(fresh.counters.isrShrinksBy.controller >= 1, JSON.stringify(fresh.counters));
      assert.match(after, /^edgestream_cluster_controller_isr_shrinks_total\{reason="leader-lost"\} [1-9]/m);
    }

    await page.locator('.cluster-section tr[data-broker="1"][data-alive="false"]').waitFor();
    await waitUntil(
      'the partitions table catching up',
      () =>
        page.locator(`.cluster-section tr[data-topic="${TOPIC}"][data-health="under-replicated"]`).count(),
      (n) => n === 3,
      10_000,
    );
    assert.equal(
      await page.locator(`.cluster-section tr[data-topic="${SOLO_TOPIC}"][data-health="offline"]`).count(),
      1,
    );
    assert.equal(
      await page.locator('.cluster-section [data-summary="offline"] .value').textContent(),
      String(degraded.offlinePartitions),
    );
    await session!.screenshot('cluster-broker-page-down');
    assert.deepEqual(session!.errors, []);
  });

  it('says in /health, still 200, that ZooKeeper is out of reach, and ok once it is back', async () => {
    const healthUrl = `${http.base}/health`;
    const before = await getJson<Health>(healthUrl);
    assert.equal(before.status, 'ok', JSON.stringify(before));
    assert.equal(before.reason, null);
    assert.deepEqual(
      before.coordination && [before.coordination.connected, before.coordination.unreachableSinceMs],
      [true, null],
    );
    assert.equal(before.coordination?.leadershipConfirmed, true);
    const { leaderPartitions } = await getJson<Clustered>(`${http.base}/api/cluster`);
    assert.equal(before.coordination?.leaderPartitions, leaderPartitions);

    await Promise.all(cluster.ensemble.members.map((member) => member.kill('SIGKILL')));
    // getJson asserts 200 on every poll: a broker that serves is healthy for a load balancer.
    const degraded = await eventually<Health>(
      healthUrl,
      (h) => h.status === 'degraded' && h.coordination?.unreachableSinceMs !== null,
      15_000,
      '/health degraded',
    );
    assert.equal(degraded.coordination?.connected, false);
    assert.match(degraded.reason ?? '', /^ZooKeeper unreachable for \d+ s: topic creation and deletion/);
    assert.ok(degraded.coordination!.unreachableSinceMs! <= Date.now());
    const stale = await getJson<Clustered>(`${http.base}/api/cluster`);
    assert.equal(stale.coordinationConnected, false);
    assert.match(
      await (await fetch(`${http.base}/metrics`)).text(),
      /^edgestream_cluster_coordination_connected 0$/m,
    );

    await Promise.all(cluster.ensemble.members.map((member) => member.restart()));
    const back = await eventually<Health>(healthUrl, (h) => h.status === 'ok', 60_000, '/health ok again');
    assert.equal(back.reason, null);
    assert.equal(back.coordination?.connected, true);
    assert.equal(back.coordination?.unreachableSinceMs, null);
    assert.equal(back.coordination?.leadershipConfirmed, true);
  });
});

async function readControllerEpochWith(zookeeper: ZooKeeperCoordinator): Promise<number> {
  const node = await zookeeper.get(Paths.controllerEpoch);
  assert.ok(node, `${Paths.controllerEpoch} exists once a controller was elected`);
  return Number(node.data.toString('utf8'));
}
