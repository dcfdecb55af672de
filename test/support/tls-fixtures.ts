import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './processes.js';

/** A throwaway certificate authority with a server certificate for 127.0.0.1 and a client certificate. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The client certificate's subject as Kafka names its principal. */
  clientPrincipal: string;
  /** Issues a new server certificate from the same CA into the same files (a renewal). */
  renewServer(): Promise<void>;
  remove(): void;
}

const CLIENT_SUBJECT = '/C=NL/O=Example CDN/OU=edge/CN=agent-ams1';

/** Made with Debian's openssl command line, so no test code of ours signs what our TLS code checks. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = async (...args: string[]) => {
    const result = await run('openssl', args, { timeoutMs: 30_000 });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const issue = async (name: string, subject: string, extensions: string | null) => {
    await openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      subject,
    );
    const extension = extensions ? ['-extfile', file(`${name}.ext`)] : [];
    if (extensions) fs.writeFileSync(file(`${name}.ext`), `${extensions}\n`);
    await openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      '-days',
      '2',
      ...extension,
    );
  };
  const issueServer = () => issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Edgestream Test CA',
  );
  await issueServer();
  await issue('client', CLIENT_SUBJECT, null);
  return {
    dir,
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
    clientPrincipal: 'User:CN=agent-ams1,OU=edge,O=Example CDN,C=NL',
    renewServer: issueServer,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
