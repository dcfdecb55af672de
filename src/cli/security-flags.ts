import {
  type ConnectionSecurity,
  connectionSecurity,
  type RemoteSecurity,
  remoteSecuritySchema,
} from '../client/remote-security.js';
import { UsageError } from './usage-error.js';

/** The flags of commands that connect to a cluster, as Kafka clients name the settings. */
export const CONNECTION_SECURITY_FLAGS = {
  'security-protocol': { type: 'string' },
  'sasl-mechanism': { type: 'string' },
  'sasl-username': { type: 'string' },
  'sasl-password-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

/** The environment variable that holds the SASL password when no --sasl-password-file is given. */
export const SASL_PASSWORD_ENV = 'EDGESTREAM_SASL_PASSWORD';

export const CONNECTION_SECURITY_USAGE = `        (to a secured cluster: --security-protocol SSL|SASL_PLAINTEXT|SASL_SSL [--tls-ca FILE]
         [--tls-cert FILE --tls-key FILE] [--sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512]
         [--sasl-username NAME] [--sasl-password-file FILE, else $${SASL_PASSWORD_ENV}])
`;

/** The security settings the flags give; a bad combination is a usage error naming what is wrong. */
export function securityFromFlags(values: Record<string, unknown>): RemoteSecurity {
  const text = (key: keyof typeof CONNECTION_SECURITY_FLAGS) =>
    typeof values[key] === 'string' ? values[key] : undefined;
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
            ...(passwordFile === undefined ? { passwordEnv: SASL_PASSWORD_ENV } : { passwordFile }),
          },
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new UsageError(`connection security: ${where}${issue.message}`);
  }
  return result.data;
}

/** The client library's TLS and SASL options from the flags, files and password read now. */
export function connectionSecurityFromFlags(values: Record<string, unknown>): ConnectionSecurity {
  try {
    return connectionSecurity(securityFromFlags(values));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}
