// A Go client written by others: sarama (Shopify's, Debian's 1.22.1, built here from Debian's sources with Go in
// GOPATH mode, no network) runs a user's session (test/go/sarama-scenario): topic admin, an idempotent
// snappy-compressed producer, a consumer group that commits, group admin, DeleteRecords and DescribeCluster, on a
// single node and on a three-broker cluster. The records it consumed are checked against what it produced, and
// its committed offsets against kafkajs's view of the group.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { BrokerCluster } from './support/broker-cluster.js';
import { startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

const SOURCE = fileURLToPath(new URL('../../test/go/sarama-scenario', import.meta.url));
/** Debian's Go library sources (golang-github-shopify-sarama-dev and its dependencies). */
const DEBIAN_GOPATH = '/usr/share/gocode';
const RECORDS = 40;
const KEYS = 5;

const Summary = z.object({
  partitions: z.number(),
  retentionMs: z.string(),
  produced: z.number(),
  consumed: z.array(z.string()),
  groupListed: z.boolean(),
  groupState: z.string(),
  committedTotal: z.number(),
  trimmedFrom: z.number(),
  logStartOffset: z.number(),
  brokers: z.number(),
});

/** Every record the scenario produces, as `key=value`, sorted as the scenario sorts what it consumed. */
const expectedRecords = Array.from({ length: RECORDS }, (_, i) => `edge-${i % KEYS}=v${i}`).sort();

let work: string;
let binary: string;

async function scenario(bootstrap: string, topic: string, group: string, replicationFactor: number) {
  const result = await run(binary, [bootstrap, topic, group, String(replicationFactor)], {
    timeoutMs: 120_000,
  });
  assert.equal(result.status, 0, `sarama scenario failed: ${result.stderr}`);
  return Summary.parse(JSON.parse(result.stdout));
}

/** The group's committed offsets summed over the topic's partitions, as kafkajs's admin reads them. */
async function committedTotal(bootstrap: string, topic: string, group: string): Promise<number> {
  const admin = new Kafka({
    clientId: 'sarama-test',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return offsets!.partitions.reduce((total, p) => total + Number(p.offset), 0);
  } finally {
    await admin.disconnect();
  }
}

function checkSummary(summary: z.infer<typeof Summary>, brokers: number): void {
  assert.equal(summary.partitions, 4, 'CreatePartitions took the topic from 3 to 4 partitions');
  assert.equal(summary.retentionMs, '3600000', 'AlterConfigs changed what DescribeConfigs shows');
  assert.equal(summary.produced, RECORDS);
  assert.deepEqual(summary.consumed, expectedRecords, 'the group consumed every record once');
  assert.ok(summary.groupListed, 'ListGroups names the group');
  assert.equal(summary.groupState, 'Empty', 'the group is empty once its consumer closed');
  assert.equal(summary.committedTotal, RECORDS, 'committed offsets add up to every record');
  assert.equal(summary.logStartOffset, 1, 'DeleteRecords moved the log start');
  assert.equal(summary.brokers, brokers, 'DescribeCluster names every broker');
}

before(async () => {
  assert.ok(fs.existsSync('/usr/bin/go'), 'golang-go is installed (scripts/debian-packages.json)');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-sarama-'));
  binary = path.join(work, 'sarama-scenario');
  const build = await run('go', ['build', '-o', binary, '.'], {
    cwd: SOURCE,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${path.join(work, 'gopath')}:${DEBIAN_GOPATH}`,
      // A cache kept between runs: sarama and its dependencies compile once per machine.
      GOCACHE: path.join(os.tmpdir(), 'edgestream-go-cache'),
    },
    timeoutMs: 300_000,
  });
  assert.equal(build.status, 0, `go build failed: ${build.stderr}`);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('sarama (Go) against edgestream', { timeout: 420_000 }, () => {
  it('a single node', async () => {
    const broker = await startBroker();
    try {
      const summary = await scenario(broker.bootstrap, 'go-orders', 'go-group', 1);
      checkSummary(summary, 1);
      assert.equal(await committedTotal(broker.bootstrap, 'go-orders', 'go-group'), RECORDS);
    } finally {
      await broker.stop();
    }
  });

  it('a three-broker cluster', async () => {
    const cluster = await BrokerCluster.start();
    try {
      const summary = await scenario(cluster.bootstrap, 'go-orders', 'go-group', 3);
      checkSummary(summary, 3);
      assert.equal(await committedTotal(cluster.bootstrap, 'go-orders', 'go-group'), RECORDS);
    } finally {
      await cluster.stop();
    }
  });
});
