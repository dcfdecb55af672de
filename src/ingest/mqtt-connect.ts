import { setTimeout as sleep } from 'node:timers/promises';
import type { IConnectPacket } from 'mqtt-packet';
import type { LogThrottle } from '../broker/log-throttle.js';
import type { DoorSecurity, LoginThrottle } from '../security/index.js';
import type { IngestRecord, IngestWriter } from './ingest-writer.js';
import { ConnackV3, MQTT_V5, MQTT_V311, Reason } from './mqtt-codes.js';
import type { MqttLimits } from './mqtt-config.js';
import type { MqttCloseReason, MqttLoginFailure, MqttMetrics } from './mqtt-metrics.js';
import { mqttRecord, payloadBytes } from './mqtt-record.js';
import type { MqttSession } from './mqtt-session.js';
import type { MqttTopicMap } from './mqtt-topic-map.js';

/** The principal of a client that sent no user name, as Kafka names one on a PLAINTEXT listener. */
export const ANONYMOUS = 'User:ANONYMOUS';

/** The name ACL refusals are counted and logged under (DoorSecurity.mayWrite's `door`). */
export const MQTT_DOOR = 'MQTT';

/** What every connection of one listener shares. */
export interface MqttDoor {
  readonly limits: MqttLimits;
  readonly routes: MqttTopicMap;
  readonly writer: IngestWriter;
  readonly metrics: MqttMetrics;
  readonly doors: DoorSecurity;
  /** CONNECT must carry a user name and password: the broker has a SASL listener, or allowAnonymous is false. */
  readonly loginRequired: boolean;
  readonly loginThrottle: LoginThrottle;
  /** For lines about what clients did wrong: a few per window, the rest counted. */
  readonly logThrottle: LogThrottle;
  /** The connection now goes by `clientId`: one already using it is closed ([MQTT-3.1.4-2]). */
  claim(clientId: string, session: MqttSession): void;
  /** The connection has closed. */
  ended(session: MqttSession): void;
}

/** A CONNECT refused: the CONNACK code for each version (v3 null: MQTT 3.1.1 has none, just close). */
export interface ConnectRefusal {
  v3: number | null;
  v5: number;
  reason: MqttCloseReason;
}

export type ConnectCheck =
  | { principal: string; will: { topic: string; record: IngestRecord } | null }
  | { refusal: ConnectRefusal };

const refuse = (v3: number | null, v5: number, reason: MqttCloseReason): ConnectCheck => ({
  refusal: { v3, v5, reason },
});

/**
 * Whether a CONNECT is let in, and as whom: protocol level, client identifier, will message (its QoS and
 * retain flag against what a v5 CONNACK advertises, its topic against the ACLs), then the login: a user name
 * and password are checked against the broker's users whenever given, and required when `loginRequired`.
 * Failed logins are throttled per address as the Kafka listeners' are.
 */
export async function checkConnect(
  packet: IConnectPacket,
  address: string,
  door: MqttDoor,
): Promise<ConnectCheck> {
  const v5 = packet.protocolVersion === MQTT_V5;
  if (packet.protocolVersion !== MQTT_V311 && !v5)
    return refuse(
      ConnackV3.UNACCEPTABLE_PROTOCOL_VERSION,
      Reason.UNSUPPORTED_PROTOCOL_VERSION,
      'protocol_error',
    );
  const clientIdBytes = Buffer.byteLength(packet.clientId, 'utf8');
  // [MQTT-3.1.3-8]: a 3.1.1 client without an identifier must ask for a clean session.
  if (clientIdBytes > door.limits.maxClientIdBytes || (!v5 && clientIdBytes === 0 && packet.clean === false))
    return refuse(ConnackV3.IDENTIFIER_REJECTED, Reason.CLIENT_IDENTIFIER_NOT_VALID, 'client_id_invalid');
  const { will } = packet;
  if (will && v5 && (will.qos ?? 0) > 1) return refuse(null, Reason.QOS_NOT_SUPPORTED, 'qos_not_supported');
  if (will && v5 && will.retain) return refuse(null, Reason.RETAIN_NOT_SUPPORTED, 'retain_not_supported');
  const willRoute = will ? door.routes.route(will.topic) : null;
  if (will && willRoute === null) return refuse(null, Reason.TOPIC_NAME_INVALID, 'topic_invalid');
  if (v5 && packet.properties?.authenticationMethod !== undefined) {
    door.metrics.loginFailed('unsupported_auth_method');
    return refuse(null, Reason.BAD_AUTHENTICATION_METHOD, 'not_authorized');
  }
  const login = await logIn(packet, address, door);
  if (typeof login !== 'string') return login;
  if (!will || willRoute === null) return { principal: login, will: null };
  const route = willRoute;
  if (!door.doors.mayWrite(MQTT_DOOR, login, address, route.kafkaTopic))
    return refuse(ConnackV3.NOT_AUTHORIZED, Reason.NOT_AUTHORIZED, 'not_authorized');
  const record = mqttRecord(
    route,
    payloadBytes(will.payload),
    will.qos ?? 0,
    Date.now(),
    will.properties?.userProperties,
    true,
  );
  return { principal: login, will: { topic: route.kafkaTopic, record } };
}

/** The principal the client logs in as, or the refusal. */
async function logIn(
  packet: IConnectPacket,
  address: string,
  door: MqttDoor,
): Promise<string | ConnectCheck> {
  const { username } = packet;
  if (username === undefined) {
    if (!door.loginRequired) return ANONYMOUS;
    return loginFailed(door, 'no_credentials', ConnackV3.NOT_AUTHORIZED, Reason.NOT_AUTHORIZED);
  }
  const { loginThrottle } = door;
  // An address that must wait is refused without its password being checked.
  if (loginThrottle.waitMs(address, Date.now()) > 0)
    return loginFailed(door, 'throttled', ConnackV3.SERVER_UNAVAILABLE, Reason.CONNECTION_RATE_EXCEEDED);
  const password = packet.password?.toString('utf8') ?? '';
  if (await door.doors.checkPassword(username, password)) {
    loginThrottle.succeeded(address);
    return `User:${username}`;
  }
  const refusal = loginFailed(
    door,
    'bad_credentials',
    ConnackV3.BAD_USER_NAME_OR_PASSWORD,
    Reason.BAD_USER_NAME_OR_PASSWORD,
  );
  loginThrottle.failed(address, Date.now());
  // Answered after the wait the address now has, so that guessing goes no faster than the throttle allows.
  await sleep(loginThrottle.waitMs(address, Date.now()));
  return refusal;
}

/** Counts the failure at once (not when the refusal leaves) and gives the refusal. */
function loginFailed(door: MqttDoor, why: MqttLoginFailure, v3: number, v5: number): ConnectCheck {
  door.metrics.loginFailed(why);
  return refuse(v3, v5, 'not_authorized');
}

/** The protocol names of CONNECT: MQTT 3.1.1 and 5, and MQTT 3.1 (refused with 0x01). */
const PROTOCOL_NAMES = new Set(['MQTT', 'MQIsdp']);

/**
 * The protocol level a CONNECT packet (one whole packet, MqttFramer) asks for, read from its bytes; null when
 * it is not a CONNECT with a protocol name. mqtt-packet's parser refuses levels other than 3, 4 and 5 as
 * malformed, but [MQTT-3.1.2-2] wants them answered with CONNACK 0x01 first: this finds them.
 */
export function connectProtocolLevel(frame: Buffer): number | null {
  if (frame[0] !== 0x10) return null;
  let at = 1;
  while (at < frame.length && (frame[at]! & 0x80) !== 0) at++;
  at++;
  if (at + 2 > frame.length) return null;
  const nameEnd = at + 2 + frame.readUInt16BE(at);
  if (nameEnd >= frame.length || !PROTOCOL_NAMES.has(frame.toString('latin1', at + 2, nameEnd))) return null;
  return frame[nameEnd]!;
}
