import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertTransition } from '../alerts/types.js';
import { SiteAlertBoard } from './site-alerts.js';
import { decodeAlerts, decodeSilence, decodeWindows, encodeAlerts, SiteRecordError } from './site-topics.js';

function transition(fingerprint: string, state: AlertTransition['state'], atMs: number): AlertTransition {
  return {
    fingerprint,
    rule: 'RetransmitStorm',
    state,
    atMs,
    value: 12,
    labels: { alertname: 'RetransmitStorm', edge: fingerprint },
    annotations: {},
    wasFiring: state === 'resolved',
    eventTimeMs: atMs,
  };
}

describe('site alert board', () => {
  const board = (live: number[] | null = null) =>
    new SiteAlertBoard({
      liveNodes: () => (live === null ? null : new Set(live)),
      silencedBy: (labels) => (labels.edge === 'muted' ? 'silence-1' : null),
    });

  it('shows pending and firing alerts of every node, keeps when it became active, drops resolved ones', () => {
    const site = board();
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'pending', 100)] });
    site.apply({ node: 2, reset: false, transitions: [transition('b', 'firing', 150)] });
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'firing', 200)] });
    const a = site.alerts(1_000).find((x) => x.fingerprint === 'a')!;
    assert.equal(a.state, 'firing');
    assert.equal(a.activeAtMs, 100);
    assert.equal(a.sinceMs, 200);
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'resolved', 300)] });
    assert.deepEqual(
      site.alerts(1_000).map((x) => x.fingerprint),
      ['b'],
    );
  });

  it("lets only the node holding an alert resolve it, and forgets a restarted node's alerts", () => {
    const site = board();
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'firing', 100)] });
    // Node 2 took the series over and reports it firing; a late resolution from node 1 changes nothing.
    site.apply({ node: 2, reset: false, transitions: [transition('a', 'firing', 200)] });
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'resolved', 210)] });
    assert.equal(site.alerts(1_000).length, 1);
    site.apply({ node: 2, reset: true, transitions: [] });
    assert.equal(site.alerts(1_000).length, 0);
  });

  it('hides the alerts of nodes that are not alive, and says which silence mutes an alert', () => {
    const live = [2];
    const site = board(live);
    site.apply({ node: 1, reset: false, transitions: [transition('a', 'firing', 100)] });
    site.apply({ node: 2, reset: false, transitions: [transition('muted', 'firing', 100)] });
    const shown = site.alerts(1_000);
    assert.deepEqual(
      shown.map((x) => [x.fingerprint, x.silencedBy]),
      [['muted', 'silence-1']],
    );
  });
});

describe('site topic records', () => {
  it('round-trip alert transitions, leaving out fields the record does not carry', () => {
    const extra = { ...transition('a', 'firing', 1), internal: true } as AlertTransition;
    const decoded = decodeAlerts(encodeAlerts({ node: 3, reset: false, transitions: [extra] }), 't', 0);
    assert.deepEqual(decoded, { node: 3, reset: false, transitions: [transition('a', 'firing', 1)] });
  });

  it('refuse records that are not what a node writes, naming topic, offset and field', () => {
    assert.throws(() => decodeWindows(Buffer.from('{'), 'w', 7), /w offset 7: not JSON/);
    assert.throws(
      () => decodeWindows(Buffer.from(JSON.stringify({ rows: [{ metric: 1 }] })), 'w', 8),
      (error: unknown) => error instanceof SiteRecordError && /rows\.0\.metric/.test(error.message),
    );
    assert.throws(() => decodeSilence(null, 's', 9), /s offset 9: no value/);
  });
});
