import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EntityQuota } from '../security/index.js';
import { ClientQuotas, clientBacksOff, type QuotaKind, userOf } from './client-quotas.js';

/** Quotas over a clock the test moves, counting what the metrics would. */
function quotasAt(quotas: readonly EntityQuota[]) {
  const clock = { nowMs: 0 };
  const throttled: Array<{ kind: QuotaKind; throttleMs: number }> = [];
  const manager = new ClientQuotas(
    { throttled: (kind, throttleMs) => throttled.push({ kind, throttleMs }) },
    () => clock.nowMs,
  );
  manager.update(quotas);
  return { manager, clock, throttled };
}

describe('ClientQuotas', () => {
  test('without quotas nothing is enforced or recorded', () => {
    const { manager, throttled } = quotasAt([]);
    for (const kind of ['produce', 'fetch', 'request'] as const) assert.equal(manager.enforces(kind), false);
    assert.equal(manager.record('produce', 'User:alice', 'app', 1e9), 0);
    assert.deepEqual(throttled, []);
  });

  test('each key is found at the most specific entity that sets it', () => {
    const { manager } = quotasAt([
      { entity: { clientId: null }, values: { producer_byte_rate: 4000, consumer_byte_rate: 4000 } },
      { entity: { user: null }, values: { producer_byte_rate: 2000 } },
      { entity: { user: 'alice', clientId: 'app' }, values: { producer_byte_rate: 1000 } },
      { entity: { user: 'alice', clientId: null }, values: { consumer_byte_rate: 3000 } },
    ]);
    assert.equal(manager.quotaOf('produce', 'User:alice', 'app'), 1000);
    assert.equal(manager.quotaOf('produce', 'User:alice', 'other'), 2000);
    assert.equal(manager.quotaOf('produce', 'User:ANONYMOUS', null), 2000);
    assert.equal(manager.quotaOf('fetch', 'User:alice', 'app'), 3000);
    assert.equal(manager.quotaOf('fetch', 'User:bob', 'app'), 4000);
    assert.equal(manager.quotaOf('request', 'User:bob', 'app'), null);
    assert.equal(manager.enforces('request'), false);
  });

  test("a user's quota is shared by its client ids; the default user's is each user's own", () => {
    const { manager } = quotasAt([
      { entity: { user: 'alice' }, values: { producer_byte_rate: 100 } },
      { entity: { user: null }, values: { producer_byte_rate: 100 } },
    ]);
    assert.equal(manager.record('produce', 'User:alice', 'a', 1000), 0);
    // 2,000 bytes over 10 s against 100 B/s: (200 - 100) / 100 x 10 s.
    assert.equal(manager.record('produce', 'User:alice', 'b', 1000), 10_000);
    assert.equal(manager.record('produce', 'User:bob', 'a', 1000), 0);
    assert.equal(manager.record('produce', 'User:carol', 'a', 1000), 0);
  });

  test('throttles are counted per kind; a new quota applies at once and measurements go on', () => {
    const { manager, clock, throttled } = quotasAt([
      { entity: { clientId: 'app' }, values: { request_percentage: 10 } },
    ]);
    // 200 ms of handling in 10 s is 2% of a thread.
    assert.equal(manager.record('request', 'User:x', 'app', 20), 0);
    clock.nowMs = 1000;
    manager.update([{ entity: { clientId: 'app' }, values: { request_percentage: 1 } }]);
    // 2% against 1%: throttled for as long again as the window (10 s).
    assert.equal(manager.record('request', 'User:x', 'app', 0), 10_000);
    assert.deepEqual(throttled, [{ kind: 'request', throttleMs: 10_000 }]);
  });

  test('a fetch taken back is not counted against the client', () => {
    const { manager } = quotasAt([{ entity: { user: 'alice' }, values: { consumer_byte_rate: 100 } }]);
    assert.ok(manager.record('fetch', 'User:alice', null, 5000) > 0);
    manager.unrecord('fetch', 'User:alice', null, 5000);
    assert.equal(manager.record('fetch', 'User:alice', null, 500), 0);
  });

  test("clients back off by themselves from Kafka's versions on (KIP-219); SASL answers are delayed", () => {
    assert.equal(clientBacksOff(0, 6), true);
    assert.equal(clientBacksOff(0, 5), false);
    assert.equal(clientBacksOff(1, 8), true);
    assert.equal(clientBacksOff(1, 7), false);
    assert.equal(clientBacksOff(48, 0), false);
    assert.equal(clientBacksOff(36, 2), false);
  });

  test('the user is the principal without its type', () => {
    assert.equal(userOf('User:alice'), 'alice');
    assert.equal(userOf('User:CN=agent,O=Example'), 'CN=agent,O=Example');
  });
});
