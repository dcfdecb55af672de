import type { AlertState, Values } from './api.js';

/** A window result as the live stream sends it (`event: window`). */
export interface WindowUpdate {
  metric: string;
  dimensions: Record<string, string>;
  windowStart: number;
  windowEnd: number;
  values: Values;
  final: boolean;
}

/** An alert transition as the live stream sends it (`event: alert`). */
export interface AlertTransition {
  fingerprint: string;
  rule: string;
  state: AlertState;
  atMs: number;
  value: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface LiveListener {
  window?(update: WindowUpdate): void;
  alert?(transition: AlertTransition): void;
  /** Events were missed (a reconnect, or the server dropped some for this slow client): reload from the API. */
  resync?(): void;
}

/** Backoff between reconnects the browser does not do itself (after an HTTP error such as 503). */
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 15_000;

/**
 * The page's live streams, seen as one: each URL is one Server-Sent Events connection (the API filters window
 * events by a single metric, so the page opens one per metric it shows instead of receiving every metric).
 * The state is the worst of the connections'.
 */
export class LiveConnection {
  private readonly streams: LiveStream[];
  private readonly listeners = new Set<LiveListener>();
  private readonly stateListeners = new Set<(state: LiveState) => void>();
  private state: LiveState = 'connecting';

  constructor(urls: readonly string[]) {
    this.streams = urls.map(
      (url) =>
        new LiveStream(url, {
          window: (update) => {
            for (const listener of this.listeners) listener.window?.(update);
          },
          alert: (transition) => {
            for (const listener of this.listeners) listener.alert?.(transition);
          },
          resync: () => {
            for (const listener of this.listeners) listener.resync?.();
          },
          state: () => this.updateState(),
        }),
    );
  }

  start(): void {
    for (const stream of this.streams) stream.open();
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (state: LiveState) => void): void {
    this.stateListeners.add(listener);
    listener(this.state);
  }

  private updateState(): void {
    const states = this.streams.map((stream) => stream.state);
    const state: LiveState = states.includes('reconnecting')
      ? 'reconnecting'
      : states.includes('connecting')
        ? 'connecting'
        : 'live';
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

/**
 * One Server-Sent Events connection. The browser reconnects by itself after a dropped connection; after an
 * HTTP error it gives up, so this class reopens the stream with a capped backoff.
 */
class LiveStream {
  state: LiveState = 'connecting';
  private source: EventSource | null = null;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private reconnectTimer: number | null = null;
  private hasBeenLive = false;

  constructor(
    private readonly url: string,
    private readonly handlers: Required<LiveListener> & { state(): void },
  ) {}

  open(): void {
    const source = new EventSource(this.url);
    this.source = source;
    source.addEventListener('open', () => {
      this.reconnectDelayMs = RECONNECT_MIN_MS;
      this.setState('live');
      // Whatever happened while the stream was down is missing: the views reload it from the API.
      if (this.hasBeenLive) this.handlers.resync();
      this.hasBeenLive = true;
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) this.scheduleReconnect();
      else this.setState('reconnecting');
    });
    source.addEventListener('window', (event) => {
      this.handlers.window(JSON.parse((event as MessageEvent<string>).data) as WindowUpdate);
    });
    source.addEventListener('alert', (event) => {
      this.handlers.alert(JSON.parse((event as MessageEvent<string>).data) as AlertTransition);
    });
    source.addEventListener('dropped', () => this.handlers.resync());
  }

  private scheduleReconnect(): void {
    this.source?.close();
    this.source = null;
    this.setState('reconnecting');
    if (this.reconnectTimer !== null) return;
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    this.handlers.state();
  }
}
