import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * DescribeLogDirs (key 35). v1 is v0 with throttling after the response, v2 is flexible, v3 adds a top-level
 * error code, v4 each directory's total and usable bytes.
 */
export const DescribeLogDirs = defineApi({
  apiKey: 35,
  name: 'DescribeLogDirs',
  versions: [0, 4],
  flexibleFrom: 2,
  request: [
    /** null asks for every partition. */
    {
      name: 'topics',
      versions: '0+',
      nullableVersions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0+' },
          { name: 'partitions', type: { array: 'int32' }, versions: '0+' },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '3+', default: 0 },
    {
      name: 'results',
      versions: '0+',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'logDir', type: 'string', versions: '0+' },
          {
            name: 'topics',
            versions: '0+',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                {
                  name: 'partitions',
                  versions: '0+',
                  type: {
                    array: [
                      { name: 'partitionIndex', type: 'int32', versions: '0+' },
                      { name: 'partitionSize', type: 'int64', versions: '0+' },
                      { name: 'offsetLag', type: 'int64', versions: '0+' },
                      { name: 'isFutureKey', type: 'bool', versions: '0+' },
                    ],
                  },
                },
              ],
            },
          },
          { name: 'totalBytes', type: 'int64', versions: '4+', default: -1 },
          { name: 'usableBytes', type: 'int64', versions: '4+', default: -1 },
        ],
      },
    },
  ],
});

export type DescribeLogDirsRequest = RequestOf<typeof DescribeLogDirs>;
export type DescribeLogDirsResponse = ResponseOf<typeof DescribeLogDirs>;
