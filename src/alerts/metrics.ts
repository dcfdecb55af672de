import { Counter, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of the alert engine and its notifiers (one registry per engine). */
export class AlertMetrics {
  readonly registry: Registry;
  readonly updatesEvaluated: Counter;
  readonly transitions: Counter<'state'>;
  readonly instances: Gauge;
  readonly instanceLimitRejections: Counter;
  readonly notifications: Counter<'notifier'>;
  readonly notifierErrors: Counter<'notifier'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.updatesEvaluated = new Counter({
      name: 'edgestream_alerts_updates_evaluated_total',
      help: 'Window updates the alert engine evaluated against its rules',
      registers,
    });
    this.transitions = new Counter({
      name: 'edgestream_alerts_transitions_total',
      help: 'Alert lifecycle transitions, per new state',
      labelNames: ['state'],
      registers,
    });
    this.instances = new Gauge({
      name: 'edgestream_alerts_instances',
      help: 'Alert instances held (pending and firing)',
      registers,
    });
    this.instanceLimitRejections = new Counter({
      name: 'edgestream_alerts_instance_limit_rejections_total',
      help: 'Alerts or series not tracked because the engine held its maximum number of them',
      registers,
    });
    this.notifications = new Counter({
      name: 'edgestream_alerts_notifications_total',
      help: 'Notifications handed to each notifier',
      labelNames: ['notifier'],
      registers,
    });
    this.notifierErrors = new Counter({
      name: 'edgestream_alerts_notifier_errors_total',
      help: 'Notifications a notifier threw on when handed over',
      labelNames: ['notifier'],
      registers,
    });
  }
}
