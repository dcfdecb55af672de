import { performance } from 'node:perf_hooks';
import { Reason } from './mqtt-codes.js';

/** A QoS 1 publish of one connection, from being read to its PUBACK. */
export interface Inflight {
  messageId: number;
  /** performance.now() when the publish was read; null for one refused before it was written. */
  readAtMs: number | null;
  /** v5 PUBACK reason code once settled. */
  reasonCode: number;
  settled: boolean;
}

/** Bytes of one PUBACK at most: fixed header, packet identifier, a v5 reason code. */
const MAX_PUBACK_BYTES = 5;

/**
 * The QoS 1 publishes of one connection in the order they came, and their PUBACKs, which leave in that order
 * ([MQTT-4.6.0-2]) even when the log acknowledges their partitions in another: a settled publish waits for
 * the ones before it.
 */
export class PubackQueue {
  private readonly queue: Inflight[] = [];
  private head = 0;
  private writtenCount = 0;

  /** `acknowledged` is told how long each publish written took from being read to its PUBACK. */
  constructor(private readonly acknowledged: (seconds: number) => void) {}

  /** Publishes handed to the log whose PUBACK has not left: what Receive Maximum counts. */
  get inflightMessages(): number {
    return this.writtenCount;
  }

  /** A publish handed to the log; settled later with settle(). */
  written(messageId: number): Inflight {
    const inflight: Inflight = {
      messageId,
      readAtMs: performance.now(),
      reasonCode: Reason.SUCCESS,
      settled: false,
    };
    this.queue.push(inflight);
    this.writtenCount++;
    return inflight;
  }

  /** A v5 publish refused before it reached the log: acknowledged in its turn with `reasonCode`. */
  refused(messageId: number, reasonCode: number): void {
    this.queue.push({ messageId, readAtMs: null, reasonCode, settled: true });
  }

  /** The log's answer for `written` publishes: SUCCESS, or the reason code a v5 client is told. */
  settle(written: readonly Inflight[], reasonCode: number): void {
    for (const inflight of written) {
      inflight.settled = true;
      inflight.reasonCode = reasonCode;
    }
  }

  /** The PUBACKs now due (settled, with nothing unsettled before them), in one buffer; null when none is. */
  takeDue(v5: boolean): Buffer | null {
    let end = this.head;
    while (end < this.queue.length && this.queue[end]!.settled) end++;
    if (end === this.head) return null;
    const bytes = Buffer.allocUnsafe((end - this.head) * MAX_PUBACK_BYTES);
    let at = 0;
    const nowMs = performance.now();
    for (let i = this.head; i < end; i++) {
      const inflight = this.queue[i]!;
      if (inflight.readAtMs !== null) {
        this.writtenCount--;
        if (inflight.reasonCode === Reason.SUCCESS) this.acknowledged((nowMs - inflight.readAtMs) / 1000);
      }
      // PUBACK: type 4, remaining length 2 (v5: 3 with a reason code, which may be left out when 0x00).
      const withReason = v5 && inflight.reasonCode !== Reason.SUCCESS;
      bytes[at++] = 0x40;
      bytes[at++] = withReason ? 3 : 2;
      bytes.writeUInt16BE(inflight.messageId, at);
      at += 2;
      if (withReason) bytes[at++] = inflight.reasonCode;
    }
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return bytes.subarray(0, at);
  }
}
