import fs from 'node:fs';
import { z } from 'zod';
import { LogClientError } from './client-errors.js';

/**
 * How a remote client reaches a secured cluster, as edgestream.yaml and the flags say it: Kafka's
 * security.protocol, the TLS files, and a SASL login whose password comes from a file or an environment
 * variable (never from the config or the command line itself, so it is neither in `ps` nor in a repository).
 */
export const remoteSecuritySchema = z
  .strictObject({
    protocol: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']).default('PLAINTEXT'),
    tls: z
      .strictObject({
        /** PEM CA bundle the cluster's certificates chain to; absent: the system's CAs. */
        ca: z.string().min(1).optional(),
        /** PEM client certificate and key, for clusters that ask for one (mutual TLS). */
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
      })
      .default({}),
    sasl: z
      .strictObject({
        mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default('SCRAM-SHA-512'),
        username: z.string().min(1),
        /** A file whose first line is the password. */
        passwordFile: z.string().min(1).optional(),
        /** The name of an environment variable holding the password. */
        passwordEnv: z.string().min(1).optional(),
      })
      .refine((sasl) => (sasl.passwordFile === undefined) !== (sasl.passwordEnv === undefined), {
        message: 'expected one of passwordFile or passwordEnv',
      })
      .nullable()
      .default(null),
  })
  .refine((security) => security.protocol.startsWith('SASL_') === (security.sasl !== null), {
    message:
      'SASL_PLAINTEXT and SASL_SSL need a sasl section (mechanism, username, passwordFile or passwordEnv); the others take none',
  })
  .refine((security) => (security.tls.cert === undefined) === (security.tls.key === undefined), {
    message: 'tls.cert and tls.key go together',
  });

export type RemoteSecurity = z.output<typeof remoteSecuritySchema>;
export type RemoteSecurityInput = z.input<typeof remoteSecuritySchema>;

export const PLAINTEXT: RemoteSecurity = { protocol: 'PLAINTEXT', tls: {}, sasl: null };

/** What the client library connects with: TLS options and a SASL login, secrets read now. */
export interface ConnectionSecurity {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
}

/** Reads the files and the environment `security` names; an unreadable one is a clear error naming it. */
export function connectionSecurity(security: RemoteSecurity): ConnectionSecurity {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new LogClientError('INVALID_ARGUMENT', `${what} ${file}: ${(error as Error).message}`);
    }
  };
  const result: ConnectionSecurity = {};
  if (security.protocol === 'SSL' || security.protocol === 'SASL_SSL') {
    const { ca, cert, key } = security.tls;
    result.tls = {
      ...(ca ? { ca: read(ca, 'TLS CA') } : {}),
      ...(cert ? { cert: read(cert, 'TLS certificate') } : {}),
      ...(key ? { key: read(key, 'TLS key') } : {}),
    };
  }
  if (security.sasl) {
    const { mechanism, username, passwordFile, passwordEnv } = security.sasl;
    let password: string | undefined;
    if (passwordFile !== undefined) {
      password = read(passwordFile, 'SASL password file').toString('utf8').split(/\r?\n/)[0];
    } else if (passwordEnv !== undefined) {
      password = process.env[passwordEnv];
      if (password === undefined) {
        throw new LogClientError(
          'INVALID_ARGUMENT',
          `environment variable ${passwordEnv} (SASL password) is not set`,
        );
      }
    }
    if (!password) throw new LogClientError('INVALID_ARGUMENT', `the SASL password of ${username} is empty`);
    result.sasl = { mechanism, username, password };
  }
  return result;
}
