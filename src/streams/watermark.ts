/**
 * Event-time progress with bounded out-of-orderness: each input partition's watermark trails the largest
 * event time seen on it by the allowed lateness, and the operator's watermark is the minimum over the
 * partitions it reads, so one slow partition holds windows open rather than its records arriving late.
 */
export class WatermarkTracker {
  private readonly maxSeen = new Map<number, number>();
  private readonly idle = new Set<number>();

  constructor(readonly maxOutOfOrdernessMs: number) {
    if (maxOutOfOrdernessMs < 0) throw new RangeError('max out-of-orderness must be >= 0');
  }

  /** Records an event time seen on `partition`; returns the combined watermark afterwards. */
  observe(partition: number, eventTime: number): number {
    const previous = this.maxSeen.get(partition);
    if (previous === undefined || eventTime > previous) this.maxSeen.set(partition, eventTime);
    this.idle.delete(partition);
    return this.current();
  }

  /** An idle partition (no data for a while) stops holding the watermark back until it sends again. */
  markIdle(partition: number): void {
    this.idle.add(partition);
  }

  /** Forgets a partition no longer read here (after a rebalance). */
  remove(partition: number): void {
    this.maxSeen.delete(partition);
    this.idle.delete(partition);
  }

  /** The combined watermark; -Infinity until every active partition has been seen. */
  current(): number {
    let minimum = Number.POSITIVE_INFINITY;
    for (const [partition, maxSeen] of this.maxSeen) {
      if (!this.idle.has(partition)) minimum = Math.min(minimum, maxSeen - this.maxOutOfOrdernessMs);
    }
    return minimum === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : minimum;
  }

  /** Whether a record with this event time is behind the watermark (late). */
  isLate(eventTime: number): boolean {
    return eventTime < this.current();
  }
}
