import { qoeEventsOfCmcd } from '../ingest/cmcd-qoe.js';
import type { HttpAccessEvent, QoeEvent } from '../simulate/telemetry.js';
import type { AccessLogEntry } from './access-log-formats.js';
import type { EventLabels } from './socket-sampler.js';

/**
 * What the access-log lines of one interval become: QoE events for the requests that carried CMCD (a segment
 * when its duration and status are known), and one http_access summary of every request of the interval.
 */
export class AccessLogEvents {
  private requests = 0;
  private bytesSent = 0;
  private statusClasses: Record<string, number> = {};
  private cacheStatuses: Record<string, number> = {};
  private malformedLines = 0;

  constructor(private readonly labels: EventLabels) {}

  /** The QoE events of one request; the request is counted for the interval's summary. */
  add(entry: AccessLogEntry): QoeEvent[] {
    this.requests += 1;
    this.bytesSent += entry.bytes;
    const statusClass = `${Math.floor(entry.status / 100)}xx`;
    this.statusClasses[statusClass] = (this.statusClasses[statusClass] ?? 0) + 1;
    if (entry.cacheStatus !== null) {
      this.cacheStatuses[entry.cacheStatus] = (this.cacheStatuses[entry.cacheStatus] ?? 0) + 1;
    }
    if (!entry.cmcd) return [];
    return qoeEventsOfCmcd({
      startedAtMs: entry.startMs,
      // Logged once answered: the line exists from the request's end (its start when the format has no time).
      receivedAtMs: entry.startMs + (entry.durationMs ?? 0),
      site: this.labels.site,
      edge: this.labels.edge,
      cmcd: entry.cmcd,
      downloadMs: entry.durationMs,
      httpStatus: entry.status,
      bytes: entry.bytes,
    });
  }

  malformed(lines: number): void {
    this.malformedLines += lines;
  }

  /** The interval's summary (null when the log said nothing), and a fresh start for the next interval. */
  summary(ts: number, intervalMs: number): HttpAccessEvent | null {
    if (this.requests === 0 && this.malformedLines === 0) return null;
    const event: HttpAccessEvent = {
      ts,
      site: this.labels.site,
      edge: this.labels.edge,
      stream: 'unknown',
      type: 'http_access',
      intervalMs,
      requests: this.requests,
      bytesSent: this.bytesSent,
      statusClasses: this.statusClasses,
      cacheStatuses: this.cacheStatuses,
      malformedLines: this.malformedLines,
    };
    this.requests = 0;
    this.bytesSent = 0;
    this.statusClasses = {};
    this.cacheStatuses = {};
    this.malformedLines = 0;
    return event;
  }
}
