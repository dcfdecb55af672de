export { BEACON_TOKEN_HEADER, BeaconIngest, type BeaconOptions } from './beacons.js';
export { cmcdReportsOfRequest, qoeEventsOfReports } from './cmcd-beacon.js';
export { type CmcdObservation, qoeEventsOfCmcd } from './cmcd-qoe.js';
export { BeaconError, KAFKA_REST_ERROR_CODES, KafkaRestError } from './ingest-errors.js';
export { IngestMetrics, type IngestPath } from './ingest-metrics.js';
export { type BeaconContext, qoeEventsOfBeacon } from './qoe-beacon.js';
export { RestProxy, type RestProxyOptions } from './rest-proxy.js';
export { KAFKA_REST_RESPONSE_TYPE } from './rest-proxy-body.js';
