import { type ParseArgsConfig, parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import {
  AclOperation,
  type AclOperationCode,
  type AclPermissionCode,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  codeName,
  PatternType,
  type PatternTypeCode,
  ResourceType,
  type ResourceTypeCode,
} from '../security/index.js';
import { CONNECTION_SECURITY_FLAGS, connectionSecurityFromFlags } from './security-flags.js';
import { printTable } from './table.js';
import { UsageError } from './usage-error.js';

export const ACL_USAGE = `  edgestream acl create (--allow|--deny) --principal User:NAME --operation OP[,OP...] RESOURCE
                                           RESOURCE: --topic NAME | --group NAME | --transactional-id NAME | --cluster
        [--prefixed]                       the name is a prefix (default: the literal name; * is every resource)
        [--host IP]                        the client address it applies to (default *)
  edgestream acl list [FILTER]             the ACLs a filter selects (all without one)
  edgestream acl delete FILTER             remove what the filter selects and print it
        FILTER: any of --principal, --host, --operation, --allow|--deny and a RESOURCE, with --prefixed or
        --literal (without either, list and delete also take the prefixed ACLs that match the name)
        (acl takes --brokers and the connection security flags of the commands above)
`;

const OPTIONS = {
  brokers: { type: 'string', default: '127.0.0.1:9092' },
  allow: { type: 'boolean' },
  deny: { type: 'boolean' },
  principal: { type: 'string' },
  host: { type: 'string' },
  operation: { type: 'string' },
  topic: { type: 'string' },
  group: { type: 'string' },
  'transactional-id': { type: 'string' },
  cluster: { type: 'boolean' },
  prefixed: { type: 'boolean' },
  literal: { type: 'boolean' },
  ...CONNECTION_SECURITY_FLAGS,
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type Values = ReturnType<typeof parse>;

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The one resource the flags name, or null when they name none. */
function resourceOf(values: Values): { type: ResourceTypeCode; name: string } | null {
  const named = [
    values.topic === undefined ? null : { type: ResourceType.TOPIC, name: values.topic },
    values.group === undefined ? null : { type: ResourceType.GROUP, name: values.group },
    values['transactional-id'] === undefined
      ? null
      : { type: ResourceType.TRANSACTIONAL_ID, name: values['transactional-id'] },
    values.cluster ? { type: ResourceType.CLUSTER, name: CLUSTER_RESOURCE_NAME } : null,
  ].filter((resource) => resource !== null);
  if (named.length > 1)
    throw new UsageError('name one resource: --topic, --group, --transactional-id or --cluster');
  return named[0] ?? null;
}

function operationsOf(values: Values): AclOperationCode[] | null {
  if (values.operation === undefined) return null;
  return values.operation.split(',').map((name) => {
    const wanted = name.trim().toUpperCase().replaceAll('-', '_');
    const code = Object.entries(AclOperation).find(([label]) => label === wanted)?.[1];
    if (code === undefined || code === AclOperation.UNKNOWN || code === AclOperation.ANY) {
      const known = Object.keys(AclOperation).filter((op) => op !== 'UNKNOWN' && op !== 'ANY');
      throw new UsageError(`--operation ${name}: expected one of ${known.join(', ')}`);
    }
    return code;
  });
}

function permissionOf(values: Values): AclPermissionCode | null {
  if (values.allow && values.deny) throw new UsageError('give --allow or --deny, not both');
  if (values.allow) return AclPermissionType.ALLOW;
  if (values.deny) return AclPermissionType.DENY;
  return null;
}

function patternOf(values: Values, filter: boolean): PatternTypeCode {
  if (values.prefixed && values.literal) throw new UsageError('give --prefixed or --literal, not both');
  if (values.prefixed) return PatternType.PREFIXED;
  if (values.literal || !filter) return PatternType.LITERAL;
  return PatternType.MATCH;
}

async function withAdmin<T>(values: Values, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({
    clientId: 'edgestream-cli',
    bootstrapBrokers: String(values.brokers).split(','),
    retries: 2,
    ...connectionSecurityFromFlags(values),
  });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

/** An ACL as printed: codes as numbers, whichever client library's types they came in. */
interface AclRow {
  principal: string;
  host: string;
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  operation: number;
  permissionType: number;
}

function print(acls: AclRow[]): void {
  const rows = [
    ['PRINCIPAL', 'HOST', 'RESOURCE', 'NAME', 'PATTERN', 'OPERATION', 'PERMISSION'],
    ...acls.map((acl) => [
      acl.principal,
      acl.host,
      codeName(ResourceType, acl.resourceType),
      acl.resourceName,
      codeName(PatternType, acl.resourcePatternType),
      codeName(AclOperation, acl.operation),
      codeName(AclPermissionType, acl.permissionType),
    ]),
  ];
  printTable(rows);
}

/** The filter of list and delete: every flag given narrows it, every flag left out matches anything. */
function filterOf(values: Values) {
  const resource = resourceOf(values);
  const pattern = patternOf(values, true);
  const operations = operationsOf(values);
  if (operations !== null && operations.length > 1) throw new UsageError('a filter takes one --operation');
  return {
    resourceType: resource?.type ?? ResourceType.ANY,
    resourceName: resource?.name ?? null,
    resourcePatternType: resource === null && pattern === PatternType.MATCH ? PatternType.ANY : pattern,
    principal: values.principal ?? null,
    host: values.host ?? null,
    operation: operations?.[0] ?? AclOperation.ANY,
    permissionType: permissionOf(values) ?? AclPermissionType.ANY,
  };
}

export async function aclCreate(args: string[]): Promise<number> {
  const values = parse(args);
  const resource = resourceOf(values);
  const operations = operationsOf(values);
  const permissionType = permissionOf(values);
  if (resource === null)
    throw new UsageError('acl create needs --topic, --group, --transactional-id or --cluster');
  if (operations === null) throw new UsageError('acl create needs --operation OP[,OP...]');
  if (permissionType === null) throw new UsageError('acl create needs --allow or --deny');
  if (values.principal === undefined) throw new UsageError('acl create needs --principal User:NAME');
  const creations = operations.map((operation) => ({
    resourceType: resource.type,
    resourceName: resource.name,
    resourcePatternType: patternOf(values, false),
    principal: values.principal!,
    host: values.host ?? '*',
    operation,
    permissionType,
  }));
  await withAdmin(values, (admin) => admin.createAcls({ creations }));
  print(creations);
  return 0;
}

export async function aclList(args: string[]): Promise<number> {
  const values = parse(args);
  const filter = filterOf(values);
  const resources = await withAdmin(values, (admin) => admin.describeAcls({ filter }));
  print(
    resources.flatMap((resource) =>
      resource.acls.map((acl) => ({
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        resourcePatternType: resource.resourcePatternType,
        ...acl,
      })),
    ),
  );
  return 0;
}

export async function aclDelete(args: string[]): Promise<number> {
  const values = parse(args);
  const filter = filterOf(values);
  if (Object.values(filter).every((v) => v === null || v === 1)) {
    throw new UsageError(
      'acl delete needs a filter (a resource, --principal, --operation, ...); it would remove every ACL',
    );
  }
  const deleted = await withAdmin(values, (admin) => admin.deleteAcls({ filters: [filter] }));
  print(deleted);
  return 0;
}
