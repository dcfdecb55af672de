// The edge runtime on a three-node cluster: `edgestream start --config` with a `cluster:` section on each node
// (broker + pipelines + alerting + HTTP), a three-member ZooKeeper ensemble, and `edgestream simulate` with a
// retransmit storm producing to the cluster. The pipelines of the three nodes are one consumer group; the
// storm's alert is notified by one node only and listed by all three; each node's API shows every edge of the
// site; a silence made on one node is on the others; when the node coordinating the group is SIGKILLed the
// others take over its series.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import YAML from 'yaml';
import type { AlertNotification } from '../src/alerts/notifiers/notifier.js';
import { offsetsPartitionOf } from '../src/broker/group-router.js';
import { Background, eventually, until } from './support/processes.js';
import { type Ensemble, freePorts, startZooKeeperEnsemble } from './support/zookeeper.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const NODES = [1, 2, 3];
const EDGES = 12;
const SITES = 3;
const GROUP = 'edgestream-monitor';

interface Node {
  id: number;
  kafka: string;
  http: string;
  configFile: string;
  process: Background | null;
}

/** Every firing alert each node notified, by node (each node's webhook has its own path). */
class WebhookReceiver {
  readonly firing = new Map<number, Array<Record<string, string>>>();
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const node = Number(request.url?.split('/').at(-1));
      const notification = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotification;
      for (const alert of notification.alerts) {
        if (alert.status !== 'firing') continue;
        const list = this.firing.get(node) ?? [];
        list.push(alert.labels);
        this.firing.set(node, list);
      }
      response.writeHead(200).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/node`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** What went wrong in a process, for a failure message: its errors (pino level 50 and up) and stderr. */
function troubles(name: string, process: Background | null): string {
  if (process === null) return '';
  const errors = process.stdout
    .split('\n')
    .filter((line) => /"level":[56]0/.test(line))
    .map((line) => line.slice(0, 400));
  return `${name}: ${[...errors.slice(-5), process.stderr.slice(-500)].join(' | ')}`;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200, `${url}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

interface AlertList {
  alerts: Array<{
    rule: string;
    state: string;
    labels: Record<string, string>;
    fingerprint: string;
    silencedBy: string | null;
  }>;
}
interface LatestList {
  points: Array<{ dimensions: Record<string, string>; windowEndMs: number }>;
}

/** The edges whose latest 1 s tcp window ends after `sinceMs`, as a node's API shows them. */
async function edgesReportedSince(node: Node, sinceMs: number): Promise<Set<string>> {
  const latest = await getJson<LatestList>(
    `http://${node.http}/api/aggregates/latest?metric=edge_tcp_1s&windowSize=1s&orderBy=retransmit_pct&limit=1000`,
  );
  return new Set(latest.points.filter((s) => s.windowEndMs > sinceMs).map((s) => s.dimensions.edge!));
}

describe('the edge runtime on a three-node cluster', { timeout: 6 * 60_000 }, () => {
  let ensemble: Ensemble;
  let dir: string;
  const nodes: Node[] = [];
  const webhook = new WebhookReceiver();
  let simulator: Background;
  const kafka = () =>
    new Kafka({ clientId: 'runtime-test', brokers: nodes.map((n) => n.kafka), logLevel: logLevel.NOTHING });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-cluster-runtime-'));
    ensemble = await startZooKeeperEnsemble();
    const webhookUrl = await webhook.start();
    const ports = await freePorts(NODES.length * 2);
    for (const [i, id] of NODES.entries()) {
      const node: Node = {
        id,
        kafka: `127.0.0.1:${ports[2 * i]}`,
        http: `127.0.0.1:${ports[2 * i + 1]}`,
        configFile: path.join(dir, `node-${id}.yaml`),
        process: null,
      };
      fs.writeFileSync(
        node.configFile,
        YAML.stringify({
          dataDir: path.join(dir, `node-${id}`),
          broker: { listen: node.kafka, defaultPartitions: 4 },
          http: { listen: node.http },
          monitor: { topics: { partitions: 6 }, commitInterval: '2s' },
          notifiers: [{ kind: 'webhook', url: `${webhookUrl}/${id}`, timeout: '2s' }],
          cluster: {
            nodeId: id,
            zookeeper: ensemble.connectString,
            zookeeperSessionTimeoutMs: 2000,
            replicaLagTimeMaxMs: 2000,
            minInsyncReplicas: 2,
          },
        }),
      );
      nodes.push(node);
    }
    for (const node of nodes)
      node.process = new Background('node', [bin, 'start', '--config', node.configFile], 6 * 60_000);
    for (const node of nodes) {
      const started = node.process!;
      await until(
        () => started.stdout.includes('"edgestream started"'),
        90_000,
        `node ${node.id} to start`,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${started.stderr.slice(-800)} ${started.stdout.slice(-1500)}`);
      });
    }
    simulator = new Background(
      'node',
      [
        bin,
        'simulate',
        '--brokers',
        nodes.map((n) => n.kafka).join(','),
        '--rate',
        '1500',
        '--edges',
        String(EDGES),
        '--sites',
        String(SITES),
        '--seed',
        '7',
        '--scenario',
        'retransmit-storm',
        '--fault-start',
        '15',
        '--fault-duration',
        '300',
        '--partitions',
        '6',
      ],
      6 * 60_000,
    );
  });

  after(async () => {
    await simulator?.stop('SIGKILL');
    for (const node of nodes) await node.process?.stop('SIGKILL');
    await webhook.close();
    await ensemble?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the pipelines of the three nodes as one consumer group', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const { groups } = await admin.describeGroups([GROUP]).catch(() => ({ groups: [] }));
          const group = groups[0];
          return group?.state === 'Stable' && new Set(group.members.map((m) => m.clientId)).size === 3;
        },
        90_000,
        'the three nodes in the group',
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('shows every edge server of the site on every node', async () => {
    const sinceMs = Date.now();
    for (const node of nodes) {
      await eventually(
        async () => (await edgesReportedSince(node, sinceMs)).size === EDGES,
        60_000,
        `node ${node.id} to show all ${EDGES} edges`,
      );
    }
  });

  it('notifies the storm from one node only, and lists it firing on every node', async () => {
    const stormNotifiers = () =>
      [...webhook.firing].filter(([, alerts]) => alerts.some((a) => a.alertname === 'RetransmitStorm'));
    await until(() => stormNotifiers().length > 0, 90_000, 'a RetransmitStorm notification');
    for (const node of nodes) {
      await eventually(
        async () =>
          (await getJson<AlertList>(`http://${node.http}/api/alerts?state=firing`)).alerts.some(
            (a) => a.rule === 'RetransmitStorm',
          ),
        30_000,
        `node ${node.id} to list the storm firing`,
      );
    }
    // Time for a second node to notify the same alert, if it were evaluating it too.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const notifiers = stormNotifiers().map(([node]) => node);
    assert.equal(notifiers.length, 1, `nodes that notified the storm: ${notifiers.join(', ')}`);
  });

  it('shares a silence made on one node with the others', async () => {
    const nowMs = Date.now();
    const response = await fetch(`http://${nodes[1]!.http}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ label: 'alertname', op: '=', value: 'RetransmitStorm' }],
        startsAtMs: nowMs,
        endsAtMs: nowMs + 600_000,
        createdBy: 'test',
        comment: 'cluster test',
      }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { silence } = (await response.json()) as { silence: { id: string } };
    for (const node of nodes) {
      await eventually(
        async () => {
          const { alerts } = await getJson<AlertList>(`http://${node.http}/api/alerts?state=firing`);
          return alerts.some((a) => a.rule === 'RetransmitStorm' && a.silencedBy === silence.id);
        },
        30_000,
        `node ${node.id} to show the storm silenced by ${silence.id}`,
      );
    }
  });

  it("carries on with every edge when the node coordinating the pipelines' group is SIGKILLed", async () => {
    // The harder node to lose: the others' group members must find a new coordinator as well.
    const admin = kafka().admin();
    await admin.connect();
    let coordinator: number;
    try {
      const [offsets] = (await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics;
      const partition = offsetsPartitionOf(GROUP, offsets!.partitions.length);
      coordinator = offsets!.partitions.find((p) => p.partitionId === partition)!.leader;
    } finally {
      await admin.disconnect();
    }
    const victim = nodes.find((n) => n.id === coordinator)!;
    await victim.process!.stop('SIGKILL');
    victim.process = null;
    const killedAtMs = Date.now();
    for (const node of nodes.filter((n) => n !== victim)) {
      await eventually(
        async () => (await edgesReportedSince(node, killedAtMs + 5_000)).size === EDGES,
        90_000,
        `node ${node.id} to show all ${EDGES} edges after node ${victim.id} died`,
      ).catch((error: Error) => {
        const found = [
          troubles('simulator', simulator),
          ...nodes.map((n) => troubles(`node ${n.id}`, n.process)),
        ];
        throw new Error(`${error.message}; ${found.join('; ')}`);
      });
    }
    const survivors = kafka().admin();
    await survivors.connect();
    try {
      const { groups } = await survivors.describeGroups([GROUP]);
      assert.equal(new Set(groups[0]!.members.map((m) => m.clientId)).size, 2);
    } finally {
      await survivors.disconnect();
    }
  });
});
