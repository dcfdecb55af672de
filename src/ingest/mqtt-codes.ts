/** MQTT's protocol levels in CONNECT: 3.1.1 is 4, 5.0 is 5 (3.1, level 3, is refused). */
export const MQTT_V311 = 4;
export const MQTT_V5 = 5;

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const ConnackV3 = {
  ACCEPTED: 0x00,
  UNACCEPTABLE_PROTOCOL_VERSION: 0x01,
  IDENTIFIER_REJECTED: 0x02,
  SERVER_UNAVAILABLE: 0x03,
  BAD_USER_NAME_OR_PASSWORD: 0x04,
  NOT_AUTHORIZED: 0x05,
} as const;

/** MQTT 3.1.1 SUBACK return code for a subscription that is refused. */
export const SUBACK_V3_FAILURE = 0x80;

/** MQTT 5 reason codes (section 2.4) this listener sends. */
export const Reason = {
  SUCCESS: 0x00,
  /** DISCONNECT from the client: publish the will message (v5 only). */
  DISCONNECT_WITH_WILL: 0x04,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_BUSY: 0x89,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_NAME_INVALID: 0x90,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  CONNECTION_RATE_EXCEEDED: 0x9f,
} as const;
