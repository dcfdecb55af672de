import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytes, json, SerdeError, string } from './serdes.js';

describe('serdes', () => {
  it('round-trips JSON, strings and bytes', () => {
    const telemetry = json<{ edge: string; rtt: number }>();
    assert.deepEqual(telemetry.deserialize(telemetry.serialize({ edge: 'edge-17', rtt: 12.5 })), {
      edge: 'edge-17',
      rtt: 12.5,
    });
    assert.equal(string().deserialize(string().serialize('pop-fra ✓')), 'pop-fra ✓');
    const raw = Buffer.from([0, 1, 255]);
    assert.equal(bytes().deserialize(bytes().serialize(raw)), raw);
  });

  it('reports undecodable JSON with the serde name and the byte count', () => {
    assert.throws(
      () => json().deserialize(Buffer.from('{"edge":')),
      (error: unknown) =>
        error instanceof SerdeError &&
        error.serde === 'json' &&
        /could not decode 8 bytes/.test(error.message),
    );
  });
});
