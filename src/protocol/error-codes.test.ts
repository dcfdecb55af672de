import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protocolErrorsCodesById } from '@platformatic/kafka';
import { ErrorCode, errorCodeName } from './error-codes.js';

describe('Kafka error codes', () => {
  it("names every code as another Kafka client's table does", () => {
    // @platformatic/kafka keeps its own copy of Kafka's Errors enum: agreeing with it checks ours against a
    // table we did not write.
    for (const [name, code] of Object.entries(ErrorCode)) {
      assert.equal(protocolErrorsCodesById[code], name, `code ${code}`);
    }
  });

  it('has one name per code', () => {
    const codes = Object.values(ErrorCode);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('maps codes back to names', () => {
    assert.equal(errorCodeName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(errorCodeName(-1), 'UNKNOWN_SERVER_ERROR');
    assert.equal(errorCodeName(ErrorCode.REBALANCE_IN_PROGRESS), 'REBALANCE_IN_PROGRESS');
    assert.equal(errorCodeName(10_000), undefined);
  });
});
