import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, until } from './support/processes.js';
import { readTopic } from './support/read-partition.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

/** Records, not offsets: the mirror's transactions put a commit marker after each batch it forwards. */
async function countRecords(client: EmbeddedLogClient, topic: string): Promise<number> {
  return (await readTopic(client, topic)).length;
}

describe('edge to cloud: edgestream start with a mirror section', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-edge-cloud-'));
  let cloud: RunningBroker | null = null;
  let edge: EdgestreamRuntime | null = null;
  after(async () => {
    await edge?.close();
    await cloud?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('forwards the final window aggregates to the cloud under the site prefix, each exactly once', async () => {
    cloud = await startBroker();
    edge = await EdgestreamRuntime.start(
      parseEdgestreamConfig({
        dataDir: dir,
        broker: { listen: '127.0.0.1:0' },
        http: { listen: '127.0.0.1:0' },
        notifiers: [],
        monitor: { commitInterval: '2s' },
        simulator: { enabled: true, rate: 2_000, scenario: 'none' },
        mirror: { target: [`127.0.0.1:${cloud.port}`], topics: '^cdn\\.aggregates$', prefix: 'site-a.' },
      }),
      pino({ level: 'warn' }),
    );
    const edgeClient = new EmbeddedLogClient(edge.broker.embeddedLog());
    const cloudClient = new EmbeddedLogClient(cloud.broker.embeddedLog());
    // The cloud layer: a pipeline on the central cluster ranks the worst edges over every forwarded site. It
    // runs while the edge still produces, so every partition's event time keeps moving and windows close.
    let ranking: Background | null = null;
    try {
      await until(
        () => cloud!.broker.logs.hasTopic('site-a.cdn.aggregates'),
        30_000,
        'the mirror to create site-a.cdn.aggregates on the cloud',
      );
      ranking = new Background(
        'node',
        [
          bin,
          'cloud',
          '--brokers',
          `127.0.0.1:${cloud.port}`,
          '--metric',
          'edge_tcp_1s',
          '--lateness',
          '3s',
          '--top',
          '3',
        ],
        90_000,
      );
      const deadline = Date.now() + 60_000;
      let rankings = 0;
      let atEdge = 0;
      while (Date.now() < deadline && (rankings === 0 || atEdge < 200)) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        atEdge = await countRecords(edgeClient, 'cdn.aggregates').catch(() => 0);
        rankings = await countRecords(cloudClient, 'cloud.worst-edges').catch(() => 0);
      }
      assert.ok(atEdge >= 200, `only ${atEdge} final windows at the edge`);
      assert.ok(
        rankings > 0,
        `no ranking from the cloud pipeline: ${ranking.stdout.slice(-2000)} ${ranking.stderr}`,
      );
      await edge.simulator!.close();
      await edge.monitor!.close();
      const finalAtEdge = await countRecords(edgeClient, 'cdn.aggregates');
      let atCloud = 0;
      while (Date.now() < deadline + 30_000 && atCloud < finalAtEdge) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        atCloud = await countRecords(cloudClient, 'site-a.cdn.aggregates').catch(() => 0);
      }
      assert.equal(atCloud, finalAtEdge, 'every final window reached the cloud once');
    } finally {
      await ranking?.stop();
      await edgeClient.close();
      await cloudClient.close();
    }
  });
});
