import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttTopicMap, topicFilterProblem, topicMatches, UNMAPPED_KAFKA_TOPIC } from './mqtt-topic-map.js';

const matches = (filter: string, topic: string) => topicMatches(filter.split('/'), topic.split('/'));

describe('MQTT topic filters', () => {
  it('match as MQTT section 4.7 says: + one level, # any number including none, $ topics apart', () => {
    assert.ok(matches('sport/tennis/+', 'sport/tennis/player1'));
    assert.ok(!matches('sport/tennis/+', 'sport/tennis/player1/ranking'));
    assert.ok(!matches('sport/tennis/+', 'sport/tennis'));
    assert.ok(matches('sport/#', 'sport'));
    assert.ok(matches('sport/#', 'sport/tennis/player1'));
    assert.ok(matches('#', 'a/b/c'));
    assert.ok(matches('+/+', '/finance'));
    assert.ok(!matches('+', '/finance'));
    assert.ok(matches('sensors//x', 'sensors//x'));
    assert.ok(!matches('#', '$SYS/broker'));
    assert.ok(!matches('+/broker', '$SYS/broker'));
    assert.ok(matches('$SYS/#', '$SYS/broker'));
    assert.ok(!matches('a/b', 'a/b/c'));
  });

  it('are refused where a wildcard is not a whole level or # is not last', () => {
    assert.equal(topicFilterProblem('sensors/+/temp'), null);
    assert.equal(topicFilterProblem('sensors/#'), null);
    assert.match(topicFilterProblem('sensors/#/temp') ?? '', /'#' must be a whole level and the last one/);
    assert.match(topicFilterProblem('sensors#') ?? '', /'#'/);
    assert.match(topicFilterProblem('sensors/te+mp') ?? '', /'\+' must be a whole level/);
    assert.match(topicFilterProblem('') ?? '', /non-empty/);
  });
});

describe('MqttTopicMap', () => {
  const map = new MqttTopicMap(
    [
      { filter: 'devices/+/telemetry/#', topic: 'device.telemetry', key: '$2' },
      { filter: 'devices/#', topic: 'device.other', key: 'topic' },
      { filter: 'cdn/+/+/tcp', topic: 'cdn.tcp', key: '$3' },
    ],
    64,
  );

  it('routes by the first mapping that matches, keyed by the level it names', () => {
    const telemetry = map.route('devices/edge-17/telemetry/rtt')!;
    assert.equal(telemetry.kafkaTopic, 'device.telemetry');
    assert.equal(telemetry.key.toString(), 'edge-17');
    assert.equal(telemetry.mqttTopic.toString(), 'devices/edge-17/telemetry/rtt');
    const other = map.route('devices/edge-17/status')!;
    assert.equal(other.kafkaTopic, 'device.other');
    assert.equal(other.key.toString(), 'devices/edge-17/status');
    assert.equal(map.route('cdn/fra1/edge-3/tcp')!.key.toString(), 'edge-3');
  });

  it('sends what no mapping matches to mqtt.ingest keyed by the MQTT topic', () => {
    const route = map.route('home/kitchen/temp')!;
    assert.equal(route.kafkaTopic, UNMAPPED_KAFKA_TOPIC);
    assert.equal(route.key.toString(), 'home/kitchen/temp');
    assert.deepEqual(map.kafkaTopics(), ['device.telemetry', 'device.other', 'cdn.tcp', 'mqtt.ingest']);
  });

  it('has no route for what is not a topic name a client may publish to', () => {
    for (const topic of ['', 'devices/+/telemetry', 'devices/#', 'a\u0000b', 'x'.repeat(65)]) {
      assert.equal(map.route(topic), null, JSON.stringify(topic));
    }
    assert.ok(map.route('x'.repeat(64)));
  });

  it('keeps each topic route, so a topic is matched once', () => {
    assert.equal(map.route('devices/a/telemetry/x'), map.route('devices/a/telemetry/x'));
  });
});
