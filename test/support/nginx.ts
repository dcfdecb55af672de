import fs from 'node:fs';
import path from 'node:path';
import type { TestNetwork } from './netns.js';
import type { Background } from './processes.js';

/** Debian's nginx-light (scripts/debian-packages.json installs it for `npm test`). */
export const NGINX = '/usr/sbin/nginx';

export interface NginxSite {
  /** What it serves; made readable by nginx's unprivileged workers. */
  root: string;
  /** Lines inside `server { }` besides `listen 80; root ...;`, e.g. a `location`. */
  serverLines?: readonly string[];
  /** Lines inside `http { }`, e.g. `log_format` and `access_log`; default `access_log off;`. */
  httpLines?: readonly string[];
}

/**
 * nginx as an edge server's HTTP server on port 80 of a test network's host, in the foreground, with its files
 * under `dir`; resolves once `from` gets an answer from it. The caller stops the process it returns.
 */
export async function startNginx(
  network: TestNetwork,
  host: string,
  dir: string,
  site: NginxSite,
  from: string,
): Promise<Background> {
  // Workers run as an unprivileged user: mkdtemp's 0700 would answer every request 403.
  for (const readable of [dir, site.root]) fs.chmodSync(readable, 0o755);
  const config = path.join(dir, `nginx-${host}.conf`);
  fs.writeFileSync(
    config,
    [
      'worker_processes 1;',
      'daemon off;',
      `pid ${path.join(dir, `nginx-${host}.pid`)};`,
      `error_log ${path.join(dir, `nginx-${host}-error.log`)};`,
      'events { worker_connections 4096; }',
      'http {',
      '  keepalive_requests 100000;',
      '  types { application/dash+xml mpd; video/mp4 m4s; text/html html; application/javascript js; }',
      ...(site.httpLines ?? ['access_log off;']).map((line) => `  ${line}`),
      '  server {',
      '    listen 80;',
      `    root ${site.root};`,
      '    location = /nginx-ready { return 200; }',
      ...(site.serverLines ?? []).map((line) => `    ${line}`),
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const nginx = network.spawn(host, NGINX, ['-c', config]);
  try {
    await network.waitForHttp(from, `http://${network.address(host)}/nginx-ready`, 20_000);
  } catch (error) {
    await nginx.stop();
    throw new Error(`${(error as Error).message}; nginx wrote: ${nginx.stderr.slice(-1_000)}`);
  }
  return nginx;
}
