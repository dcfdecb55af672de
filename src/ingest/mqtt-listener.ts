import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { LogThrottle } from '../broker/log-throttle.js';
import type { LogClient } from '../client/types.js';
import { type DoorSecurity, LoginThrottle, ReloadingTlsContext } from '../security/index.js';
import { IngestWriter } from './ingest-writer.js';
import { Reason } from './mqtt-codes.js';
import type { MqttSettings } from './mqtt-config.js';
import type { MqttDoor } from './mqtt-connect.js';
import { MqttMetrics } from './mqtt-metrics.js';
import { MqttSession } from './mqtt-session.js';
import { MqttTopicMap } from './mqtt-topic-map.js';

/** How often connections are checked for a late CONNECT or an expired keepalive. */
const TIMER_SWEEP_INTERVAL_MS = 1_000;

/** As the Kafka listeners' (src/broker/security-setup.ts): 100 ms after a failure, doubling to 5 s. */
const MQTT_LOGIN_THROTTLE = {
  firstDelayMs: 100,
  maxDelayMs: 5_000,
  forgetAfterMs: 60_000,
  maxSources: 10_000,
};

/** Lines about misbehaving clients: at most this many per window, the rest counted in one line. */
const CLIENT_LOG_LINES_PER_WINDOW = 20;
const CLIENT_LOG_WINDOW_MS = 60_000;

export interface MqttListenerOptions {
  host: string;
  /** 0: any free port (see address()). */
  port: number;
  settings: MqttSettings;
  /** Where publishes are written: the embedded log on a single node, the cluster through a Kafka client. */
  client: LogClient;
  /** The broker's users and ACLs (Broker.doors). */
  doors: DoorSecurity;
  /** Partitions of a Kafka topic the listener creates on its first publish. */
  newTopicPartitions: number;
  logger: Logger;
}

/**
 * The MQTT door into the log (docs/ingest.md): a TCP (or TLS) listener for MQTT 3.1.1 and 5 devices whose
 * publishes become Kafka records. One per process; started after the log client, closed before it.
 */
export class MqttListener {
  readonly metrics = new MqttMetrics();
  private readonly sessions = new Set<MqttSession>();
  private readonly byClientId = new Map<string, MqttSession>();
  private readonly writer: IngestWriter;
  private readonly door: MqttDoor;
  private readonly server: net.Server;
  private readonly tlsContext: ReloadingTlsContext | null;
  private readonly sweep: NodeJS.Timeout;
  private bound: { host: string; port: number } | null = null;

  private constructor(options: MqttListenerOptions) {
    const { settings, doors, logger } = options;
    this.writer = new IngestWriter(
      options.client,
      options.newTopicPartitions,
      settings.limits.maxInflightBytesTotal,
      () => {
        for (const session of this.sessions) session.resume();
      },
    );
    this.door = {
      limits: settings.limits,
      routes: new MqttTopicMap(settings.mappings, settings.limits.maxTopicBytes),
      writer: this.writer,
      metrics: this.metrics,
      doors,
      loginRequired: doors.loginRequired || !settings.allowAnonymous,
      loginThrottle: new LoginThrottle(MQTT_LOGIN_THROTTLE),
      logThrottle: new LogThrottle(logger, CLIENT_LOG_LINES_PER_WINDOW, CLIENT_LOG_WINDOW_MS),
      claim: (clientId, session) => this.claim(clientId, session),
      ended: (session) => this.ended(session),
    };
    const accept = (socket: net.Socket) => this.accept(socket);
    if (settings.tls) {
      this.tlsContext = new ReloadingTlsContext(
        { certFile: settings.tls.cert, keyFile: settings.tls.key, caFile: null, clientAuth: 'none' },
        {
          reloaded: () => logger.info('MQTT listener: TLS certificate reloaded'),
          reloadFailed: (error) =>
            logger.error({ err: error }, 'MQTT listener: TLS certificate not reloaded; the one in use stays'),
        },
      );
      const server = tls.createServer({
        ...this.tlsContext.serverOptions(false),
        // A handshake counts against the time a connection has to send CONNECT.
        handshakeTimeout: settings.limits.connectTimeout,
      });
      server.on('secureConnection', accept);
      this.tlsContext.follow(server);
      this.server = server;
    } else {
      this.tlsContext = null;
      this.server = net.createServer(accept);
    }
    // Node closes connections past this many at once, sockets still in their TLS handshake counted too.
    this.server.maxConnections = settings.limits.maxConnections;
    this.server.on('drop', () => this.metrics.closedFor('connection_limit'));
    this.server.on('error', (error) => logger.error({ err: error }, 'MQTT listener failed'));
    this.sweep = setInterval(() => this.checkTimers(), TIMER_SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  static async start(options: MqttListenerOptions): Promise<MqttListener> {
    const listener = new MqttListener(options);
    try {
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen(options.port, options.host, () => {
          listener.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      clearInterval(listener.sweep);
      listener.tlsContext?.close();
      throw error;
    }
    const address = listener.server.address();
    if (address === null || typeof address === 'string') throw new Error('MQTT listener has no TCP address');
    listener.bound = { host: address.address, port: address.port };
    options.logger.info(
      {
        mqtt: listener.bound,
        tls: options.settings.tls !== undefined,
        mappings: options.settings.mappings.length,
      },
      'MQTT listener started',
    );
    return listener;
  }

  address(): { host: string; port: number } {
    if (this.bound === null) throw new Error('the MQTT listener is not listening');
    return this.bound;
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /**
   * Stops accepting, tells connected v5 clients the server is shutting down, and waits for every publish
   * already read to be written (their PUBACKs go nowhere: clients send them again after reconnecting).
   */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions)
      session.close('server_shutting_down', Reason.SERVER_SHUTTING_DOWN, true);
    await this.writer.close();
    await closed;
    this.tlsContext?.close();
  }

  private accept(socket: net.Socket): void {
    this.sessions.add(new MqttSession(socket, this.door));
    this.metrics.connections.inc();
  }

  private claim(clientId: string, session: MqttSession): void {
    const previous = this.byClientId.get(clientId);
    if (previous !== undefined && previous !== session)
      previous.close('session_taken_over', Reason.SESSION_TAKEN_OVER);
    this.byClientId.set(clientId, session);
  }

  private ended(session: MqttSession): void {
    if (!this.sessions.delete(session)) return;
    this.metrics.connections.dec();
    if (this.byClientId.get(session.clientId) === session) this.byClientId.delete(session.clientId);
  }

  private checkTimers(): void {
    const nowMs = Date.now();
    for (const session of this.sessions) session.checkTimers(nowMs);
  }
}
