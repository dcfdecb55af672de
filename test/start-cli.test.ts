import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Background, run, until } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

describe('edgestream start and demo', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-start-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a bad config naming the file, the key, the value and what was expected', async () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'monitor:\n  topics:\n    partitions: 0\n');
    const result = await run('node', [bin, 'start', '--config', file], { timeoutMs: 30_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /bad\.yaml: monitor\.topics\.partitions = 0: .*>=1/);
  });

  it('runs broker, pipelines and HTTP API from a config file and stops cleanly on SIGTERM', async () => {
    const file = path.join(dir, 'edgestream.yaml');
    fs.writeFileSync(
      file,
      [
        'dataDir: state',
        'broker:',
        '  listen: 127.0.0.1:0',
        'http:',
        '  listen: 127.0.0.1:0',
        'notifiers: []',
        '',
      ].join('\n'),
    );
    const server = new Background('node', [bin, 'start', '--config', file], 60_000);
    try {
      await until(() => server.stdout.includes('edgestream started'), 30_000, 'the started log line');
      const started = JSON.parse(
        server.stdout.split('\n').find((line) => line.includes('edgestream started'))!,
      );
      const base = `http://${started.http.host}:${started.http.port}`;
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      const topics = (await (await fetch(`${base}/api/topics`)).json()) as {
        topics: Array<{ name: string }>;
      };
      const names = topics.topics.map((topic) => topic.name);
      assert.ok(names.includes('cdn.tcp') && names.includes('cdn.qoe'), names.join(','));
      assert.ok(
        fs.existsSync(path.join(dir, 'state', 'aggregates.db')),
        'store under the configured data dir',
      );
    } finally {
      await server.stop('SIGTERM');
    }
    assert.equal(await server.exited, 0);
  });

  it('demo --for N --json exits by itself and prints a one-line JSON summary last', async () => {
    const result = await run(
      'node',
      [
        bin,
        'demo',
        '--for',
        '8',
        '--json',
        '--rate',
        '2000',
        '--kafka-port',
        '0',
        '--http-port',
        '0',
        '--data-dir',
        path.join(dir, 'demo'),
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as {
      eventsProduced: number;
      eventsProcessed: number;
      faults: unknown[];
    };
    assert.ok(summary.eventsProduced > 5_000, `produced ${summary.eventsProduced}`);
    assert.ok(summary.eventsProcessed > 0, 'the pipelines processed events');
    assert.equal(summary.faults.length, 1, 'the retransmit storm is scheduled');
    assert.match(result.stderr, /produced \d+ ev\/s, processed \d+ ev\/s/);
  });
});
