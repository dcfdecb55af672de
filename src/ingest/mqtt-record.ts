import type { UserProperties } from 'mqtt-packet';
import type { RecordHeader } from '../client/types.js';
import type { IngestRecord } from './ingest-writer.js';
import type { MqttRoute } from './mqtt-topic-map.js';

/** The `mqtt.qos` header's values, shared by every record. */
const QOS_HEADER_VALUES = [Buffer.from('0'), Buffer.from('1'), Buffer.from('2')] as const;

/** Present (value "true") on the record of a will message. */
export const WILL_HEADER = 'mqtt.will';
const WILL_HEADER_VALUE = Buffer.from('true');

/**
 * The Kafka record of an MQTT message: key per the route's mapping, value the payload bytes as they came,
 * timestamp its arrival, headers `mqtt.topic`, `mqtt.qos` (and `mqtt.will` for a will), then the v5 user
 * properties in the order sent, a repeated name as a header per value.
 */
export function mqttRecord(
  route: MqttRoute,
  payload: Buffer,
  qos: 0 | 1 | 2,
  timestampMs: number,
  userProperties: UserProperties | undefined,
  will = false,
): IngestRecord {
  const headers: RecordHeader[] = [
    { key: 'mqtt.topic', value: route.mqttTopic },
    { key: 'mqtt.qos', value: QOS_HEADER_VALUES[qos] },
  ];
  if (will) headers.push({ key: WILL_HEADER, value: WILL_HEADER_VALUE });
  if (userProperties) {
    for (const [key, values] of Object.entries(userProperties)) {
      for (const value of Array.isArray(values) ? values : [values]) {
        headers.push({ key, value: Buffer.from(value, 'utf8') });
      }
    }
  }
  return { key: route.key, value: payload, timestamp: timestampMs, headers };
}

/** mqtt-packet types a payload as string or Buffer; its parser gives Buffers. */
export function payloadBytes(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}
