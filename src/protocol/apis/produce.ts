import type { ApiSchema } from '../schema.js';

export interface ProducePartitionData {
  index: number;
  records: Buffer | null;
}

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: Array<{ name: string; partitionData: ProducePartitionData[] }>;
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }>;
  errorMessage: string | null;
}

export interface ProduceResponse {
  responses: Array<{ name: string; partitionResponses: ProducePartitionResponse[] }>;
  throttleTimeMs: number;
}

export const Produce: ApiSchema = {
  apiKey: 0,
  name: 'Produce',
  versions: [0, 9],
  flexibleFrom: 9,
  request: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    {
      name: 'topicData',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitionData',
            versions: '0+',
            type: {
              array: [
                { name: 'index', type: 'int32', versions: '0+' },
                { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
  response: [
    {
      name: 'responses',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitionResponses',
            versions: '0+',
            type: {
              array: [
                { name: 'index', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'baseOffset', type: 'int64', versions: '0+' },
                { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                {
                  name: 'recordErrors',
                  versions: '8+',
                  type: {
                    array: [
                      { name: 'batchIndex', type: 'int32', versions: '8+' },
                      {
                        name: 'batchIndexErrorMessage',
                        type: 'string',
                        versions: '8+',
                        nullableVersions: '8+',
                        default: null,
                      },
                    ],
                  },
                },
                {
                  name: 'errorMessage',
                  type: 'string',
                  versions: '8+',
                  nullableVersions: '8+',
                  default: null,
                },
              ],
            },
          },
        ],
      },
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
  ],
};
