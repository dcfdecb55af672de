import { z } from 'zod';
import { durationSchema } from '../alerts/rules.js';
import { LogError, validateTopicName } from '../log/index.js';
import { keyableLevels, keyLevelOf, MQTT_KEY_SPEC, topicFilterProblem } from './mqtt-topic-map.js';

/** MQTT's own ceiling on a packet (the remaining length is at most 268,435,455) plus its fixed header. */
const MQTT_MAX_PACKET_BYTES = 268_435_460;

/** A topic filter, like a topic name, is at most 65,535 bytes of UTF-8 on the wire. */
const MQTT_MAX_STRING_BYTES = 65_535;

const kafkaTopic = z.string().superRefine((name, context) => {
  try {
    validateTopicName(name);
  } catch (error) {
    if (!(error instanceof LogError)) throw error;
    context.addIssue({ code: 'custom', message: error.message });
  }
});

const mappingSchema = z
  .strictObject({
    filter: z
      .string()
      .max(MQTT_MAX_STRING_BYTES)
      .superRefine((filter, context) => {
        const problem = topicFilterProblem(filter);
        if (problem !== null) context.addIssue({ code: 'custom', message: problem });
      }),
    topic: kafkaTopic,
    key: z
      .string()
      .regex(MQTT_KEY_SPEC, "expected 'topic' or a level of the MQTT topic such as '$2'")
      .default('topic'),
  })
  .superRefine((mapping, context) => {
    const level = keyLevelOf(mapping.key);
    const levels = keyableLevels(mapping.filter);
    if (level !== null && level > levels)
      context.addIssue({
        code: 'custom',
        path: ['key'],
        message: `filter ${mapping.filter} has ${levels} level(s) every matching topic is sure to have; ${mapping.key} names none of them`,
      });
  });

const limitsSchema = z.strictObject({
  /** A packet larger than this closes its connection (v5: DISCONNECT 0x95); also told in CONNACK (v5). */
  maxPacketBytes: z
    .number()
    .int()
    .min(1024)
    .max(MQTT_MAX_PACKET_BYTES)
    .default(256 * 1024),
  /** Connections at once; more are closed as they arrive. */
  maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
  /** QoS 1 publishes of one connection not acknowledged yet: v5's Receive Maximum, a read pause for v3.1.1. */
  maxInflightMessages: z.number().int().min(1).max(65_535).default(1000),
  /** Payload bytes of one connection being written to the log; past it the connection is not read. */
  maxInflightBytes: z
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Payload bytes of every connection being written to the log; past it no connection is read. */
  maxInflightBytesTotal: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(64 * 1024 * 1024),
  /** Longest MQTT topic name accepted, in bytes of UTF-8. */
  maxTopicBytes: z.number().int().min(1).max(MQTT_MAX_STRING_BYTES).default(1024),
  /** Longest client identifier accepted (MQTT requires at least 23). */
  maxClientIdBytes: z.number().int().min(23).max(MQTT_MAX_STRING_BYTES).default(256),
  /** Topic aliases a v5 client may set per connection (Topic Alias Maximum; 0: none). */
  maxTopicAliases: z.number().int().min(0).max(65_535).default(64),
  /**
   * Longest keepalive a client gets, in seconds: one asking for more, or for none (0), is held to this one
   * (a v5 client is told so with Server Keep Alive), so a silent connection does not stay open for ever.
   */
  maxKeepAliveSeconds: z.number().int().min(1).max(65_535).default(65_535),
  /** A connection that has not sent CONNECT this long after it opened is closed. */
  connectTimeout: durationSchema.default(10_000),
});

/** The `mqtt` section's keys besides `listen` (cli/config.ts adds it, with the other listen addresses). */
export const mqttSettingsSchema = z.strictObject({
  /** Clients that send no user name are let in as User:ANONYMOUS (not when the broker has a SASL listener). */
  allowAnonymous: z.boolean().default(true),
  /** First match wins; a publish no mapping matches goes to mqtt.ingest keyed by its MQTT topic. */
  mappings: z.array(mappingSchema).max(1000).default([]),
  /** PEM files; present, clients connect with TLS (MQTT over TLS, usually port 8883). */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
});

export type MqttSettings = z.output<typeof mqttSettingsSchema>;
export type MqttLimits = MqttSettings['limits'];
