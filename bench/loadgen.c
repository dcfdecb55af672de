/*
 * Native Kafka load generator for bench:broker, built against librdkafka.
 *   loadgen produce BROKERS TOPIC COUNT SIZE ACKS          -> "produced N records in S s"
 *   loadgen consume BROKERS TOPIC COUNT                    -> "consumed N records in S s"
 *   loadgen latency BROKERS TOPIC RATE SECONDS SIZE        -> "latency_us p50 p99 p999 N"
 *   loadgen telemetry BROKERS TOPIC RATE SECONDS KEYS      -> "produced N records in S s"
 *   loadgen cdn BROKERS TCP_TOPIC QOE_TOPIC RATE SECONDS EDGES -> "produced N records in S s"
 *   loadgen txn BROKERS TOPIC COUNT SIZE PER_TXN PRODUCERS  -> "produced N records in S s"
 *   loadgen version                                        -> the librdkafka version
 * Records carry no key; in latency mode the first 8 bytes of each value are the send time in microseconds.
 * Telemetry mode sends JSON CDN telemetry keyed by edge server (KEYS distinct), "ts" = send time in epoch ms.
 * Cdn mode sends healthy telemetry in the schema of docs/telemetry.md (tcp_stats to TCP_TOPIC, segment events to
 * QOE_TOPIC, 2 in 5 events TCP) for edge servers bg-edge-N in sites bg1..bg4, "ts" = send time in epoch ms.
 * Txn mode runs PRODUCERS idempotent producers on threads of their own, each sending COUNT/PRODUCERS records;
 * with PER_TXN > 0 each is transactional and commits a transaction every PER_TXN records.
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "config %s=%s: %s\n", key, value, err);
    exit(2);
  }
}

static volatile long delivered = 0, failed = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk; (void)opaque;
  /* Atomic: in txn mode several producer threads deliver at once. */
  if (m->err) __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED); else __atomic_fetch_add(&delivered, 1, __ATOMIC_RELAXED);
}

static rd_kafka_t *producer(const char *brokers, const char *acks, const char *linger_ms) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512];
  set(conf, "bootstrap.servers", brokers);
  set(conf, "acks", acks);
  set(conf, "linger.ms", linger_ms);
  set(conf, "batch.size", "1000000");
  set(conf, "queue.buffering.max.messages", "2000000");
  set(conf, "queue.buffering.max.kbytes", "2097151");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "producer: %s\n", err); exit(2); }
  return rk;
}

static int produce(const char *brokers, const char *topic, long count, int size, const char *acks) {
  rd_kafka_t *rk = producer(brokers, acks, "5");
  char *payload = malloc(size);
  memset(payload, 'x', size);
  int64_t start = now_us();
  for (long i = 0; i < count; i++) {
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  double seconds = (now_us() - start) / 1e6;
  printf("produced %ld records in %.3f s (%ld failed)\n", delivered, seconds, failed);
  rd_kafka_destroy(rk);
  return failed == 0 ? 0 : 1;
}

static rd_kafka_t *consumer(const char *brokers, const char *topic) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512], group[64];
  snprintf(group, sizeof group, "loadgen-%d-%ld", getpid(), (long)now_us());
  set(conf, "bootstrap.servers", brokers);
  set(conf, "group.id", group);
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.wait.max.ms", "5");
  set(conf, "fetch.max.bytes", "52428800");
  set(conf, "queued.max.messages.kbytes", "1048576");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "consumer: %s\n", err); exit(2); }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  return rk;
}

static int consume(const char *brokers, const char *topic, long count) {
  rd_kafka_t *rk = consumer(brokers, topic);
  long received = 0;
  int64_t start = 0, deadline = now_us() + 120000000;
  while (received < count && now_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      if (received == 0) start = now_us();
      received++;
    }
    rd_kafka_message_destroy(m);
  }
  double seconds = (now_us() - start) / 1e6;
  printf("consumed %ld records in %.3f s\n", received, seconds);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return received == count ? 0 : 1;
}

/* Samples sent during the first second are warm-up (group join, first fetch position) and not counted. */
#define WARMUP_US 1000000

struct latency_run { const char *brokers, *topic; long rate; int seconds, size; volatile int ready, done; volatile int64_t measure_from; };

static void *latency_producer(void *arg) {
  struct latency_run *run = arg;
  while (!run->ready) usleep(1000);
  rd_kafka_t *rk = producer(run->brokers, "1", "0");
  char *payload = calloc(1, run->size < 8 ? 8 : run->size);
  long total = run->rate * run->seconds;
  int64_t start = now_us();
  run->measure_from = start + WARMUP_US;
  for (long i = 0; i < total; i++) {
    int64_t due = start + i * 1000000 / run->rate;
    /* Sleep rather than spin: on a small machine a spinning producer would steal the broker's core. */
    int64_t ahead = due - now_us();
    if (ahead > 200) usleep(ahead);
    rd_kafka_poll(rk, 0);
    int64_t sent = now_us();
    memcpy(payload, &sent, 8);
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(run->topic), RD_KAFKA_V_VALUE(payload, run->size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
  }
  rd_kafka_flush(rk, 60000);
  rd_kafka_destroy(rk);
  run->done = 1;
  return NULL;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int latency(const char *brokers, const char *topic, long rate, int seconds, int size) {
  struct latency_run run = {brokers, topic, rate, seconds, size, 0, 0, INT64_MAX};
  rd_kafka_t *rk = consumer(brokers, topic);
  long total = rate * seconds, received = 0;
  int64_t *samples = malloc(sizeof(int64_t) * total);
  pthread_t thread;
  pthread_create(&thread, NULL, latency_producer, &run);
  int64_t assigned_wait = now_us() + 10000000;
  while (now_us() < assigned_wait) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m) rd_kafka_message_destroy(m);
    rd_kafka_topic_partition_list_t *assignment = NULL;
    if (rd_kafka_assignment(rk, &assignment) == 0 && assignment->cnt > 0) { rd_kafka_topic_partition_list_destroy(assignment); break; }
    if (assignment) rd_kafka_topic_partition_list_destroy(assignment);
  }
  run.ready = 1;
  int64_t deadline = now_us() + (int64_t)(seconds + 30) * 1000000;
  long seen = 0;
  while (seen < total && now_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err && m->len >= 8) {
      int64_t sent;
      memcpy(&sent, m->payload, 8);
      seen++;
      if (sent >= run.measure_from) samples[received++] = now_us() - sent;
    }
    rd_kafka_message_destroy(m);
  }
  pthread_join(thread, NULL);
  qsort(samples, received, sizeof(int64_t), cmp);
  if (received == 0) { printf("latency_us 0 0 0 0\n"); return 1; }
  printf("latency_us %ld %ld %ld %ld\n", (long)samples[received / 2], (long)samples[(long)(received * 0.99)], (long)samples[(long)(received * 0.999)], received);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return seen == total ? 0 : 1;
}

static int64_t epoch_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int telemetry(const char *brokers, const char *topic, long rate, int seconds, long keys) {
  /* linger.ms 5 is librdkafka's default, what an edge's telemetry shipper runs with; 1 ms split the load over 16
   * partitions into batches of one or two records, so bench:e2e measured per-request costs no deployment pays.
   * The broker-only reference of bench:e2e runs this same mode, so both figures share these settings. */
  rd_kafka_t *rk = producer(brokers, "1", "5");
  long total = rate * seconds;
  char key[32], value[512];
  int64_t start = now_us();
  for (long i = 0; i < total; i++) {
    int64_t due = start + i * 1000000 / rate;
    /* Sleep rather than spin: on a small machine a spinning producer would steal the pipeline's core. */
    int64_t ahead = due - now_us();
    if (ahead > 200) usleep(ahead);
    rd_kafka_poll(rk, 0);
    long edge = (i * 7919) % keys;
    int key_len = snprintf(key, sizeof key, "edge-%06ld", edge);
    int value_len = snprintf(value, sizeof value,
                             "{\"edge\":\"%s\",\"site\":\"site-%ld\",\"ts\":%lld,\"retransmits\":%ld,\"rttMs\":%.3f,"
                             "\"segmentMs\":%ld,\"bytes\":%ld,\"status\":%d,\"session\":\"s-%ld-abcdefghijklmnopqrst\"}",
                             key, edge % 40, (long long)epoch_ms(), (i * 31) % 17, 5 + ((i * 13) % 200) / 3.0,
                             20 + (i * 17) % 900, 1000000 + (i * 101) % 900000, i % 97 == 0 ? 503 : 200,
                             (i * 104729) % 10000000);
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
  }
  rd_kafka_flush(rk, 60000);
  double elapsed = (now_us() - start) / 1e6;
  printf("produced %ld records in %.3f s (%ld failed)\n", delivered, elapsed, failed);
  rd_kafka_destroy(rk);
  return failed == 0 ? 0 : 1;
}

static int cdn(const char *brokers, const char *tcp_topic, const char *qoe_topic, long rate, int seconds, long edges) {
  /* linger.ms 5 is librdkafka's default, what an edge's telemetry shipper runs with; 1 ms split the load over 16
   * partitions into batches of one or two records, so bench:e2e measured per-request costs no deployment pays.
   * The broker-only reference of bench:e2e runs this same mode, so both figures share these settings. */
  rd_kafka_t *rk = producer(brokers, "1", "5");
  long total = rate * seconds;
  char key[32], value[640];
  int64_t start = now_us();
  for (long i = 0; i < total; i++) {
    int64_t due = start + i * 1000000 / rate;
    int64_t ahead = due - now_us();
    if (ahead > 200) usleep(ahead);
    rd_kafka_poll(rk, 0);
    long edge = (i * 7919) % edges;
    int key_len = snprintf(key, sizeof key, "bg-edge-%03ld", edge + 1);
    long long ts = (long long)epoch_ms();
    const char *topic;
    int value_len;
    if (i % 5 < 2) {
      topic = tcp_topic;
      long segments = 200 + (i * 37) % 200;
      value_len = snprintf(value, sizeof value,
                           "{\"type\":\"tcp_stats\",\"ts\":%lld,\"site\":\"bg%ld\",\"edge\":\"%s\",\"stream\":\"sports-1\","
                           "\"conn\":\"c-%ld\",\"intervalMs\":1000,\"segmentsOut\":%ld,\"retransmits\":%ld,"
                           "\"bytesSent\":%ld,\"rttMs\":%.1f,\"rttVarMs\":%.1f,\"cwnd\":%ld,\"deliveryRateKbps\":%ld}",
                           ts, edge % 4 + 1, key, i % 200, segments, (i * 13) % 1000 < 2 * segments / 10 ? 1L : 0L,
                           segments * 1448, 20 + ((i * 11) % 300) / 10.0, 2 + ((i * 7) % 50) / 10.0, 10 + (i * 3) % 90,
                           2000 + (i * 29) % 6000);
    } else {
      topic = qoe_topic;
      long session = (i * 104729) % 4000;
      value_len = snprintf(value, sizeof value,
                           "{\"type\":\"segment\",\"ts\":%lld,\"site\":\"bg%ld\",\"edge\":\"%s\",\"stream\":\"sports-1\","
                           "\"session\":\"%s-s%ld\",\"downloadMs\":%ld,\"httpStatus\":%d,\"bytes\":%ld,"
                           "\"cmcd\":{\"br\":3500,\"bl\":%ld,\"mtp\":%ld,\"ot\":\"v\",\"sid\":\"%s-s%ld\",\"cid\":\"sports-1\","
                           "\"su\":false,\"d\":2000}}",
                           ts, edge % 4 + 1, key, key, session, 300 + (i * 17) % 900, i % 1000 == 0 ? 503 : 200,
                           875000 + (i * 101) % 10000, 8000 + (i * 7) % 20000, 5000 + (i * 13) % 20000, key, session);
    }
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
  }
  rd_kafka_flush(rk, 60000);
  double elapsed = (now_us() - start) / 1e6;
  printf("produced %ld records in %.3f s (%ld failed)\n", delivered, elapsed, failed);
  rd_kafka_destroy(rk);
  return failed == 0 ? 0 : 1;
}

struct txn_run { const char *brokers, *topic; long count; int size, per_txn, index; };

static void fail_txn(rd_kafka_error_t *error, const char *step) {
  fprintf(stderr, "%s: %s\n", step, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  exit(1);
}

static void *txn_producer(void *arg) {
  struct txn_run *run = arg;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512], id[64];
  set(conf, "bootstrap.servers", run->brokers);
  set(conf, "enable.idempotence", "true");
  set(conf, "linger.ms", "5");
  set(conf, "batch.size", "1000000");
  set(conf, "queue.buffering.max.messages", "2000000");
  if (run->per_txn > 0) {
    snprintf(id, sizeof id, "loadgen-%d-%d", getpid(), run->index);
    set(conf, "transactional.id", id);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "producer: %s\n", err); exit(2); }
  rd_kafka_error_t *error;
  if (run->per_txn > 0 && (error = rd_kafka_init_transactions(rk, 30000))) fail_txn(error, "init_transactions");
  char *payload = malloc(run->size);
  memset(payload, 'x', run->size);
  for (long i = 0; i < run->count; i++) {
    if (run->per_txn > 0 && i % run->per_txn == 0 && (error = rd_kafka_begin_transaction(rk))) fail_txn(error, "begin_transaction");
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(run->topic), RD_KAFKA_V_VALUE(payload, run->size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 1);
    rd_kafka_poll(rk, 0);
    if (run->per_txn > 0 && ((i + 1) % run->per_txn == 0 || i + 1 == run->count) && (error = rd_kafka_commit_transaction(rk, 60000)))
      fail_txn(error, "commit_transaction");
  }
  rd_kafka_flush(rk, 120000);
  rd_kafka_destroy(rk);
  free(payload);
  return NULL;
}

static int txn(const char *brokers, const char *topic, long count, int size, int per_txn, int producers) {
  struct txn_run runs[64];
  pthread_t threads[64];
  if (producers < 1 || producers > 64) { fprintf(stderr, "PRODUCERS must be 1-64\n"); return 2; }
  int64_t start = now_us();
  for (int p = 0; p < producers; p++) {
    runs[p] = (struct txn_run){brokers, topic, count / producers, size, per_txn, p};
    pthread_create(&threads[p], NULL, txn_producer, &runs[p]);
  }
  for (int p = 0; p < producers; p++) pthread_join(threads[p], NULL);
  double seconds = (now_us() - start) / 1e6;
  printf("produced %ld records in %.3f s (%ld failed)\n", delivered, seconds, failed);
  return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "version")) return printf("%s\n", rd_kafka_version_str()) < 0;
  if (argc >= 7 && !strcmp(argv[1], "produce")) return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6]);
  if (argc >= 5 && !strcmp(argv[1], "consume")) return consume(argv[2], argv[3], atol(argv[4]));
  if (argc >= 7 && !strcmp(argv[1], "telemetry")) return telemetry(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), atol(argv[6]));
  if (argc >= 8 && !strcmp(argv[1], "cdn")) return cdn(argv[2], argv[3], argv[4], atol(argv[5]), atoi(argv[6]), atol(argv[7]));
  if (argc >= 8 && !strcmp(argv[1], "txn")) return txn(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  if (argc >= 7 && !strcmp(argv[1], "latency")) return latency(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), atoi(argv[6]));
  fprintf(stderr, "usage: loadgen produce BROKERS TOPIC COUNT SIZE ACKS | consume BROKERS TOPIC COUNT | latency BROKERS TOPIC RATE SECONDS SIZE | telemetry BROKERS TOPIC RATE SECONDS KEYS | txn BROKERS TOPIC COUNT SIZE PER_TXN PRODUCERS\n");
  return 2;
}
