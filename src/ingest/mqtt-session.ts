import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { generate, type IConnectPacket, type Packet, type Parser, parser } from 'mqtt-packet';
import type { IngestRecord, WriteOutcome } from './ingest-writer.js';
import { ConnackV3, MQTT_V5, MQTT_V311, Reason, SUBACK_V3_FAILURE } from './mqtt-codes.js';
import {
  ANONYMOUS,
  type ConnectRefusal,
  checkConnect,
  connectProtocolLevel,
  MQTT_DOOR,
  type MqttDoor,
} from './mqtt-connect.js';
import { MqttFramer } from './mqtt-framer.js';
import type { MqttCloseReason } from './mqtt-metrics.js';
import { type Inflight, PubackQueue } from './mqtt-puback-queue.js';
import { type PublishFields, readPublish } from './mqtt-publish.js';
import { mqttRecord, payloadBytes } from './mqtt-record.js';

/** MQTT's keepalive: a client silent for 1.5 times its keepalive interval is gone (section 3.1.2.10). */
const KEEPALIVE_GRACE_FACTOR = 1.5;

/** Unsent bytes (acknowledgements) a connection may hold before it is no longer read. */
const MAX_UNSENT_BYTES = 64 * 1024;

/** After the listener closes a connection, how long the client has to read what was last sent to it. */
const CLOSE_GRACE_MS = 1_000;

const PINGRESP = Buffer.from([0xd0, 0x00]);

/** The publishes of one read that share a write outcome (one partition of one turn): one callback for all. */
interface WriteGroup {
  outcome: Promise<WriteOutcome>;
  qos1: Inflight[];
  qos0Count: number;
  payloadBytes: number;
}

type SessionState = 'awaiting_connect' | 'logging_in' | 'open' | 'closed';

/**
 * One MQTT connection: an ingest-only server side of MQTT 3.1.1 and 5. Publishes (QoS 0 and 1) become records
 * in the log; a QoS 1 publish is acknowledged once the log acknowledged its record, in the order the publishes
 * came. Anything this listener does not do (QoS 2, retained messages, subscriptions) is refused as the
 * protocol version says to. A packet that is not MQTT, too large or against the protocol closes only this
 * connection.
 */
export class MqttSession {
  private state: SessionState = 'awaiting_connect';
  private version = MQTT_V311;
  private clientIdValue = '';
  private principal = ANONYMOUS;
  private keepAliveMs = 0;
  private readonly openedAtMs = Date.now();
  private lastReadAtMs = this.openedAtMs;
  /** Arrival time of the read being handled: the timestamp of its records. */
  private readAtMs = this.openedAtMs;
  /** The client's IP address, as ACLs and the login throttle know it. */
  private readonly address: string;
  private readonly framer: MqttFramer;
  private readonly parser: Parser;
  /** Packets read while the CONNECT is checked (the socket is paused then): handled once it is accepted. */
  private held: Buffer[] = [];
  /** v5 topic aliases the client set, by alias number. */
  private readonly aliases: Array<string | undefined> = [];
  private readonly acks: PubackQueue;
  private inflightBytes = 0;
  private readGroups: WriteGroup[] = [];
  private paused = false;
  /** The will message's record and Kafka topic, written if the connection ends without a DISCONNECT. */
  private will: { topic: string; record: IngestRecord } | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly door: MqttDoor,
  ) {
    this.address = socket.remoteAddress ?? 'unknown';
    this.framer = new MqttFramer(door.limits.maxPacketBytes);
    this.acks = new PubackQueue((seconds) => door.metrics.acknowledged(seconds));
    this.parser = parser();
    this.parser.on('packet', (packet: Packet) => this.onPacket(packet));
    this.parser.on('error', () => this.close('malformed', Reason.MALFORMED_PACKET));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.resume());
    // A reset or a write to a closed socket is how a connection ends, not a failure of the process.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClosed());
  }

  get clientId(): string {
    return this.clientIdValue;
  }

  /** A method, not a comparison in place: TypeScript would keep the state narrowed across an await. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Closes the connection if CONNECT is late or the client has been silent past its keepalive. */
  checkTimers(nowMs: number): void {
    if (this.state === 'awaiting_connect' && nowMs - this.openedAtMs > this.door.limits.connectTimeout) {
      this.close('connect_timeout', null);
    } else if (
      this.state === 'open' &&
      !this.paused &&
      nowMs - this.lastReadAtMs > this.keepAliveMs * KEEPALIVE_GRACE_FACTOR
    ) {
      this.close('keepalive_timeout', Reason.KEEP_ALIVE_TIMEOUT);
    }
  }

  /**
   * Closes the connection, telling a v5 client why with a DISCONNECT when `v5Reason` is given; `reason` (null
   * when the client asked to end it) is counted. A will is written unless `dropWill` (the listener is closing).
   */
  close(reason: MqttCloseReason | null, v5Reason: number | null, dropWill = false): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (dropWill) this.will = null;
    if (reason !== null) this.door.metrics.closedFor(reason);
    if (wasOpen && v5Reason !== null && this.version === MQTT_V5) {
      this.socket.write(generate({ cmd: 'disconnect', reasonCode: v5Reason }, { protocolVersion: MQTT_V5 }));
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastReadAtMs = Date.now();
    this.readAtMs = this.lastReadAtMs;
    const problem = this.framer.push(chunk, (packet) => this.onFrame(packet));
    if (problem !== null)
      this.close(problem, problem === 'malformed' ? Reason.MALFORMED_PACKET : Reason.PACKET_TOO_LARGE);
    this.awaitWrites();
    this.pauseIfOverLimits();
  }

  /** One whole packet; false once the connection is closing, so the rest of the read is dropped. */
  private onFrame(frame: Buffer): boolean {
    if (this.state === 'logging_in') {
      this.held.push(frame);
      return true;
    }
    if (this.state === 'awaiting_connect' && isUnsupportedLevel(connectProtocolLevel(frame))) {
      // [MQTT-3.1.2-2]: CONNACK 0x01 (unacceptable protocol level), in the 3.1.1 form, then close.
      this.socket.write(
        generate({
          cmd: 'connack',
          returnCode: ConnackV3.UNACCEPTABLE_PROTOCOL_VERSION,
          sessionPresent: false,
        }),
      );
      this.close('protocol_error', null);
      return false;
    }
    try {
      const fast = this.state === 'open' ? readPublish(frame, this.version === MQTT_V5) : null;
      if (fast) this.publish(fast);
      else this.parser.parse(frame);
    } catch (error) {
      this.failed(error);
    }
    return this.state !== 'closed';
  }

  /** Nothing a client sends may take the process down: an unexpected failure closes its connection only. */
  private failed(error: unknown): void {
    this.door.logThrottle.log((logger) =>
      logger.warn({ err: error, client: this.clientIdValue }, 'MQTT packet failed; connection closed'),
    );
    this.close('malformed', Reason.MALFORMED_PACKET);
  }

  private onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting_connect') {
      // [MQTT-3.1.0-1]: the first packet is CONNECT.
      if (packet.cmd === 'connect') this.connect(packet).catch((error: unknown) => this.failed(error));
      else this.close('protocol_error', null);
      return;
    }
    switch (packet.cmd) {
      case 'publish':
        this.publish(packet);
        return;
      case 'pingreq':
        this.socket.write(PINGRESP);
        return;
      case 'subscribe':
        // An ingest endpoint: nobody may subscribe to anything here (see docs/ingest.md).
        this.socket.write(
          generate(
            {
              cmd: 'suback',
              messageId: packet.messageId ?? 0,
              granted: packet.subscriptions.map(() =>
                this.version === MQTT_V5 ? Reason.NOT_AUTHORIZED : SUBACK_V3_FAILURE,
              ),
            },
            { protocolVersion: this.version },
          ),
        );
        return;
      case 'unsubscribe':
        this.socket.write(
          generate(
            {
              cmd: 'unsuback',
              messageId: packet.messageId ?? 0,
              // v5: 0x11 No subscription existed, for each filter.
              granted: this.version === MQTT_V5 ? packet.unsubscriptions.map(() => 0x11) : [],
            },
            { protocolVersion: this.version },
          ),
        );
        return;
      case 'disconnect':
        if (packet.reasonCode !== Reason.DISCONNECT_WITH_WILL) this.will = null;
        this.close(null, null);
        return;
      default:
        // A second CONNECT [MQTT-3.1.0-2], acknowledgements of publishes never sent, AUTH, server packets.
        this.close('protocol_error', Reason.PROTOCOL_ERROR);
    }
  }

  private async connect(packet: IConnectPacket): Promise<void> {
    this.state = 'logging_in';
    this.socket.pause();
    this.version = packet.protocolVersion === MQTT_V5 ? MQTT_V5 : MQTT_V311;
    const accepted = await checkConnect(packet, this.address, this.door);
    // The socket may have closed while the login was checked.
    if (this.isClosed()) return;
    if ('refusal' in accepted) {
      this.refuse(packet, accepted.refusal);
      return;
    }
    const assigned = packet.clientId === '' ? `edgestream-${randomUUID()}` : null;
    this.clientIdValue = assigned ?? packet.clientId;
    this.principal = accepted.principal;
    this.will = accepted.will;
    const { limits } = this.door;
    const asked = packet.keepalive ?? 0;
    const keepAliveSeconds =
      asked === 0 ? limits.maxKeepAliveSeconds : Math.min(asked, limits.maxKeepAliveSeconds);
    this.keepAliveMs = keepAliveSeconds * 1000;
    this.door.claim(this.clientIdValue, this);
    this.socket.write(
      this.version === MQTT_V5
        ? generate(
            {
              cmd: 'connack',
              reasonCode: Reason.SUCCESS,
              sessionPresent: false,
              properties: {
                receiveMaximum: limits.maxInflightMessages,
                maximumQoS: 1,
                retainAvailable: false,
                maximumPacketSize: limits.maxPacketBytes,
                topicAliasMaximum: limits.maxTopicAliases,
                // Nothing of a session is kept after its connection: a client asking for more is told so.
                ...((packet.properties?.sessionExpiryInterval ?? 0) > 0 ? { sessionExpiryInterval: 0 } : {}),
                ...(assigned === null ? {} : { assignedClientIdentifier: assigned }),
                ...(keepAliveSeconds === asked ? {} : { serverKeepAlive: keepAliveSeconds }),
              },
            },
            { protocolVersion: MQTT_V5 },
          )
        : generate({ cmd: 'connack', returnCode: ConnackV3.ACCEPTED, sessionPresent: false }),
    );
    this.state = 'open';
    const held = this.held;
    this.held = [];
    for (const frame of held) if (!this.onFrame(frame)) return;
    this.awaitWrites();
    this.socket.resume();
    this.pauseIfOverLimits();
  }

  private refuse(packet: IConnectPacket, refusal: ConnectRefusal): void {
    if (this.version === MQTT_V5) {
      this.socket.write(
        generate(
          { cmd: 'connack', reasonCode: refusal.v5, sessionPresent: false },
          { protocolVersion: MQTT_V5 },
        ),
      );
    } else if (refusal.v3 !== null) {
      this.socket.write(generate({ cmd: 'connack', returnCode: refusal.v3, sessionPresent: false }));
    }
    this.door.logThrottle.log((logger) =>
      logger.info(
        { client: packet.clientId, user: packet.username ?? null, address: this.address },
        `MQTT connection refused: ${refusal.reason}`,
      ),
    );
    this.close(refusal.reason, null);
  }

  private publish(packet: PublishFields): void {
    const v5 = this.version === MQTT_V5;
    if (packet.qos === 2) {
      this.close('qos_not_supported', Reason.QOS_NOT_SUPPORTED);
      return;
    }
    // Retain Available is 0 in the CONNACK: a v5 retained publish gets DISCONNECT 0x9A (MQTT 5, 3.3.1.3).
    // A v3.1.1 client cannot be told, and with no subscribers here retaining has no meaning: written as is.
    if (packet.retain && v5) {
      this.close('retain_not_supported', Reason.RETAIN_NOT_SUPPORTED);
      return;
    }
    const topic = this.topicOf(packet);
    if (topic === null) return;
    const { routes, doors, metrics } = this.door;
    const route = routes.route(topic);
    if (route === null) {
      this.close('topic_invalid', Reason.TOPIC_NAME_INVALID);
      return;
    }
    const qos = packet.qos;
    if (!doors.mayWrite(MQTT_DOOR, this.principal, this.address, route.kafkaTopic)) {
      metrics.refused[qos].inc();
      // MQTT 3.1.1 has no way to refuse a publish: acknowledge it or close the connection [MQTT-3.3.5-2].
      if (!v5) {
        this.close('not_authorized', null);
        return;
      }
      if (qos === 1) this.acks.refused(packet.messageId ?? 0, Reason.NOT_AUTHORIZED);
      this.sendReadyAcks();
      return;
    }
    if (qos === 1 && v5 && this.acks.inflightMessages >= this.door.limits.maxInflightMessages) {
      this.close('receive_maximum_exceeded', Reason.RECEIVE_MAXIMUM_EXCEEDED);
      return;
    }
    const value = payloadBytes(packet.payload);
    const record = mqttRecord(route, value, qos, this.readAtMs, packet.properties?.userProperties);
    const outcome = this.door.writer.write(route.kafkaTopic, record);
    const group = this.groupOf(outcome);
    group.payloadBytes += value.length;
    this.inflightBytes += value.length;
    if (qos === 0) {
      group.qos0Count++;
      return;
    }
    group.qos1.push(this.acks.written(packet.messageId ?? 0));
  }

  /** The publish's topic name, through a v5 topic alias; null when there is none (the connection closes). */
  private topicOf(packet: PublishFields): string | null {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.door.limits.maxTopicAliases) {
        this.close('topic_alias_invalid', Reason.TOPIC_ALIAS_INVALID);
        return null;
      }
      if (topic.length > 0) this.aliases[alias] = topic;
      else topic = this.aliases[alias] ?? '';
    }
    if (topic.length === 0) {
      // No topic and no alias known for it.
      this.close('protocol_error', Reason.PROTOCOL_ERROR);
      return null;
    }
    return topic;
  }

  private groupOf(outcome: Promise<WriteOutcome>): WriteGroup {
    // A read's publishes usually go to one or a few partitions: the last group is the likely one.
    for (let i = this.readGroups.length - 1; i >= 0; i--) {
      const group = this.readGroups[i]!;
      if (group.outcome === outcome) return group;
    }
    const group: WriteGroup = { outcome, qos1: [], qos0Count: 0, payloadBytes: 0 };
    this.readGroups.push(group);
    return group;
  }

  /** One callback per write group of the read just handled. */
  private awaitWrites(): void {
    const groups = this.readGroups;
    if (groups.length === 0) return;
    this.readGroups = [];
    for (const group of groups) void group.outcome.then((outcome) => this.written(group, outcome));
  }

  private written(group: WriteGroup, outcome: WriteOutcome): void {
    const { metrics } = this.door;
    this.inflightBytes -= group.payloadBytes;
    if (outcome === null) {
      metrics.accepted[0].inc(group.qos0Count);
      metrics.accepted[1].inc(group.qos1.length);
      metrics.acceptedBytes(group.payloadBytes);
    } else {
      metrics.refused[0].inc(group.qos0Count);
      metrics.refused[1].inc(group.qos1.length);
      this.door.logThrottle.log((logger) =>
        logger.warn({ err: outcome, client: this.clientIdValue }, 'MQTT publishes not written to the log'),
      );
      // v3.1.1 cannot be told a publish failed; closing makes the client send it again on a new connection.
      if (this.version !== MQTT_V5 && group.qos1.length > 0) this.close('write_failed', null);
    }
    this.acks.settle(group.qos1, outcome === null ? Reason.SUCCESS : Reason.UNSPECIFIED_ERROR);
    this.sendReadyAcks();
    this.resume();
  }

  /** PUBACKs for the settled publishes at the head of the queue, in one write. */
  private sendReadyAcks(): void {
    const due = this.acks.takeDue(this.version === MQTT_V5);
    if (due !== null && this.state !== 'closed') this.socket.write(due);
  }

  private overLimits(): boolean {
    const { limits } = this.door;
    return (
      this.inflightBytes > limits.maxInflightBytes ||
      this.acks.inflightMessages >= limits.maxInflightMessages ||
      this.socket.writableLength > MAX_UNSENT_BYTES ||
      this.door.writer.overloaded
    );
  }

  /** Backpressure: a client whose writes the log has not caught up with is not read until it has. */
  private pauseIfOverLimits(): void {
    if (this.paused || this.state !== 'open' || !this.overLimits()) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Reads the client again if it was paused and every limit allows (the listener calls it when the writer drains). */
  resume(): void {
    if (!this.paused || this.state !== 'open' || this.overLimits()) return;
    this.paused = false;
    // The time paused is not the client's silence.
    this.lastReadAtMs = Date.now();
    this.socket.resume();
  }

  private onClosed(): void {
    this.state = 'closed';
    const will = this.will;
    this.will = null;
    if (will) void this.door.writer.write(will.topic, { ...will.record, timestamp: Date.now() });
    this.door.ended(this);
  }
}

/** A protocol level mqtt-packet cannot parse (it reads 3.1, 3.1.1 and 5; 3.1 is refused in checkConnect). */
function isUnsupportedLevel(level: number | null): boolean {
  return level !== null && level !== 3 && level !== MQTT_V311 && level !== MQTT_V5;
}
