// bench:agent — what `edgestream agent` costs on an edge server: a local HTTP server on 127.0.0.1 with 1,000 open
// keep-alive client connections and a trickle of requests, the agent sampling its port every second into a local
// broker for BENCH_AGENT_S seconds (default 30). Measured from outside, from /proc as an operator sees it: the
// agent's CPU (its own threads, and the `ss` children it ran and reaped), RSS, and as a reference in the same
// run the cost of `ss -tinH` alone for those connections. The broker, server and clients live in this process,
// so their cost is not the agent's.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ssArguments } from '../src/agent/socket-sampler.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { TCP_TOPIC } from '../src/simulate/telemetry.js';

const EDGESTREAM_BIN = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_AGENT_CONNECTIONS ?? 1_000);
const RUN_MS = Number(process.env.BENCH_AGENT_S ?? 30) * 1000;
/** Measuring starts once the agent has taken a few samples (start-up and topic creation excluded). */
const WARMUP_MS = 5_000;
/** Requests per second over all connections: a trickle, so counters move without load on the machine. */
const REQUESTS_PER_SECOND = 200;
const RESPONSE_BYTES = 4_096;
const SS_REFERENCE_RUNS = 20;
/** The whole run is bounded: past this the agent is killed and the bench fails. */
const BENCH_DEADLINE_MS = RUN_MS + 120_000;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux build we know). */
const CLOCK_TICKS_PER_S = 100;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU ms of a process: its own threads, and its children it has waited for (the agent's `ss` runs). */
function cpuMs(pid: number | 'self'): { ownMs: number; childrenMs: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (i: number) => Number(fields[i - 3]);
  const toMs = (value: number) => (value * 1000) / CLOCK_TICKS_PER_S;
  return { ownMs: toMs(ticks(14) + ticks(15)), childrenMs: toMs(ticks(16) + ticks(17)) };
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function openConnections(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    sockets.push(socket);
  }
  return sockets;
}

/** The reference: `ss` alone, as the agent runs it, for the same connections. */
function ssReference(port: number): { cpuMsPerRun: number; wallMsPerRun: number; sockets: number } {
  const before = cpuMs('self').childrenMs;
  const started = performance.now();
  let output = '';
  for (let i = 0; i < SS_REFERENCE_RUNS; i++) {
    output = spawnSync('ss', ssArguments([port]), { encoding: 'latin1', maxBuffer: 64 * MiB }).stdout;
  }
  return {
    cpuMsPerRun: (cpuMs('self').childrenMs - before) / SS_REFERENCE_RUNS,
    wallMsPerRun: (performance.now() - started) / SS_REFERENCE_RUNS,
    sockets: output.split('\n').filter((line) => line.startsWith('\t')).length,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-agent-bench-'));
  const broker = await Broker.start(
    parseBrokerConfig({ dataDir: path.join(dir, 'data'), listen: '127.0.0.1:0' }),
    pino({ level: 'warn' }),
  );
  const body = Buffer.alloc(RESPONSE_BYTES, 'x');
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: 600_000 }, (_, res) => res.end(body));
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const sockets = await openConnections(port, CONNECTIONS);
  let next = 0;
  const trickle = setInterval(() => {
    for (let i = 0; i < REQUESTS_PER_SECOND / 10; i++) {
      sockets[next++ % sockets.length]!.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
    }
  }, 100);
  const agent = spawn(
    process.execPath,
    [
      EDGESTREAM_BIN,
      'agent',
      '--brokers',
      `127.0.0.1:${broker.kafkaAddress.port}`,
      '--edge',
      'edge-bench',
      '--site',
      'bench1',
      '--interval',
      '1s',
      '--port',
      String(port),
      '--spool-dir',
      path.join(dir, 'spool'),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = setTimeout(() => {
    agent.kill('SIGKILL');
    process.stderr.write('bench:agent: deadline passed\n');
    process.exit(1);
  }, BENCH_DEADLINE_MS);
  try {
    await sleep(WARMUP_MS);
    const pid = agent.pid!;
    const start = cpuMs(pid);
    const startedMs = performance.now();
    const rss: number[] = [];
    while (performance.now() - startedMs < RUN_MS - WARMUP_MS) {
      await sleep(1_000);
      rss.push(rssMiB(pid));
    }
    const end = cpuMs(pid);
    const elapsedMs = performance.now() - startedMs;
    const reference = ssReference(port);
    const client = new EmbeddedLogClient(broker.embeddedLog());
    let tcpRecords = 0;
    for (let partition = 0; partition < (await client.partitionCount(TCP_TOPIC)); partition++) {
      tcpRecords += (await client.offsets({ topic: TCP_TOPIC, partition })).latest;
    }
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
    const samples = elapsedMs / 1000;
    const ownMs = end.ownMs - start.ownMs;
    const ssMs = end.childrenMs - start.childrenMs;
    const per1000 = (ms: number) => (ms / samples) * (1000 / CONNECTIONS);
    const cpus = os.cpus();
    const lines = [
      `Machine: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, Node ${process.version}`,
      `${CONNECTIONS} connections (ss saw ${reference.sockets}), ${REQUESTS_PER_SECOND} requests/s, 1 s interval, ` +
        `${samples.toFixed(1)} s measured after ${WARMUP_MS / 1000} s warm-up; ${tcpRecords} cdn.tcp records in all`,
      `agent CPU: ${((ownMs + ssMs) / elapsedMs).toFixed(3)} cores = ${per1000(ownMs + ssMs).toFixed(1)} ms per 1,000 ` +
        `connections per sample (node ${per1000(ownMs).toFixed(1)} ms + its ss runs ${per1000(ssMs).toFixed(1)} ms)`,
      `agent RSS: mean ${(rss.reduce((a, b) => a + b, 0) / rss.length).toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)} MiB`,
      `reference, ss -tinH alone: ${reference.cpuMsPerRun.toFixed(1)} ms CPU (${reference.wallMsPerRun.toFixed(1)} ms wall) ` +
        `per run over ${SS_REFERENCE_RUNS} runs`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    clearTimeout(deadline);
    clearInterval(trickle);
    agent.kill('SIGKILL');
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
