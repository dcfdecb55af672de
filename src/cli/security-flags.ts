import {
  type ConnectionSecurity,
  connectionSecurity,
  type RemoteSecurity,
  remoteSecuritySchema,
} from '../client/remote-security.js';
import { UsageError } from './usage-error.js';

const FLAG_NAMES = [
  'security-protocol',
  'sasl-mechanism',
  'sasl-username',
  'sasl-password-file',
  'tls-ca',
  'tls-cert',
  'tls-key',
] as const;
type FlagName = (typeof FLAG_NAMES)[number];

/**
 * The flags of a command that connects to a cluster, as Kafka clients name the settings; `prefix` tells the
 * clusters of a command that connects to two apart (the mirror's `--target-...` and `--source-...`).
 */
export function connectionSecurityFlags<P extends string>(prefix: P) {
  return Object.fromEntries(
    FLAG_NAMES.map((name) => [`${prefix}${name}`, { type: 'string' as const }]),
  ) as Record<`${P}${FlagName}`, { type: 'string' }>;
}

export const CONNECTION_SECURITY_FLAGS = connectionSecurityFlags('');

/** The environment variable that holds the SASL password when no password file is given. */
export function saslPasswordEnv(prefix: string): string {
  return `EDGESTREAM_${prefix.replaceAll('-', '_').toUpperCase()}SASL_PASSWORD`;
}

export function connectionSecurityUsage(prefix: string): string {
  return `        (to a secured cluster: --${prefix}security-protocol SSL|SASL_PLAINTEXT|SASL_SSL [--${prefix}tls-ca FILE]
         [--${prefix}tls-cert FILE --${prefix}tls-key FILE] [--${prefix}sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512]
         [--${prefix}sasl-username NAME] [--${prefix}sasl-password-file FILE, else $${saslPasswordEnv(prefix)}])
`;
}

/** The security settings the flags give; a bad combination is a usage error naming what is wrong. */
export function securityFromFlags(values: Record<string, unknown>, prefix = ''): RemoteSecurity {
  const text = (name: FlagName) => {
    const value = values[`${prefix}${name}`];
    return typeof value === 'string' ? value : undefined;
  };
  const username = text('sasl-username');
  const passwordFile = text('sasl-password-file');
  const result = remoteSecuritySchema.safeParse({
    protocol: text('security-protocol'),
    tls: { ca: text('tls-ca'), cert: text('tls-cert'), key: text('tls-key') },
    sasl:
      username === undefined
        ? null
        : {
            mechanism: text('sasl-mechanism'),
            username,
            ...(passwordFile === undefined ? { passwordEnv: saslPasswordEnv(prefix) } : { passwordFile }),
          },
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new UsageError(`${prefix}connection security: ${where}${issue.message}`);
  }
  return result.data;
}

/** The client library's TLS and SASL options from the flags, files and password read now. */
export function connectionSecurityFromFlags(
  values: Record<string, unknown>,
  prefix = '',
): ConnectionSecurity {
  try {
    return connectionSecurity(securityFromFlags(values, prefix));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}
