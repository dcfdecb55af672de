import type { AlertRule } from './rules.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert instance: a rule and one label set. Mutated in place by the engine; read via snapshots. */
export interface AlertInstance {
  /** Stable identity: hash of the label set (which includes the rule name as `alertname`). */
  readonly fingerprint: string;
  readonly rule: AlertRule;
  readonly labels: Readonly<Record<string, string>>;
  annotations: Record<string, string>;
  state: AlertState;
  /** When the condition started to hold (pending or firing since). */
  activeAtMs: number;
  /** When it started firing; null while pending. */
  firedAtMs: number | null;
  resolvedAtMs: number | null;
  /** The value that last breached; null for "no data" alerts. */
  value: number | null;
  /** Event time of the update that made the alert active. */
  eventTimeMs: number;
  /** Set while a firing alert's condition is clear but keepFiringFor has not passed yet. */
  clearSinceMs: number | null;
}

/** A read-only view of an alert for the dashboard and the HTTP API. */
export interface AlertSnapshot {
  fingerprint: string;
  rule: string;
  state: AlertState;
  /** When the alert entered its current state. */
  sinceMs: number;
  activeAtMs: number;
  value: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The id of the silence holding back its notifications, or null. */
  silencedBy: string | null;
}

/**
 * One lifecycle transition, shaped like the store's AlertEvent so listeners can write history directly.
 * A pending alert whose condition clears before `for` passed is reported as resolved without having fired.
 */
export interface AlertTransition {
  fingerprint: string;
  rule: string;
  state: AlertState;
  atMs: number;
  value: number | null;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** Whether the alert was firing before it resolved (false for pending alerts that cleared). */
  wasFiring: boolean;
  eventTimeMs: number;
}

export type TransitionListener = (transition: AlertTransition) => void;
export type ErrorListener = (error: Error) => void;

export function snapshotOf(instance: AlertInstance, silencedBy: string | null): AlertSnapshot {
  const sinceMs =
    instance.state === 'resolved'
      ? (instance.resolvedAtMs ?? instance.activeAtMs)
      : (instance.firedAtMs ?? instance.activeAtMs);
  return {
    fingerprint: instance.fingerprint,
    rule: instance.rule.name,
    state: instance.state,
    sinceMs,
    activeAtMs: instance.activeAtMs,
    value: instance.value,
    labels: { ...instance.labels },
    annotations: { ...instance.annotations },
    silencedBy,
  };
}
