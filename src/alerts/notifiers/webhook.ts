import type { AlertNotification, Notifier } from './notifier.js';

export interface WebhookNotifierOptions {
  url: string;
  /** Each POST is aborted after this long. */
  timeoutMs?: number;
  /** Attempts per notification, the first included, before it is given up. */
  maxAttempts?: number;
  /** Backoff before the second attempt; doubles per attempt up to maxBackoffMs, with jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Notifications waiting behind the one being sent; beyond it the oldest waiting one is dropped. */
  maxQueue?: number;
  headers?: Record<string, string>;
  /** In [0, 1); injectable so tests can make backoff deterministic. */
  random?: () => number;
  onError?: (error: Error) => void;
}

export interface WebhookStats {
  delivered: number;
  failedAttempts: number;
  /** Dropped from a full queue (drop-oldest). */
  dropped: number;
  /** Given up after maxAttempts or a response that retrying cannot fix (4xx). */
  givenUp: number;
  queued: number;
}

export class WebhookError extends Error {
  readonly code = 'WEBHOOK_FAILED';
  constructor(
    readonly url: string,
    readonly attempt: number,
    reason: string,
    readonly retryable: boolean,
  ) {
    super(`webhook ${url} attempt ${attempt} failed: ${reason}`);
    this.name = 'WebhookError';
  }
}

/**
 * POSTs notifications as Alertmanager-style JSON, one at a time in order, retrying with exponential backoff
 * and jitter. notify() only enqueues: a receiver that is down or hangs costs queue space, never evaluation time.
 */
export class WebhookNotifier implements Notifier {
  readonly name = 'webhook';
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxQueue: number;
  private readonly headers: Record<string, string>;
  private readonly random: () => number;
  private readonly onError: (error: Error) => void;
  private readonly queue: string[] = [];
  private readonly counters = { delivered: 0, failedAttempts: 0, dropped: 0, givenUp: 0 };
  private sending: Promise<void> | null = null;
  private readonly stop = new AbortController();

  constructor(options: WebhookNotifierOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`webhook url ${JSON.stringify(options.url)}: expected an http or https URL`);
    this.url = url.toString();
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.maxQueue = options.maxQueue ?? 1000;
    this.headers = options.headers ?? {};
    this.random = options.random ?? Math.random;
    this.onError = options.onError ?? (() => {});
  }

  notify(notification: AlertNotification): void {
    if (this.stop.signal.aborted) return;
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.counters.dropped++;
    }
    this.queue.push(JSON.stringify(notification));
    this.sending ??= this.sendAll().finally(() => {
      this.sending = null;
    });
  }

  stats(): WebhookStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Aborts the attempt in flight and any backoff; queued notifications are not sent. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.sending;
  }

  private async sendAll(): Promise<void> {
    let body = this.queue.shift();
    while (body !== undefined && !this.stop.signal.aborted) {
      await this.deliver(body);
      body = this.queue.shift();
    }
  }

  private async deliver(body: string): Promise<void> {
    for (let attempt = 1; !this.stop.signal.aborted; attempt++) {
      const error = await this.post(body, attempt);
      if (error === null) {
        this.counters.delivered++;
        return;
      }
      this.counters.failedAttempts++;
      this.onError(error);
      if (!error.retryable || attempt >= this.maxAttempts) {
        this.counters.givenUp++;
        return;
      }
      await this.sleep(this.backoffMs(attempt));
    }
  }

  /** Resolves to null on a 2xx, else to the failure (never rejects). */
  private async post(body: string, attempt: number): Promise<WebhookError | null> {
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      // The body is not needed, but it must be consumed so the connection can be reused.
      await response.arrayBuffer();
      if (response.ok) return null;
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      return new WebhookError(this.url, attempt, `HTTP ${response.status}`, retryable);
    } catch (error) {
      return new WebhookError(this.url, attempt, (error as Error).message, true);
    }
  }

  /** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries spread out. */
  private backoffMs(attempt: number): number {
    const exponential = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
    return exponential / 2 + this.random() * (exponential / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.stop.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
