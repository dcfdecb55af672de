import net from 'node:net';
import {
  type ApiSchema,
  type DecodedResponseOf,
  decodeResponse,
  type EncodableRequestOf,
  encodeRequest,
  FrameReader,
} from '../protocol/index.js';

/** Largest response a follower accepts: a fetch is bounded by its max bytes (a few MiB) plus framing. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export class ChannelError extends Error {}

interface Pending {
  resolve: (frame: Buffer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One Kafka-protocol connection from this broker to another (follower fetches, leader epoch queries), with
 * typed requests. It connects on first use and again after a failure; every request is bounded in time,
 * and a failure fails every request in flight so the caller retries from a clean state.
 */
export class BrokerChannel {
  private socket: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private frames = new FrameReader(MAX_RESPONSE_BYTES);
  private readonly pending = new Map<number, Pending>();
  private correlationId = 0;
  private closed = false;

  constructor(
    private address: { host: string; port: number },
    private readonly clientId: string,
    private readonly connectTimeoutMs: number,
  ) {}

  /** A new address (the broker re-registered elsewhere): the next request connects there. */
  retarget(address: { host: string; port: number }): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    this.fail(new ChannelError('broker moved'));
  }

  async request<A extends ApiSchema>(
    schema: A,
    version: number,
    body: EncodableRequestOf<A>,
    timeoutMs: number,
  ): Promise<DecodedResponseOf<A>> {
    const socket = await this.connect();
    this.correlationId = (this.correlationId + 1) & 0x7fffffff;
    const correlationId = this.correlationId;
    const frame = encodeRequest(
      schema,
      { apiKey: schema.apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new ChannelError(`${schema.name} to ${this.describe()} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      socket.write(frame);
    });
    return decodeResponse(response, schema, version).body;
  }

  close(): void {
    this.closed = true;
    this.fail(new ChannelError('channel closed'));
  }

  private describe(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  private connect(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new ChannelError('channel closed'));
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.address.host, port: this.address.port });
      socket.setNoDelay(true);
      const timer = setTimeout(
        () => socket.destroy(new ChannelError(`connect to ${this.describe()} timed out`)),
        this.connectTimeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        // Closed while connecting: close() found no socket to destroy, and an open one would keep the process
        // alive until the peer drops it as idle (10 minutes).
        if (this.closed) {
          socket.destroy();
          reject(new ChannelError('channel closed'));
          return;
        }
        this.socket = socket;
        this.frames = new FrameReader(MAX_RESPONSE_BYTES);
        resolve(socket);
      });
      socket.on('data', (chunk: Buffer) => this.received(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (this.socket === socket) this.fail(new ChannelError(`connection to ${this.describe()} closed`));
        reject(new ChannelError(`connection to ${this.describe()} closed`));
      });
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private received(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (error) {
      this.fail(error instanceof Error ? error : new ChannelError(String(error)));
      return;
    }
    for (const frame of frames) {
      const id = frame.readInt32BE(0);
      const pending = this.pending.get(id);
      if (!pending) continue;
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.resolve(frame);
    }
  }

  private fail(error: Error): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}
