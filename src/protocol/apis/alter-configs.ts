import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi, type FieldSpec } from '../schema.js';

/** Keeps the literal types of a field list that two APIs share (as defineApi does for its own). */
function fields<const F extends FieldSpec[]>(list: F): F {
  return list;
}

/** The response both AlterConfigs and IncrementalAlterConfigs give: one error per resource. */
const alterConfigsResponse = fields([
  { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
  {
    name: 'responses',
    versions: '0+',
    type: {
      array: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
      ],
    },
  },
]);

/**
 * AlterConfigs (key 33): replaces a resource's whole set of overrides (keys left out go back to their
 * defaults). v1 is v0 with throttling after the response, v2 is flexible.
 */
export const AlterConfigs = defineApi({
  apiKey: 33,
  name: 'AlterConfigs',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [
    {
      name: 'resources',
      versions: '0+',
      type: {
        array: [
          { name: 'resourceType', type: 'int8', versions: '0+' },
          { name: 'resourceName', type: 'string', versions: '0+' },
          {
            name: 'configs',
            versions: '0+',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
  response: alterConfigsResponse,
});

/** IncrementalAlterConfigs operations (KIP-339). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** IncrementalAlterConfigs (key 44, KIP-339): changes only the keys named. v1 is flexible. */
export const IncrementalAlterConfigs = defineApi({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versions: [0, 1],
  flexibleFrom: 1,
  request: [
    {
      name: 'resources',
      versions: '0+',
      type: {
        array: [
          { name: 'resourceType', type: 'int8', versions: '0+' },
          { name: 'resourceName', type: 'string', versions: '0+' },
          {
            name: 'configs',
            versions: '0+',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                { name: 'configOperation', type: 'int8', versions: '0+' },
                { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
  response: alterConfigsResponse,
});

export type AlterConfigsRequest = RequestOf<typeof AlterConfigs>;
export type AlterConfigsResponse = ResponseOf<typeof AlterConfigs>;
export type IncrementalAlterConfigsRequest = RequestOf<typeof IncrementalAlterConfigs>;
