import net from 'node:net';
import {
  type ApiSchema,
  decodeResponse,
  encodeRequest,
  FrameReader,
  type Message,
} from '../../src/protocol/index.js';

/** A bare Kafka-protocol connection for tests: sends our own frames and decodes the answers. */
export class WireClient {
  private readonly frames = new FrameReader(1 << 30);
  private readonly waiting = new Map<number, (frame: Buffer) => void>();
  private correlationId = 1;
  closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.frames.push(chunk)) {
        const id = frame.readInt32BE(0);
        this.waiting.get(id)?.(frame);
        this.waiting.delete(id);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request and resolves with the decoded response body; rejects after `timeoutMs`. */
  async request(
    schema: ApiSchema,
    version: number,
    body: Message,
    options: { timeoutMs?: number; responseVersion?: number } = {},
  ): Promise<Message> {
    const frame = await this.requestFrame(schema, version, body, options.timeoutMs);
    return decodeResponse(frame, schema, options.responseVersion ?? version).body;
  }

  /** Sends a request and resolves with the response frame as received (from the correlation id on). */
  requestFrame(schema: ApiSchema, version: number, body: Message, timeoutMs = 10_000): Promise<Buffer> {
    const correlationId = this.correlationId++;
    const frame = encodeRequest(
      schema,
      { apiKey: schema.apiKey, apiVersion: version, correlationId, clientId: 'wire-test' },
      body,
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no response to ${schema.name} v${version} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`connection closed before the ${schema.name} v${version} response`));
      });
      this.socket.write(frame);
    });
  }

  sendRaw(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}
