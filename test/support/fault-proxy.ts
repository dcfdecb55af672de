import net from 'node:net';

/** Kafka request header v1+: int32 size, int16 api key, int16 version, int32 correlation id, then the client id. */
const CLIENT_ID_AT = 4 + 2 + 2 + 4;

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  /** From the first request; null until it has arrived. */
  clientId: string | null;
}

/**
 * A TCP proxy in front of one broker that can cut it off: while `cut`, it drops every connection to the
 * broker and refuses new ones, and it drops connections that other brokers' proxies are told come from a
 * cut broker (identified by the client id of their first request: edgestream's followers send
 * `edgestream-replica-<id>`). Brokers advertise the proxy's port, so clients and followers all pass here.
 */
export class FaultProxy {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** Client ids refused here (followers of cut brokers). */
  private readonly refusedClientIds = new Set<string>();
  private cutOff = false;

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(targetPort: number, port = 0): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy without a TCP address');
    return address.port;
  }

  /** The broker behind this proxy is unreachable until `heal()`. */
  cut(): void {
    this.cutOff = true;
    for (const connection of [...this.connections]) this.drop(connection);
  }

  heal(): void {
    this.cutOff = false;
  }

  /** Connections whose first request names `clientId` are refused until `admit(clientId)`. */
  refuse(clientId: string): void {
    this.refusedClientIds.add(clientId);
    for (const connection of [...this.connections]) {
      if (connection.clientId === clientId) this.drop(connection);
    }
  }

  admit(clientId: string): void {
    this.refusedClientIds.delete(clientId);
  }

  async close(): Promise<void> {
    for (const connection of [...this.connections]) this.drop(connection);
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.cutOff) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    upstream.on('error', () => undefined);
    const connection: Connection = { client, upstream, clientId: null };
    this.connections.add(connection);
    let head = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (connection.clientId === null) {
        head = Buffer.concat([head, chunk]);
        const clientId = readClientId(head);
        if (clientId === undefined) return;
        connection.clientId = clientId;
        if (this.refusedClientIds.has(clientId)) {
          this.drop(connection);
          return;
        }
        upstream.write(head);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => this.drop(connection));
    upstream.on('close', () => this.drop(connection));
  }

  private drop(connection: Connection): void {
    this.connections.delete(connection);
    connection.client.destroy();
    connection.upstream.destroy();
  }
}

/** The client id of the first request in `head`, '' if null, undefined until enough bytes have arrived. */
function readClientId(head: Buffer): string | undefined {
  if (head.length < CLIENT_ID_AT + 2) return undefined;
  const length = head.readInt16BE(CLIENT_ID_AT);
  if (length < 0) return '';
  if (head.length < CLIENT_ID_AT + 2 + length) return undefined;
  return head.toString('utf8', CLIENT_ID_AT + 2, CLIENT_ID_AT + 2 + length);
}
