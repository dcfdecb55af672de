/**
 * Where an MQTT publish goes in the Kafka log: the first mapping whose MQTT topic filter matches the publish's
 * topic names the Kafka topic and which part of the MQTT topic is the record key; a publish no mapping matches
 * goes to UNMAPPED_KAFKA_TOPIC keyed by its whole MQTT topic.
 */

/** Where publishes that no mapping matches are written. */
export const UNMAPPED_KAFKA_TOPIC = 'mqtt.ingest';

/** A mapping's record key: 'topic' (the whole MQTT topic) or one of its levels ('$1' is the first). */
export const MQTT_KEY_SPEC = /^(topic|\$[1-9][0-9]{0,3})$/;

export interface MqttMapping {
  /** An MQTT topic filter: levels separated by '/', '+' for one level, '#' (last) for any number. */
  filter: string;
  /** The Kafka topic its publishes are written to. */
  topic: string;
  /** Matches MQTT_KEY_SPEC. */
  key: string;
}

/** What a publish to one MQTT topic becomes; built once per MQTT topic and kept. */
export interface MqttRoute {
  kafkaTopic: string;
  key: Buffer;
  /** The MQTT topic, as the `mqtt.topic` header's value. */
  mqttTopic: Buffer;
}

/**
 * MQTT topics whose route is kept; past it the cache starts over. Devices publish to the same few topics again
 * and again, so the filters are matched once per topic, not once per message.
 */
const MAX_CACHED_ROUTES = 10_000;

/** Why `filter` is not a valid MQTT topic filter (MQTT 3.1.1 and 5, section 4.7), or null when it is. */
export function topicFilterProblem(filter: string): string | null {
  if (filter.length === 0) return 'expected a non-empty MQTT topic filter';
  if (filter.includes('\u0000')) return 'an MQTT topic filter may not contain U+0000';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return "'#' must be a whole level and the last one, e.g. sensors/#";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level, e.g. sensors/+/temperature";
  }
  return null;
}

/** A topic name a client may publish to: no wildcards, no U+0000, at most `maxTopicBytes` of UTF-8. */
export function isValidTopicName(topic: string, maxTopicBytes: number): boolean {
  return (
    topic.length > 0 &&
    Buffer.byteLength(topic, 'utf8') <= maxTopicBytes &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000')
  );
}

/** Levels of the filter a key '$N' may name: those before a trailing '#', which can match nothing. */
export function keyableLevels(filter: string): number {
  const levels = filter.split('/');
  return levels.at(-1) === '#' ? levels.length - 1 : levels.length;
}

/** The level a key spec names (1-based), or null for the whole topic. */
export function keyLevelOf(key: string): number | null {
  return key === 'topic' ? null : Number(key.slice(1));
}

/** Whether `topic` (a topic name, no wildcards) matches `filter`'s levels. */
export function topicMatches(filterLevels: readonly string[], topicLevels: readonly string[]): boolean {
  // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match topics starting with '$' ($SYS...).
  const first = filterLevels[0];
  if ((first === '#' || first === '+') && topicLevels[0]!.startsWith('$')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    // '#' also matches the parent level: sport/# matches sport.
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

interface CompiledMapping {
  filterLevels: string[];
  kafkaTopic: string;
  keyLevel: number | null;
}

export class MqttTopicMap {
  private readonly mappings: CompiledMapping[];
  private readonly routes = new Map<string, MqttRoute>();

  /**
   * `mappings` are valid (mqtt-config.ts checked them): filters, and key levels within each filter. Topic
   * names longer than `maxTopicBytes` have no route.
   */
  constructor(
    mappings: readonly MqttMapping[],
    private readonly maxTopicBytes: number,
  ) {
    this.mappings = mappings.map((mapping) => ({
      filterLevels: mapping.filter.split('/'),
      kafkaTopic: mapping.topic,
      keyLevel: keyLevelOf(mapping.key),
    }));
  }

  /** The Kafka topics publishes can be written to: every mapping's, and the one for unmapped publishes. */
  kafkaTopics(): string[] {
    return [...new Set([...this.mappings.map((mapping) => mapping.kafkaTopic), UNMAPPED_KAFKA_TOPIC])];
  }

  /**
   * The route of a publish to `mqttTopic`; null when it is not a topic name a client may publish to (checked
   * once per topic: a route is kept only for a valid one).
   */
  route(mqttTopic: string): MqttRoute | null {
    const cached = this.routes.get(mqttTopic);
    if (cached) return cached;
    if (!isValidTopicName(mqttTopic, this.maxTopicBytes)) return null;
    if (this.routes.size >= MAX_CACHED_ROUTES) this.routes.clear();
    const route = this.resolve(mqttTopic);
    this.routes.set(mqttTopic, route);
    return route;
  }

  private resolve(mqttTopic: string): MqttRoute {
    const topicLevels = mqttTopic.split('/');
    const topicBytes = Buffer.from(mqttTopic, 'utf8');
    for (const mapping of this.mappings) {
      if (!topicMatches(mapping.filterLevels, topicLevels)) continue;
      const key =
        mapping.keyLevel === null ? topicBytes : Buffer.from(topicLevels[mapping.keyLevel - 1]!, 'utf8');
      return { kafkaTopic: mapping.kafkaTopic, key, mqttTopic: topicBytes };
    }
    return { kafkaTopic: UNMAPPED_KAFKA_TOPIC, key: topicBytes, mqttTopic: topicBytes };
  }
}
