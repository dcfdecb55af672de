import { createHash } from 'node:crypto';
import { NotificationDispatcher } from './dispatcher.js';
import { AlertMetrics } from './metrics.js';
import type { Notifier } from './notifiers/notifier.js';
import { type AlertRule, parseConfig, type RouteInput, routeSchema, type SilenceInput } from './rules.js';
import { SeriesCondition, type WindowUpdate } from './series.js';
import { type Silence, Silences } from './silences.js';
import {
  type AlertInstance,
  type AlertSnapshot,
  type AlertState,
  type ErrorListener,
  snapshotOf,
  type TransitionListener,
} from './types.js';

export type { WindowUpdate };

export interface AlertEngineOptions {
  rules: readonly AlertRule[];
  route?: RouteInput;
  notifiers?: readonly Notifier[];
  /** Milliseconds since the epoch; injectable so tests control time. */
  clock?: () => number;
  /** Alert instances (pending and firing) held at most; more are rejected with AlertLimitError. */
  maxAlertInstances?: number;
  /** Series (rule x label set) tracked at most, for evaluation state and "no data" detection. */
  maxSeries?: number;
  /**
   * A series that sent nothing for this long no longer holds its threshold alerts: a silent edge server is
   * the "no data" rules' business, not a reason to page forever on its last value.
   */
  staleAfterMs?: number;
  metrics?: AlertMetrics;
}

export class AlertLimitError extends Error {
  readonly code = 'ALERT_LIMIT';
  constructor(
    readonly what: 'alert instances' | 'series',
    readonly limit: number,
    readonly rule: string,
  ) {
    super(
      `rule '${rule}': cannot track more ${what}, ${limit} are held (the limit); raise it or narrow the rule`,
    );
    this.name = 'AlertLimitError';
  }
}

interface RuleSeries {
  rule: AlertRule;
  series: Map<string, SeriesCondition>;
  /** Newest event time any series of the rule reported: the clock "no data" silence is measured on. */
  newestEventTime: number;
  /** Newest watermark per pipeline task, for series whose updates say which task they came from. */
  taskWatermarks: Map<string, number>;
}

/**
 * Evaluates rules on every window update pushed to it (early and final), with Prometheus' alert lifecycle per
 * rule and label set: pending once the condition holds, firing after `for`, resolved when it clears (after
 * `keepFiringFor`). Time-driven work — "no data", pending promotion without new updates, keepFiringFor expiry,
 * staleness, silences and repeats — happens in tick(), which start() calls on an interval.
 */
export class AlertEngine {
  readonly metrics: AlertMetrics;
  readonly silences = new Silences();
  private readonly clock: () => number;
  private readonly maxAlertInstances: number;
  private readonly maxSeries: number;
  private readonly staleAfterMs: number;
  private readonly rulesByMetric = new Map<string, RuleSeries[]>();
  private readonly ruleSeries: RuleSeries[] = [];
  private readonly instances = new Map<string, AlertInstance>();
  private readonly dispatcher: NotificationDispatcher;
  private readonly transitionListeners = new Set<TransitionListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private seriesCount = 0;
  private ticker: NodeJS.Timeout | null = null;

  constructor(options: AlertEngineOptions) {
    this.clock = options.clock ?? Date.now;
    this.maxAlertInstances = options.maxAlertInstances ?? 10_000;
    this.maxSeries = options.maxSeries ?? 100_000;
    this.staleAfterMs = options.staleAfterMs ?? 300_000;
    this.metrics = options.metrics ?? new AlertMetrics();
    for (const rule of options.rules) {
      const entry: RuleSeries = {
        rule,
        series: new Map(),
        newestEventTime: Number.NEGATIVE_INFINITY,
        taskWatermarks: new Map(),
      };
      this.ruleSeries.push(entry);
      const forMetric = this.rulesByMetric.get(rule.metric) ?? [];
      forMetric.push(entry);
      this.rulesByMetric.set(rule.metric, forMetric);
    }
    const route = parseConfig(routeSchema, options.route ?? {}, 'alerting.route');
    this.dispatcher = new NotificationDispatcher(
      route,
      options.notifiers ?? [],
      this.silences,
      this.metrics,
      (e) => this.reportError(e),
    );
  }

  /** Calls tick() every `intervalMs` until close(). */
  start(intervalMs = 250): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.tick(this.clock()), intervalMs);
    this.ticker.unref();
  }

  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  onTransition(listener: TransitionListener): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /** Operating errors (limits hit, notifiers that threw); evaluation continues. */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Evaluates every rule watching `update.metric`; notifications due are handed to notifiers before it returns. */
  push(update: WindowUpdate): void {
    const entries = this.rulesByMetric.get(update.metric);
    if (!entries) return;
    const nowMs = this.clock();
    this.metrics.updatesEvaluated.inc();
    for (const entry of entries) this.evaluate(entry, update, nowMs);
    this.dispatcher.flushDue(nowMs);
  }

  tick(nowMs: number): void {
    for (const entry of this.ruleSeries) {
      for (const series of entry.series.values()) this.tickSeries(entry, series, nowMs);
    }
    this.silences.prune(nowMs);
    this.dispatcher.tick(nowMs);
  }

  addSilence(input: SilenceInput): Silence {
    const silence = this.silences.add(input);
    this.dispatcher.tick(this.clock());
    return silence;
  }

  expireSilence(id: string): boolean {
    const nowMs = this.clock();
    const existed = this.silences.expire(id, nowMs);
    this.dispatcher.tick(nowMs);
    return existed;
  }

  /** Pending and firing alerts. */
  alerts(): AlertSnapshot[] {
    const nowMs = this.clock();
    return [...this.instances.values()].map((a) => snapshotOf(a, this.silences.silencedBy(a.labels, nowMs)));
  }

  stats(): { alertInstances: number; series: number; groups: number } {
    return {
      alertInstances: this.instances.size,
      series: this.seriesCount,
      groups: this.dispatcher.groupCount(),
    };
  }

  private evaluate(entry: RuleSeries, update: WindowUpdate, nowMs: number): void {
    const { rule } = entry;
    const series = this.seriesFor(entry, update.dimensions, nowMs);
    if (!series) return;
    if (!update.final) series.sendsEarlyUpdates = true;
    else if (rule.kind === 'noData' && series.sendsEarlyUpdates) return;
    series.lastSeenMs = nowMs;
    if (rule.kind === 'noData') {
      series.lastEventTime = Math.max(series.lastEventTime, update.eventTime);
      entry.newestEventTime = Math.max(entry.newestEventTime, update.eventTime);
      if (update.source) {
        series.lastTask = update.source.task;
        const known = entry.taskWatermarks.get(update.source.task) ?? Number.NEGATIVE_INFINITY;
        if (update.source.watermark > known)
          entry.taskWatermarks.set(update.source.task, update.source.watermark);
      }
      this.setCondition(rule, series, false, null, nowMs, update.eventTime);
      return;
    }
    if (!series.apply(rule, update)) return;
    const breaching = series.breaching();
    this.setCondition(rule, series, breaching, series.breachingValue(), nowMs, update.eventTime);
  }

  private tickSeries(entry: RuleSeries, series: SeriesCondition, nowMs: number): void {
    const { rule } = entry;
    if (rule.kind === 'noData') {
      // Silence in event time, against the progress of the task that reports the series (else of the rule's
      // other series): when the pipeline falls behind, the series and its clock are late together.
      const clock =
        series.lastTask === null ? entry.newestEventTime : (entry.taskWatermarks.get(series.lastTask) ?? 0);
      const silentMs = clock - series.lastEventTime;
      if (silentMs >= rule.absentFor) this.setCondition(rule, series, true, null, nowMs, series.lastSeenMs);
      else this.advance(rule, series, nowMs);
      return;
    }
    if (nowMs - series.lastSeenMs < this.staleAfterMs) {
      this.advance(rule, series, nowMs);
      return;
    }
    this.setCondition(rule, series, false, null, nowMs, series.lastSeenMs);
    if (!this.instances.has(instanceKey(rule, series))) {
      entry.series.delete(series.key);
      this.seriesCount--;
    }
  }

  /** Moves an alert along with time alone: pending past `for` fires, clear past `keepFiringFor` resolves. */
  private advance(rule: AlertRule, series: SeriesCondition, nowMs: number): void {
    const instance = this.instances.get(instanceKey(rule, series));
    if (!instance) return;
    if (instance.state === 'pending' && nowMs - instance.activeAtMs >= rule.for) this.fire(instance, nowMs);
    else if (instance.clearSinceMs !== null && nowMs - instance.clearSinceMs >= rule.keepFiringFor)
      this.resolve(instance, series, nowMs);
  }

  private setCondition(
    rule: AlertRule,
    series: SeriesCondition,
    holds: boolean,
    value: number | null,
    nowMs: number,
    eventTimeMs: number,
  ): void {
    const key = instanceKey(rule, series);
    const instance = this.instances.get(key);
    if (holds) {
      if (!instance) {
        this.activate(rule, series, key, value, nowMs, eventTimeMs);
        return;
      }
      instance.value = value;
      instance.clearSinceMs = null;
      this.renderAnnotations(instance);
      if (instance.state === 'pending' && nowMs - instance.activeAtMs >= rule.for) this.fire(instance, nowMs);
      return;
    }
    if (!instance) return;
    if (instance.state === 'pending') {
      this.resolve(instance, series, nowMs);
      return;
    }
    instance.clearSinceMs ??= nowMs;
    if (nowMs - instance.clearSinceMs >= rule.keepFiringFor) this.resolve(instance, series, nowMs);
  }

  private activate(
    rule: AlertRule,
    series: SeriesCondition,
    key: string,
    value: number | null,
    nowMs: number,
    eventTimeMs: number,
  ): void {
    if (this.instances.size >= this.maxAlertInstances) {
      this.metrics.instanceLimitRejections.inc();
      this.reportError(new AlertLimitError('alert instances', this.maxAlertInstances, rule.name));
      return;
    }
    const labels = { alertname: rule.name, severity: rule.severity, ...rule.labels, ...series.labels };
    const instance: AlertInstance = {
      fingerprint: fingerprintOf(labels),
      rule,
      labels,
      annotations: {},
      state: 'pending',
      activeAtMs: nowMs,
      firedAtMs: null,
      resolvedAtMs: null,
      value,
      eventTimeMs,
      clearSinceMs: null,
    };
    this.renderAnnotations(instance);
    this.instances.set(key, instance);
    this.metrics.instances.set(this.instances.size);
    if (rule.for === 0) this.fire(instance, nowMs);
    else this.emit(instance, 'pending', nowMs, false);
  }

  private fire(instance: AlertInstance, nowMs: number): void {
    instance.state = 'firing';
    instance.firedAtMs = nowMs;
    this.emit(instance, 'firing', nowMs, false);
    this.dispatcher.alertChanged(instance, nowMs);
  }

  private resolve(instance: AlertInstance, series: SeriesCondition, nowMs: number): void {
    const wasFiring = instance.state === 'firing';
    instance.state = 'resolved';
    instance.resolvedAtMs = nowMs;
    instance.clearSinceMs = null;
    this.instances.delete(instanceKey(instance.rule, series));
    this.metrics.instances.set(this.instances.size);
    this.emit(instance, 'resolved', nowMs, wasFiring);
    if (wasFiring) this.dispatcher.alertChanged(instance, nowMs);
  }

  private emit(instance: AlertInstance, state: AlertState, atMs: number, wasFiring: boolean): void {
    this.metrics.transitions.inc({ state });
    const transition = {
      fingerprint: instance.fingerprint,
      rule: instance.rule.name,
      state,
      atMs,
      value: instance.value,
      labels: instance.labels,
      annotations: { ...instance.annotations },
      wasFiring,
      eventTimeMs: instance.eventTimeMs,
    };
    for (const listener of this.transitionListeners) {
      try {
        listener(transition);
      } catch (error) {
        this.reportError(error as Error);
      }
    }
  }

  private renderAnnotations(instance: AlertInstance): void {
    const { rule } = instance;
    const threshold = rule.kind === 'noData' ? null : rule.threshold;
    const context = { labels: instance.labels, value: instance.value, threshold };
    for (const [name, template] of Object.entries(rule.annotations)) {
      instance.annotations[name] = template.render(context);
    }
  }

  private seriesFor(
    entry: RuleSeries,
    dimensions: Readonly<Record<string, string>>,
    nowMs: number,
  ): SeriesCondition | null {
    const labels: Record<string, string> = {};
    for (const name of entry.rule.dimensions) {
      const value = dimensions[name];
      // Updates without the rule's dimensions belong to another stream shape; they are not this rule's.
      if (value === undefined) return null;
      labels[name] = value;
    }
    const key = JSON.stringify(labels);
    let series = entry.series.get(key);
    if (series) return series;
    if (this.seriesCount >= this.maxSeries) {
      this.metrics.instanceLimitRejections.inc();
      this.reportError(new AlertLimitError('series', this.maxSeries, entry.rule.name));
      return null;
    }
    series = new SeriesCondition(key, labels, nowMs);
    entry.series.set(key, series);
    this.seriesCount++;
    return series;
  }

  private reportError(error: Error): void {
    for (const listener of this.errorListeners) listener(error);
  }
}

function instanceKey(rule: AlertRule, series: SeriesCondition): string {
  return `${rule.name}\u0000${series.key}`;
}

/** A stable hash of a label set, independent of label order. */
export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** What the HTTP API uses of an alert engine: one engine, or a cluster node's view of the whole site. */
export type AlertControl = Pick<
  AlertEngine,
  'alerts' | 'silences' | 'addSilence' | 'expireSilence' | 'stats'
>;
