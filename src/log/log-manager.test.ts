import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { encodeRecordBatch } from '../protocol/index.js';
import { LogError } from './errors.js';
import { LogManager } from './log-manager.js';

function expectCode(code: string, pattern?: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof LogError, `expected LogError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

describe('LogManager', () => {
  it('creates topics with partitions and persists their config across restarts', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDir: tmp.dir, logger, defaults: { retentionMs: 1000 } });
    manager.createTopic('cdn.telemetry', 4, { 'retention.bytes': '1048576', 'segment.bytes': '65536' });
    manager.createTopic('alerts', 1);
    await manager.partition('cdn.telemetry', 3).append(makeBatch('x'));
    await manager.close();

    const reopened = LogManager.open({ dataDir: tmp.dir, logger, defaults: { retentionMs: 1000 } });
    assert.deepEqual(reopened.topicNames(), ['alerts', 'cdn.telemetry']);
    const topic = reopened.describeTopic('cdn.telemetry');
    assert.equal(topic.partitions, 4);
    assert.equal(topic.config.retentionBytes, 1048576);
    assert.equal(topic.config.segmentBytes, 65536);
    assert.equal(topic.config.retentionMs, 1000, 'broker defaults apply where the topic sets nothing');
    assert.deepEqual(topic.overrides, { 'retention.bytes': '1048576', 'segment.bytes': '65536' });
    assert.equal(reopened.partition('cdn.telemetry', 3).logEndOffset, 3);
    await reopened.close();
  });

  it('names the key, the value and what was expected for a bad config', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    assert.throws(
      () => manager.createTopic('t', 1, { 'retention.ms': 'soon' }),
      expectCode('INVALID_CONFIG', /retention\.ms="soon" is invalid: expected an integer >= -1/),
    );
    assert.throws(
      () => manager.createTopic('t', 1, { 'flush.policy': 'sometimes' }),
      expectCode('INVALID_CONFIG', /flush\.policy="sometimes".*durable or interval/),
    );
    assert.throws(
      () => manager.createTopic('t', 1, { 'retention.mss': '1' }),
      expectCode('INVALID_CONFIG', /unknown/),
    );
    assert.throws(() => manager.createTopic('t', 0), expectCode('INVALID_CONFIG', /partitions=0/));
    assert.equal(manager.hasTopic('t'), false, 'a rejected create leaves nothing behind');
    await manager.close();
  });

  it('rejects illegal topic names and duplicates', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    for (const name of ['', '.', '..', 'a/b', 'x'.repeat(250), 'white space']) {
      assert.throws(() => manager.createTopic(name, 1), expectCode('INVALID_TOPIC'));
    }
    manager.createTopic('dup', 1);
    assert.throws(() => manager.createTopic('dup', 1), expectCode('TOPIC_ALREADY_EXISTS'));
    assert.throws(() => manager.partition('dup', 1), expectCode('UNKNOWN_TOPIC_OR_PARTITION'));
    assert.throws(() => manager.partition('nope', 0), expectCode('UNKNOWN_TOPIC_OR_PARTITION'));
    await manager.close();
  });

  it('alters topic config in place and on disk', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDir: tmp.dir, logger });
    manager.createTopic('t', 2);
    manager.alterTopicConfig('t', { 'flush.policy': 'interval', 'flush.ms': '50' });
    const log = manager.partition('t', 1);
    await log.append(makeBatch('a'));
    assert.equal(log.highWatermark, 3, 'interval policy makes appends visible at once');
    await manager.close();
    const reopened = LogManager.open({ dataDir: tmp.dir, logger });
    assert.equal(reopened.describeTopic('t').config.flushPolicy, 'interval');
    await reopened.close();
  });

  it('adds partitions to a topic, on disk too, and never takes any away', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDir: tmp.dir, logger });
    manager.createTopic('t', 2, { 'retention.ms': '1000' });
    assert.equal(manager.addPartitions('t', 4).partitions, 4);
    assert.equal(manager.partition('t', 3).logEndOffset, 0);
    assert.throws(() => manager.addPartitions('t', 4), expectCode('INVALID_CONFIG', /expected 5\.\./));
    assert.throws(() => manager.addPartitions('t', 1), expectCode('INVALID_CONFIG'));
    await manager.partition('t', 3).append(makeBatch('new'));
    await manager.close();
    const reopened = LogManager.open({ dataDir: tmp.dir, logger });
    const topic = reopened.describeTopic('t');
    assert.equal(topic.partitions, 4);
    assert.equal(topic.config.retentionMs, 1000, 'the config stays');
    assert.equal(reopened.partition('t', 3).logEndOffset, 3);
    await reopened.close();
  });

  it('deletes a topic and its files', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    manager.createTopic('gone', 3);
    await manager.partition('gone', 0).append(makeBatch('a'));
    await manager.deleteTopic('gone');
    assert.equal(manager.hasTopic('gone'), false);
    assert.equal(fs.existsSync(path.join(tmp.dir, 'topics', 'gone')), false);
    manager.createTopic('gone', 1);
    assert.equal(manager.partition('gone', 0).logEndOffset, 0, 'a recreated topic starts empty');
    await manager.close();
  });

  it('cleans up a topic whose creation was interrupted', async () => {
    using tmp = temporaryDirectory();
    fs.mkdirSync(path.join(tmp.dir, 'topics', 'half', '0'), { recursive: true });
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDir: tmp.dir, logger });
    assert.equal(manager.hasTopic('half'), false);
    assert.ok(logger.at('warn').some((l) => l.message.includes('interrupted create')));
    await manager.close();
  });

  it('refuses a corrupt topic file with a message naming the file', async () => {
    using tmp = temporaryDirectory();
    fs.mkdirSync(path.join(tmp.dir, 'topics', 'bad'), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, 'topics', 'bad', 'topic.json'), '{"partitions": "many"}');
    assert.throws(
      () => LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() }),
      expectCode('INVALID_CONFIG', /topic\.json: expected/),
    );
  });

  it('locks the data directory against a second live process', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    const script = `import('${new URL('./index.js', import.meta.url).href}').then(({ LogManager }) => {
      try { LogManager.open({ dataDir: ${JSON.stringify(tmp.dir)}, logger: console }); console.log('opened'); }
      catch (e) { console.log(e.code + ' ' + e.message); }
    })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.match(child.stdout, /IO_ERROR: data directory .* is in use by process \d+/);
    await manager.close();
    fs.writeFileSync(path.join(tmp.dir, '.lock'), '999999999');
    const afterCrash = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    await afterCrash.close();
  });

  it('applies retention across all topics', async () => {
    using tmp = temporaryDirectory();
    let now = 1_700_000_000_000;
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger(), now: () => now });
    manager.createTopic('t', 2, { 'segment.bytes': '1024', 'retention.ms': '1000' });
    for (let i = 0; i < 20; i++) await manager.partition('t', i % 2).append(makeBatch(`b${i}`, 3, now));
    now += 5000;
    const result = manager.runRetention();
    assert.ok(result.deletedSegments >= 2);
    assert.equal(manager.partition('t', 0).logStartOffset, manager.partition('t', 0).logEndOffset);
    await manager.close();
  });

  it('forgets producer ids idle past producerIdExpirationMs in the retention pass', async () => {
    using tmp = temporaryDirectory();
    let now = 1_800_000_000_000;
    const manager = LogManager.open({
      dataDir: tmp.dir,
      logger: new RecordingLogger(),
      now: () => now,
      producerIdExpirationMs: 1000,
    });
    manager.createTopic('t', 1);
    const idempotent = encodeRecordBatch([{ key: null, value: Buffer.from('v'), timestamp: now }], {
      producerId: 5,
      producerEpoch: 0,
      baseSequence: 0,
    });
    await manager.partition('t', 0).append(idempotent);
    assert.equal(manager.runRetention().expiredProducers, 0);
    now += 1000;
    assert.equal(manager.runRetention().expiredProducers, 1);
    assert.deepEqual(manager.partition('t', 0).activeProducers(), []);
    await manager.close();
  });

  it('keeps active partitions writable however many idle partitions exceed the descriptor budget', async () => {
    using tmp = temporaryDirectory();
    const maxOpenSegments = 8;
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger(), maxOpenSegments });
    manager.createTopic('busy', 1, { 'segment.bytes': '1024' });
    const busy = manager.partition('busy', 0);
    await busy.append(makeBatch('before'));
    const idleTopics = maxOpenSegments * 8;
    for (let i = 0; i < idleTopics; i++) manager.createTopic(`idle-${i}`, 1);
    assert.ok(manager.openSegmentFiles <= maxOpenSegments, `${manager.openSegmentFiles} files open`);

    const segmentsBefore = busy.segmentCount;
    const openedBefore = manager.openedSegmentFiles;
    for (let i = 0; i < 3; i++) await busy.append(makeBatch(`same-segment-${i}`));
    assert.equal(
      manager.openedSegmentFiles - openedBefore,
      1,
      'the active segment reopens once, not per append',
    );
    for (let i = 0; i < 30; i++) await busy.append(makeBatch(`b${i}`, 3));
    assert.ok(busy.segmentCount > segmentsBefore + 2, 'the busy partition rolled segments');
    const first = busy.read(0, 1 << 20).records;
    assert.ok(first.length > 0, 'the oldest segment is still served');
    assert.equal(busy.logEndOffset, 3 + 9 + 90);

    manager.createTopic('late', 2);
    await manager.partition('late', 1).append(makeBatch('late'));
    await manager.partition(`idle-${idleTopics - 1}`, 0).append(makeBatch('idle wakes'));
    assert.ok(manager.openSegmentFiles <= maxOpenSegments);
    await manager.close();

    const reopened = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger(), maxOpenSegments });
    assert.equal(reopened.topicNames().length, idleTopics + 2, 'every partition recovers within the budget');
    assert.equal(reopened.partition('busy', 0).logEndOffset, 3 + 9 + 90);
    await reopened.close();
  });
});

describe('LogManager for replicas', () => {
  it('creates a topic with a given id and finds partitions that may not exist', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    const topicId = '0123456789abcdef0123456789abcdef';
    assert.equal(manager.createTopic('t', 2, {}, topicId).topicId, topicId);
    assert.throws(() => manager.createTopic('u', 1, {}, 'XYZ'), expectCode('INVALID_CONFIG', /topic id/));
    assert.throws(
      () => manager.createTopic('u', 1, {}, '0'.repeat(32)),
      expectCode('INVALID_CONFIG', /topic id/),
    );
    assert.equal(manager.hasTopic('u'), false);
    assert.ok(manager.partitionIfExists('t', 1));
    assert.equal(manager.partitionIfExists('t', 2), null);
    assert.equal(manager.partitionIfExists('nope', 0), null);
    await manager.close();
    const reopened = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    assert.equal(reopened.describeTopic('t').topicId, topicId);
    await reopened.close();
  });
});
