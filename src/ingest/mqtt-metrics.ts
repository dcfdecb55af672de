import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why the listener closed a connection or refused a CONNECT; the `reason` label of the counters below. */
export type MqttCloseReason =
  | 'malformed'
  | 'packet_too_large'
  | 'protocol_error'
  | 'keepalive_timeout'
  | 'connect_timeout'
  | 'connection_limit'
  | 'qos_not_supported'
  | 'retain_not_supported'
  | 'not_authorized'
  | 'client_id_invalid'
  | 'receive_maximum_exceeded'
  | 'topic_alias_invalid'
  | 'topic_invalid'
  | 'write_failed'
  | 'session_taken_over'
  | 'server_shutting_down';

/** Why a login was refused; the `reason` label of edgestream_mqtt_login_failures_total. */
export type MqttLoginFailure = 'bad_credentials' | 'no_credentials' | 'throttled' | 'unsupported_auth_method';

/**
 * The MQTT listener's Prometheus metrics, in a registry of their own that the runtime serves at /metrics with
 * the others. The hot-path children (per QoS and result) are bound once, not looked up per message.
 */
export class MqttMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'edgestream_mqtt_connections',
    help: 'Open MQTT connections',
    registers: [this.registry],
  });
  private readonly messages = new Counter({
    name: 'edgestream_mqtt_messages_total',
    help: 'MQTT publishes by QoS and result: accepted (written to the log) or refused',
    labelNames: ['qos', 'result'],
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'edgestream_mqtt_bytes_total',
    help: 'Payload bytes of MQTT publishes accepted',
    registers: [this.registry],
  });
  private readonly publishToAckSeconds = new Histogram({
    name: 'edgestream_mqtt_publish_to_ack_seconds',
    help: 'From a QoS 1 publish being read to its PUBACK being sent (after the log acknowledged it)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  private readonly loginFailures = new Counter({
    name: 'edgestream_mqtt_login_failures_total',
    help: 'MQTT CONNECTs refused for their credentials, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly closed = new Counter({
    name: 'edgestream_mqtt_connections_closed_total',
    help: 'MQTT connections the listener closed or refused, by reason (clients that disconnect are not counted)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly accepted = [this.messages.labels('0', 'accepted'), this.messages.labels('1', 'accepted')] as const;
  readonly refused = [this.messages.labels('0', 'refused'), this.messages.labels('1', 'refused')] as const;

  acceptedBytes(bytes: number): void {
    this.bytes.inc(bytes);
  }

  acknowledged(seconds: number): void {
    this.publishToAckSeconds.observe(seconds);
  }

  loginFailed(reason: MqttLoginFailure): void {
    this.loginFailures.inc({ reason });
  }

  closedFor(reason: MqttCloseReason): void {
    this.closed.inc({ reason });
  }
}
