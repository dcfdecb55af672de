import type { UserProperties } from 'mqtt-packet';

/** What the listener needs of a PUBLISH, whether mqtt-packet's parser read it or readPublishV311 did. */
export interface PublishFields {
  qos: 0 | 1 | 2;
  retain: boolean;
  topic: string;
  messageId?: number;
  payload: string | Buffer;
  /** v5 only. */
  properties?: { topicAlias?: number; userProperties?: UserProperties };
}

/** QoS of the fixed header's bits 2-1; 3 is not a QoS (malformed). */
const QOS_OF_BITS = [0, 1, 2, null] as const;

/**
 * The fields of a PUBLISH, read straight from its bytes: the hot path of a device fleet, where a general
 * parser's bookkeeping per packet (a buffer list, a packet object, debug checks) costs more than the rest of
 * the publish. `frame` is one whole packet (MqttFramer); `v5` says whether it has a properties field. Null
 * when it is not a well-formed PUBLISH, or (v5) when it carries properties: mqtt-packet's parser then reads
 * it, and says what is wrong if anything is.
 */
export function readPublish(frame: Buffer, v5: boolean): PublishFields | null {
  const first = frame[0]!;
  if (first >> 4 !== 3) return null;
  const qos = QOS_OF_BITS[(first >> 1) & 3]!;
  if (qos === null) return null;
  // The remaining length's bytes: MqttFramer checked them and the packet's size.
  let at = 1;
  while ((frame[at]! & 0x80) !== 0) at++;
  at++;
  if (at + 2 > frame.length) return null;
  const topicEnd = at + 2 + frame.readUInt16BE(at);
  if (topicEnd > frame.length) return null;
  const topic = frame.toString('utf8', at + 2, topicEnd);
  let messageId: number | undefined;
  at = topicEnd;
  if (qos > 0) {
    if (at + 2 > frame.length) return null;
    messageId = frame.readUInt16BE(at);
    // [MQTT-2.3.1-1]: a QoS 1 or 2 packet has a non-zero packet identifier.
    if (messageId === 0) return null;
    at += 2;
  }
  if (v5) {
    // A properties length of 0 is one byte of 0; anything else is left to mqtt-packet.
    if (frame[at] !== 0) return null;
    at++;
  }
  const retain = (first & 1) === 1;
  const payload = frame.subarray(at);
  return messageId === undefined
    ? { qos, retain, topic, payload }
    : { qos, retain, topic, messageId, payload };
}
