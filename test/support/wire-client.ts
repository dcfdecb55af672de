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
  request(
    schema: ApiSchema,
    version: number,
    body: Message,
    options: { timeoutMs?: number; responseVersion?: number } = {},
  ): Promise<Message> {
    const timeoutMs = options.timeoutMs ?? 10_000;
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
        try {
          resolve(decodeResponse(response, schema, options.responseVersion ?? version).body);
        } catch (error) {
          reject(error);
        }
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
