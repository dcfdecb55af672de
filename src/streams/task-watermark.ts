/**
 * The event-time watermark of one task. A task reads one partition: of a source topic, where the watermark
 * trails the largest event time seen by the allowed out-of-orderness, or of an internal repartition topic,
 * where every upstream task (one per source partition) writes its own watermark as marker records and the
 * task's watermark is their minimum, so one slow source partition holds windows open rather than its
 * records arriving late. An upstream task that has gone idle says so and stops holding the minimum back.
 */
export type WatermarkState =
  | { kind: 'source'; maxEventTime: number | null }
  | { kind: 'upstream'; upstream: Record<string, number | null> };

export interface TaskWatermark {
  current(): number;
  /** A data record's event time (source partitions only). */
  observeEvent(eventTime: number): void;
  /** An upstream task's watermark marker; null means the upstream is idle. */
  observeMarker(upstreamTask: string, watermark: number | null): void;
  snapshot(): WatermarkState;
  restore(state: WatermarkState): void;
}

export class SourceWatermark implements TaskWatermark {
  private maxEventTime = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxOutOfOrdernessMs: number) {}

  current(): number {
    return this.maxEventTime - this.maxOutOfOrdernessMs;
  }

  observeEvent(eventTime: number): void {
    if (eventTime > this.maxEventTime) this.maxEventTime = eventTime;
  }

  observeMarker(): void {}

  snapshot(): WatermarkState {
    return { kind: 'source', maxEventTime: Number.isFinite(this.maxEventTime) ? this.maxEventTime : null };
  }

  restore(state: WatermarkState): void {
    if (state.kind === 'source' && state.maxEventTime !== null) this.maxEventTime = state.maxEventTime;
  }
}

export class UpstreamWatermark implements TaskWatermark {
  private readonly upstream = new Map<string, number | null>();
  private minimum = Number.NEGATIVE_INFINITY;

  /** `expectedUpstream`: every task that writes to this partition; until each has reported, -Infinity. */
  constructor(private readonly expectedUpstream: string[]) {}

  current(): number {
    return this.minimum;
  }

  observeEvent(): void {}

  observeMarker(upstreamTask: string, watermark: number | null): void {
    const previous = this.upstream.get(upstreamTask);
    // Markers may repeat after an upstream restart; an upstream's watermark never goes back.
    if (watermark !== null && typeof previous === 'number' && watermark < previous) return;
    this.upstream.set(upstreamTask, watermark);
    this.recompute();
  }

  private recompute(): void {
    let minimum = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const task of this.expectedUpstream) {
      if (!this.upstream.has(task)) {
        this.minimum = Number.NEGATIVE_INFINITY;
        return;
      }
      const watermark = this.upstream.get(task)!;
      if (watermark === null) continue;
      active++;
      if (watermark < minimum) minimum = watermark;
    }
    // All idle: nothing holds event time back, but nothing moves it either.
    if (active > 0) this.minimum = Math.max(this.minimum, minimum);
  }

  snapshot(): WatermarkState {
    return { kind: 'upstream', upstream: Object.fromEntries(this.upstream) };
  }

  restore(state: WatermarkState): void {
    if (state.kind !== 'upstream') return;
    for (const [task, watermark] of Object.entries(state.upstream)) this.upstream.set(task, watermark);
    this.recompute();
  }
}
