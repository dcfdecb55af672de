import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AGENT_PROVENANCE_HEADER } from '../src/agent/index.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { HOST_TOPIC, QOE_TOPIC, TCP_TOPIC } from '../src/simulate/telemetry.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, eventually, run } from './support/processes.js';
import { readTopic } from './support/read-partition.js';
import { makeTestCertificates, type TestCertificates } from './support/tls-fixtures.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const EDGE = 'edge-test-1';
const SITE = 'tst1';

/** Every record of the topic, all partitions. */
function readAll(broker: Broker, topic: string): Promise<ConsumedRecord[]> {
  return readTopic(new EmbeddedLogClient(broker.embeddedLog()), topic);
}

function eventOf(record: ConsumedRecord): Record<string, unknown> {
  // Values are our own JSON objects; the assertions check the fields they use.
  return JSON.parse(record.value!.toString('utf8'));
}

/** The spool sequences of the agent's records in a topic, in log order. */
function sequencesOf(records: ConsumedRecord[]): number[] {
  return records.map((record) => {
    const header = record.headers.find((h) => h.key === AGENT_PROVENANCE_HEADER);
    return Number(header!.value!.toString('latin1').split(':')[1]);
  });
}

/** One line of the edgestream nginx log_format, for a segment request with CMCD in its query. */
function nginxLine(session: string, nowMs: number): string {
  const cmcd = encodeURIComponent(
    `bl=9000,br=3500,cid="live/sports-1",d=2000,mtp=25000,ot=v,sid="${session}"`,
  );
  const msec = (nowMs / 1000).toFixed(3);
  return (
    `127.0.0.1 - - [07/Dec/2026:00:00:00 +0000] "GET /live/sports-1/seg.m4s?CMCD=${cmcd} HTTP/1.1" 200 800000 ` +
    `"-" "test-player" 0.250 ${msec} "HIT" "-" "-" "-" "-"\n`
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** nginx in the foreground with the edgestream log_format of docs/agent.md; nginx cannot listen on port 0. */
function nginxConfig(prefix: string, accessLog: string, port: number): string {
  return `daemon off;
worker_processes 1;
error_log ${prefix}/logs/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  client_body_temp_path ${prefix}/tmp;
  log_format edgestream '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $msec "$upstream_cache_status" "$http_cmcd_request" "$http_cmcd_object" "$http_cmcd_status" "$http_cmcd_session"';
  access_log ${accessLog} edgestream;
  server { listen 127.0.0.1:${port}; location / { return 200 "segment"; } }
}
`;
}

describe('edgestream agent', { timeout: 150_000 }, () => {
  let broker: RunningBroker;
  let server: http.Server;
  let port: number;
  const sockets: net.Socket[] = [];
  let traffic: NodeJS.Timeout;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-agent-test-'));
  const logPath = path.join(dir, 'access.log');
  const spoolDir = path.join(dir, 'spool');
  const agents: Background[] = [];

  const startAgent = () => {
    const agent = new Background(
      process.execPath,
      [
        bin,
        'agent',
        '--brokers',
        broker.bootstrap,
        '--edge',
        EDGE,
        '--site',
        SITE,
        '--interval',
        '500ms',
        '--port',
        String(port),
        '--access-log',
        logPath,
        '--format',
        'nginx',
        '--spool-dir',
        spoolDir,
      ],
      120_000,
    );
    agents.push(agent);
    return agent;
  };

  before(async () => {
    broker = await startBroker();
    server = http.createServer({ keepAlive: true }, (_, response) => response.end('x'.repeat(20_000)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    // A trickle of requests on every connection, so their counters move.
    traffic = setInterval(() => {
      for (const socket of sockets) socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    }, 200);
  });

  after(async () => {
    clearInterval(traffic);
    for (const agent of agents) await agent.stop('SIGKILL');
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await broker?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends connection stats, host counters and CMCD segments once each, across a rotation and an outage', async () => {
    const agent = startAgent();
    await eventually(async () => agent.stdout.includes('agent started'), 20_000, 'the agent to start');
    const localPorts = new Set(sockets.map((s) => `127.0.0.1:${port}-127.0.0.1:${s.localPort}`));

    await eventually(
      async () => {
        const conns = new Set(
          (await readAll(broker.broker, TCP_TOPIC)).map(eventOf).map((v) => String(v.conn)),
        );
        return [...localPorts].every((conn) => conns.has(conn));
      },
      20_000,
      'tcp_stats for every test connection',
    );
    const tcpRecords0 = await readAll(broker.broker, TCP_TOPIC);
    for (const record of tcpRecords0) assert.equal(record.key!.toString(), EDGE);
    const tcp = tcpRecords0.map(eventOf);
    for (const event of tcp) {
      assert.equal(event.edge, EDGE);
      assert.equal(event.site, SITE);
      assert.equal(event.type, 'tcp_stats');
    }
    assert.ok(tcp.some((event) => Number(event.bytesSent) > 0 && Number(event.segmentsOut) > 0));
    await eventually(
      async () => (await readAll(broker.broker, HOST_TOPIC)).some((r) => eventOf(r).type === 'tcp_host'),
      10_000,
      'tcp_host in cdn.host',
    );

    // The log is written line by line, rotated by rename, and the renamed file still gets a line afterwards
    // (a writer that has not reopened yet).
    const sessions: string[] = [];
    const write = (file: string, session: string) => {
      sessions.push(session);
      fs.appendFileSync(file, nginxLine(session, Date.now()));
    };
    write(logPath, 's-0');
    write(logPath, 's-1');
    await new Promise((resolve) => setTimeout(resolve, 700));
    write(logPath, 's-2');
    fs.renameSync(logPath, `${logPath}.1`);
    write(`${logPath}.1`, 's-3');
    write(logPath, 's-4');
    await new Promise((resolve) => setTimeout(resolve, 700));
    write(logPath, 's-5');

    const segmentSessions = async () =>
      (await readAll(broker.broker, QOE_TOPIC)).map(eventOf).filter((v) => v.type === 'segment');
    await eventually(async () => (await segmentSessions()).length >= sessions.length, 15_000, 'segments');

    // Outage: the agent keeps sampling into its spool, then sends it all once the broker is back.
    const { dataDir, port: brokerPort } = broker;
    await broker.broker.close();
    const outageStartMs = Date.now();
    write(logPath, 's-6');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    write(logPath, 's-7');
    const outageEndMs = Date.now();
    broker.broker = await Broker.start(
      parseBrokerConfig({ dataDir, listen: `127.0.0.1:${brokerPort}`, groupInitialRebalanceDelayMs: 100 }),
      pino({ level: 'silent' }),
    );
    await eventually(
      async () => (await segmentSessions()).length >= sessions.length,
      40_000,
      'segments after outage',
    );

    // A crash and a restart of the agent: what it had sent is not sent again.
    await agent.stop('SIGKILL');
    const restarted = startAgent();
    write(logPath, 's-8');
    await eventually(
      async () => (await segmentSessions()).length >= sessions.length,
      30_000,
      'segment after restart',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const segments = await segmentSessions();
    assert.deepEqual(
      segments.map((s) => s.session).sort(),
      [...sessions].sort(),
      'every segment exactly once',
    );
    for (const segment of segments) {
      assert.equal(segment.edge, EDGE);
      assert.equal(segment.downloadMs, 250);
      assert.equal(segment.httpStatus, 200);
      assert.equal(segment.stream, 'sports-1');
    }
    const tcpRecords = await readAll(broker.broker, TCP_TOPIC);
    const seqs = sequencesOf(tcpRecords);
    for (let i = 1; i < seqs.length; i++)
      assert.ok(seqs[i]! > seqs[i - 1]!, 'tcp records once each and in order');
    const sampledInOutage = tcpRecords
      .map(eventOf)
      .filter((v) => Number(v.ts) > outageStartMs + 500 && Number(v.ts) < outageEndMs - 500);
    assert.ok(
      sampledInOutage.length >= 5,
      `samples taken during the outage arrive (${sampledInOutage.length})`,
    );
    const access = (await readAll(broker.broker, HOST_TOPIC))
      .map(eventOf)
      .filter((v) => v.type === 'http_access');
    const requests = access.reduce((sum, v) => sum + Number(v.requests), 0);
    assert.equal(requests, sessions.length);
    await restarted.stop('SIGTERM');
  });

  it('follows a real nginx access log in the edgestream format across a rename and nginx reopening it', async () => {
    const nginxDir = path.join(dir, 'nginx');
    fs.mkdirSync(path.join(nginxDir, 'logs'), { recursive: true });
    const nginxLog = path.join(nginxDir, 'logs', 'access.log');
    const nginxPort = await freePort();
    fs.writeFileSync(path.join(nginxDir, 'nginx.conf'), nginxConfig(nginxDir, nginxLog, nginxPort));
    const nginx = new Background(
      '/usr/sbin/nginx',
      ['-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf')],
      90_000,
    );
    agents.push(nginx);
    const agent = new Background(
      process.execPath,
      [
        bin,
        'agent',
        '--brokers',
        broker.bootstrap,
        '--edge',
        'edge-nginx',
        '--site',
        SITE,
        '--interval',
        '500ms',
        '--port',
        String(nginxPort),
        '--access-log',
        nginxLog,
        '--format',
        'nginx',
        '--spool-dir',
        path.join(dir, 'spool-nginx'),
      ],
      90_000,
    );
    agents.push(agent);
    await eventually(async () => agent.stdout.includes('agent started'), 20_000, 'the agent to start');
    const get = async (session: string) => {
      const cmcd = encodeURIComponent(`br=3500,d=2000,ot=v,cid="live/sports-2",sid="${session}"`);
      const response = await fetch(`http://127.0.0.1:${nginxPort}/live/sports-2/seg.m4s?CMCD=${cmcd}`);
      await response.arrayBuffer();
    };
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${nginxPort}/`)).ok,
      10_000,
      'nginx to listen',
    );
    for (const session of ['n-0', 'n-1', 'n-2']) await get(session);
    await new Promise((resolve) => setTimeout(resolve, 700));
    fs.renameSync(nginxLog, `${nginxLog}.1`);
    await get('n-3'); // still written to the renamed file: nginx has not reopened yet
    nginx.signal('SIGUSR1');
    await eventually(async () => fs.existsSync(nginxLog), 10_000, 'nginx to reopen its log');
    for (const session of ['n-4', 'n-5']) await get(session);
    const expected = ['n-0', 'n-1', 'n-2', 'n-3', 'n-4', 'n-5'];
    const nginxSegments = async () =>
      (await readAll(broker.broker, QOE_TOPIC))
        .map(eventOf)
        .filter((v) => v.edge === 'edge-nginx' && v.type === 'segment')
        .map((v) => String(v.session));
    await eventually(async () => (await nginxSegments()).length >= expected.length, 20_000, 'nginx segments');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual((await nginxSegments()).sort(), expected);
    const cacheCounted = (await readAll(broker.broker, HOST_TOPIC))
      .map(eventOf)
      .filter((v) => v.edge === 'edge-nginx' && v.type === 'http_access');
    assert.ok(cacheCounted.length > 0, 'http_access summaries of the nginx log');
    await agent.stop('SIGTERM');
    await nginx.stop('SIGTERM');
  });

  it('fails at start, saying what to install, when ss is missing', async () => {
    const spool = path.join(dir, 'spool-no-ss');
    const args = [
      bin,
      'agent',
      '--brokers',
      broker.bootstrap,
      '--edge',
      'x',
      '--site',
      'y',
      '--spool-dir',
      spool,
    ];
    const result = await run('env', ['PATH=/nonexistent', process.execPath, ...args], { timeoutMs: 30_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /'ss' was not found.*iproute2/);
  });
});

describe('edgestream agent to a SASL_SSL cluster', { timeout: 90_000 }, () => {
  let certs: TestCertificates;
  let broker: RunningBroker;
  const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-agent-secret-'));
  const passwordFile = path.join(secrets, 'password');

  before(async () => {
    certs = await makeTestCertificates();
    fs.writeFileSync(passwordFile, 'agent-secret\n', { mode: 0o600 });
    broker = await startBroker(
      {
        listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0'],
        tls: { cert: certs.serverCertFile, key: certs.serverKeyFile },
      },
      async (dataDir) => {
        const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
        const args = ['user', 'create', 'edge-agent', '--data-dir', dataDir, '--password-file', passwordFile];
        const created = await run(process.execPath, [cli, ...args]);
        assert.equal(created.status, 0, created.stderr);
      },
    );
  });

  after(async () => {
    await broker?.stop();
    certs?.remove();
    fs.rmSync(secrets, { recursive: true, force: true });
  });

  it('logs in with SCRAM over TLS, with the flags every remote command takes', async () => {
    const saslSsl = `127.0.0.1:${broker.broker.listenerAddresses.get('SASL_SSL')!.port}`;
    const agent = new Background(
      process.execPath,
      [
        bin,
        'agent',
        '--brokers',
        saslSsl,
        '--edge',
        'edge-secure',
        '--site',
        SITE,
        '--interval',
        '500ms',
        '--spool-dir',
        path.join(secrets, 'spool'),
        '--security-protocol',
        'SASL_SSL',
        '--tls-ca',
        certs.caFile,
        '--sasl-mechanism',
        'SCRAM-SHA-512',
        '--sasl-username',
        'edge-agent',
        '--sasl-password-file',
        passwordFile,
      ],
      60_000,
    );
    try {
      await eventually(
        async () => (await readAll(broker.broker, HOST_TOPIC)).some((r) => eventOf(r).edge === 'edge-secure'),
        30_000,
        'tcp_host sent over SASL_SSL',
      );
    } finally {
      await agent.stop('SIGTERM');
    }
  });
});
