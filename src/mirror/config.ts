import { z } from 'zod';
import { REMOTE_COMPRESSION_CODECS } from '../client/remote-common.js';
import { PLAINTEXT, remoteSecuritySchema } from '../client/remote-security.js';

const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected HOST:PORT');
const pattern = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a regular expression' },
);
const filterValue = z.union([z.string(), z.number(), z.boolean()]);

/** The `mirror:` section of edgestream.yaml. */
export const mirrorConfigSchema = z.strictObject({
  /** The cloud cluster's bootstrap brokers. */
  target: z.array(hostPort).min(1).max(100),
  /** How the cloud cluster is reached: TLS and SASL (password from a file or an environment variable). */
  security: remoteSecuritySchema.default(PLAINTEXT),
  /** A pattern matched against whole source topic names, or a list of names. */
  topics: z.union([pattern, z.array(z.string().min(1)).min(1).max(10_000)]),
  prefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
  clientId: z.string().min(1).default('edgestream-mirror'),
  /**
   * Forward in Kafka transactions (the target must support them; Kafka, Redpanda and Edgestream do), which
   * fences a dead mirror's requests still on the wire. false: an idempotent producer and the settle step.
   */
  transactions: z.boolean().default(true),
  /** The transactional id; by default `<clientId>:<prefix>`, so mirrors of one prefix fence each other. */
  transactionalId: z.string().min(1).max(1_000).optional(),
  /**
   * Codec of the batches sent to the target. 'none' by default: Edgestream's embedded readers decode only
   * none and gzip, so lz4 and snappy suit a target whose consumers all go through a Kafka client library.
   */
  compression: z.enum(REMOTE_COMPRESSION_CODECS).default('none'),
  /** The source topics' retention.ms, for the warning when the backlog's age nears it. */
  sourceRetentionMs: z.number().int().min(1).optional(),
  policies: z
    .array(
      z.strictObject({
        topics: pattern,
        samplePercent: z.number().gt(0).max(100).optional(),
        filter: z
          .union([
            z.strictObject({ jsonField: z.string().min(1), equals: filterValue }),
            z.strictObject({ jsonField: z.string().min(1), in: z.array(filterValue).min(1).max(1_000) }),
            z.strictObject({ keyPattern: pattern }),
          ])
          .optional(),
      }),
    )
    .max(1_000)
    .default([]),
});

export type MirrorConfig = z.infer<typeof mirrorConfigSchema>;
