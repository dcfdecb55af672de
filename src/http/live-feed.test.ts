import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveFeed, type LiveFilter, type SseConnection } from './live-feed.js';

/** A connection whose socket accepts writes only while `accepting` is true, like a slow client's. */
class FakeConnection implements SseConnection {
  status = 0;
  written: string[] = [];
  ended = false;
  accepting = true;
  private readonly listeners = new Map<string, Array<() => void>>();

  writeHead(status: number): this {
    this.status = status;
    return this;
  }

  write(chunk: string): boolean {
    this.written.push(chunk);
    return this.accepting;
  }

  end(chunk?: string): this {
    if (chunk !== undefined) this.written.push(chunk);
    this.ended = true;
    return this;
  }

  on(event: 'drain' | 'close', listener: () => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: 'drain' | 'close'): void {
    for (const listener of this.listeners.get(event) ?? []) listener();
  }

  /** Data payloads of `event: <type>` frames, parsed. */
  events(type: string): unknown[] {
    return this.written
      .filter((frame) => frame.startsWith(`event: ${type}\n`))
      .map((frame) => JSON.parse(frame.split('\n')[1]!.slice('data: '.length)) as unknown);
  }
}

const everything: LiveFilter = { types: new Set(['window', 'alert']), metrics: null };

describe('LiveFeed', () => {
  it('streams events to a fast client as SSE frames', () => {
    const feed = new LiveFeed();
    const connection = new FakeConnection();
    assert.equal(feed.attach(connection, everything), true);
    feed.publish({ type: 'window', data: { metric: 'edge_10s', n: 1 } });
    feed.publish({ type: 'alert', data: { rule: 'Storm' } });
    assert.equal(connection.status, 200);
    assert.deepEqual(connection.events('window'), [{ metric: 'edge_10s', n: 1 }]);
    assert.deepEqual(connection.events('alert'), [{ rule: 'Storm' }]);
    feed.disconnectAll();
    assert.equal(connection.ended, true);
  });

  it('buffers a slow client up to its bound, drops the oldest and reports how many', () => {
    const feed = new LiveFeed({ maxBufferedEvents: 3 });
    const slow = new FakeConnection();
    const fast = new FakeConnection();
    feed.attach(slow, everything);
    feed.attach(fast, everything);
    slow.accepting = false;
    feed.publish({ type: 'window', data: { n: 0 } });
    // The socket refused more after n=0 went out; the next 10 queue, and only the newest 3 survive.
    for (let n = 1; n <= 10; n++) feed.publish({ type: 'window', data: { n } });
    assert.equal(feed.stats().eventsDropped, 7);
    assert.equal(
      fast.events('window').length,
      11,
      'a fast client gets every event whatever the slow one does',
    );
    slow.accepting = true;
    slow.emit('drain');
    assert.deepEqual(slow.events('dropped'), [{ dropped: 7 }]);
    assert.deepEqual(
      slow.events('window').map((e) => (e as { n: number }).n),
      [0, 8, 9, 10],
    );
    feed.disconnectAll();
  });

  it('bounds a slow client by bytes as well as by count', () => {
    const feed = new LiveFeed({ maxBufferedEvents: 1000, maxBufferedBytes: 1000 });
    const slow = new FakeConnection();
    feed.attach(slow, everything);
    slow.accepting = false;
    feed.publish({ type: 'window', data: { first: true } });
    const padding = 'x'.repeat(200);
    for (let n = 0; n < 20; n++) feed.publish({ type: 'window', data: { n, padding } });
    const dropped = feed.stats().eventsDropped;
    assert.ok(dropped >= 15 && dropped < 20, `dropped ${dropped}`);
    feed.disconnectAll();
  });

  it('publish returns at once however many events a stalled client owes', () => {
    const feed = new LiveFeed();
    const stalled = new FakeConnection();
    feed.attach(stalled, everything);
    stalled.accepting = false;
    const started = performance.now();
    for (let n = 0; n < 100_000; n++) feed.publish({ type: 'window', data: { n } });
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 2000, `100k publishes took ${elapsedMs} ms`);
    assert.equal(feed.stats().eventsDropped, 100_000 - 1 - 1000);
    feed.disconnectAll();
  });

  it('refuses clients beyond the limit with a 503 JSON error', () => {
    const feed = new LiveFeed({ maxClients: 1 });
    const first = new FakeConnection();
    const second = new FakeConnection();
    assert.equal(feed.attach(first, everything), true);
    assert.equal(feed.attach(second, everything), false);
    assert.equal(second.status, 503);
    assert.equal(
      (JSON.parse(second.written[0]!) as { error: { code: string } }).error.code,
      'TOO_MANY_CLIENTS',
    );
    first.emit('close');
    assert.equal(feed.stats().clients, 0);
    const third = new FakeConnection();
    assert.equal(feed.attach(third, everything), true, 'a closed client frees its place');
    feed.disconnectAll();
  });

  it('filters by event type and by the metric of window events', () => {
    const feed = new LiveFeed();
    const alertsOnly = new FakeConnection();
    const oneMetric = new FakeConnection();
    feed.attach(alertsOnly, { types: new Set(['alert']), metrics: null });
    feed.attach(oneMetric, {
      types: new Set(['window', 'alert']),
      metrics: new Set(['edge_10s', 'site_10s']),
    });
    feed.publish({ type: 'window', data: { metric: 'edge_10s' } });
    feed.publish({ type: 'window', data: { metric: 'player_10s' } });
    feed.publish({ type: 'window', data: { metric: 'site_10s' } });
    feed.publish({ type: 'alert', data: { rule: 'Storm' } });
    assert.deepEqual(alertsOnly.events('window'), []);
    assert.equal(alertsOnly.events('alert').length, 1);
    assert.deepEqual(oneMetric.events('window'), [{ metric: 'edge_10s' }, { metric: 'site_10s' }]);
    assert.equal(oneMetric.events('alert').length, 1);
    feed.disconnectAll();
  });

  it('sends heartbeat comments to idle clients', async () => {
    const feed = new LiveFeed({ heartbeatIntervalMs: 20 });
    const idle = new FakeConnection();
    feed.attach(idle, everything);
    const heartbeats = () => idle.written.filter((frame) => frame === ': heartbeat\n\n').length;
    // Polled rather than timed: on a loaded machine the timer may fire late, but it must fire.
    const deadline = Date.now() + 10_000;
    while (heartbeats() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(heartbeats() >= 2, `${heartbeats()} heartbeats`);
    feed.disconnectAll();
  });
});
