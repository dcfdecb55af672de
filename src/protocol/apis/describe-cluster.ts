import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** DescribeCluster (key 60, KIP-700): the brokers and controller, asked for directly. Flexible from v0. */

/** Kafka's DescribeClusterRequest endpoint types (v1+): 1 brokers, 2 KRaft controllers. */
export const EndpointType = { BROKERS: 1, CONTROLLERS: 2 } as const;

export const DescribeCluster = defineApi({
  apiKey: 60,
  name: 'DescribeCluster',
  versions: [0, 1],
  flexibleFrom: 0,
  request: [
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '0+' },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
    { name: 'clusterId', type: 'string', versions: '0+' },
    { name: 'controllerId', type: 'int32', versions: '0+', default: -1 },
    {
      name: 'brokers',
      versions: '0+',
      type: {
        array: [
          { name: 'brokerId', type: 'int32', versions: '0+' },
          { name: 'host', type: 'string', versions: '0+' },
          { name: 'port', type: 'int32', versions: '0+' },
          { name: 'rack', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        ],
      },
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '0+', default: -2147483648 },
  ],
});

export type DescribeClusterRequest = RequestOf<typeof DescribeCluster>;
export type DescribeClusterResponse = ResponseOf<typeof DescribeCluster>;
