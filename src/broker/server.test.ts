import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { decodeResponse, encodeRequest, FrameReader, type Message } from '../protocol/index.js';
import { defineApi } from '../protocol/schema.js';
import { defineHandler } from './api-handler.js';
import { ClientQuotas } from './client-quotas.js';
import { BrokerMetrics } from './metrics.js';
import { KafkaServer, type RequestStage } from './server.js';

/** A made-up API whose handler misbehaves as the request asks. */
const Echo = defineApi({
  apiKey: 1000,
  name: 'Echo',
  versions: [0, 0],
  flexibleFrom: Number.POSITIVE_INFINITY,
  request: [
    { name: 'mode', type: 'string', versions: '0+' },
    { name: 'text', type: 'string', versions: '0+' },
  ],
  response: [{ name: 'text', type: 'string', versions: '0+' }],
});

const IDLE_MS = 1_000;
/** A request answered after the connection has been idle past IDLE_MS. */
const SLOW_ANSWER_MS = 2_500;

const echo = defineHandler(Echo, ({ mode, text }) => {
  switch (mode) {
    case 'throw':
      throw new Error('handler bug');
    case 'reject':
      return Promise.reject(new Error('async handler bug'));
    case 'too-long':
      // Resolves later, as the Fetch, JoinGroup and DeleteTopics handlers do.
      return new Promise((resolve) => setTimeout(() => resolve({ text: text.repeat(4) }), 5));
    case 'slow':
      return new Promise((resolve) => setTimeout(() => resolve({ text }), SLOW_ANSWER_MS));
    default:
      return { text };
  }
});

class Peer {
  private readonly frames = new FrameReader(1 << 30);
  private readonly answers: Message[] = [];
  private waiter: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.frames.push(chunk)) this.answers.push(decodeResponse(frame, Echo, 0).body);
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<Peer> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Peer(socket)));
    });
  }

  send(mode: string, text = 'hello'): void {
    this.socket.write(
      encodeRequest(
        Echo,
        { apiKey: Echo.apiKey, apiVersion: 0, correlationId: 1, clientId: 'unit' },
        { mode, text },
      ),
    );
  }

  /** The next answer, or 'closed' if the server closed the connection first. */
  async next(): Promise<Message | 'closed'> {
    const answered = new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
    if (this.answers.length === 0) await Promise.race([answered, this.closed]);
    return this.answers.shift() ?? 'closed';
  }
}

describe('KafkaServer', () => {
  const logged: Array<{ level: number; msg: string; stage?: string }> = [];
  const metrics = new BrokerMetrics();
  let server: KafkaServer;
  let port: number;
  // Long enough that the other tests' connections are never idle that long, even on a loaded machine.
  const idleMs = IDLE_MS;

  before(async () => {
    server = new KafkaServer({
      handlers: new Map([[Echo.apiKey, echo]]),
      logger: pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) }),
      observer: metrics,
      maxRequestBytes: 1 << 20,
      maxRequestBufferBytesTotal: 1 << 20,
      maxConnections: 100,
      maxInFlightPerConnection: 10,
      connectionsMaxIdleMs: idleMs,
      tls: null,
      sasl: null,
      quotas: new ClientQuotas(metrics),
    });
    port = (await server.listen({ protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 })).port;
  });
  after(() => server.close());

  async function errors(stage: RequestStage): Promise<number> {
    const values = (await metrics.registry.getSingleMetric('edgestream_broker_request_errors_total')?.get())
      ?.values;
    return values?.find((v) => v.labels.stage === stage)?.value ?? 0;
  }

  const failures: Array<[string, RequestStage, (peer: Peer) => void]> = [
    [
      'a body that does not decode',
      'decode',
      (p) => p.socket.write(Buffer.from([0, 0, 0, 8, 3, 232, 0, 0, 0, 0, 0, 1])),
    ],
    ['a handler that throws', 'handle', (p) => p.send('throw')],
    ['a handler whose promise rejects', 'handle', (p) => p.send('reject')],
    ['a response that cannot be encoded', 'encode', (p) => p.send('too-long', 'x'.repeat(10_000))],
  ];
  for (const [what, stage, send] of failures) {
    it(`closes only the connection of ${what}, counts it at ${stage} and logs it`, async () => {
      const before = await errors(stage);
      const bystander = await Peer.connect(port);
      const culprit = await Peer.connect(port);
      send(culprit);
      assert.equal(await culprit.next(), 'closed');
      assert.equal(await errors(stage), before + 1);
      assert.ok(logged.some((line) => line.stage === stage && /closing connection/.test(line.msg)));
      bystander.send('echo', 'still here');
      assert.deepEqual(await bystander.next(), { text: 'still here' });
      bystander.socket.destroy();
    });
  }

  it('closes a connection idle for connections.max.idle.ms, but not one waiting for its answer', async () => {
    const closedBefore =
      (await metrics.registry.getSingleMetric('edgestream_broker_idle_connections_closed_total')?.get())
        ?.values[0]?.value ?? 0;
    const idle = await Peer.connect(port);
    const waiting = await Peer.connect(port);
    waiting.send('slow', 'late');
    const started = Date.now();
    await idle.closed;
    assert.ok(Date.now() - started >= idleMs - 20, 'not closed before the idle time');
    assert.deepEqual(
      await waiting.next(),
      { text: 'late' },
      'a request outlasting the idle time is answered',
    );
    await waiting.closed;
    const closedIdle = await metrics.registry
      .getSingleMetric('edgestream_broker_idle_connections_closed_total')
      ?.get();
    assert.equal(closedIdle?.values[0]?.value, closedBefore + 2);
  });
});
