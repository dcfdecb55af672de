import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HttpError } from './errors.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Files named with a content hash by the bundler: they never change under the same name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else, index.html first, is revalidated on each use so a new build shows at once. */
const REVALIDATE = 'no-cache';

/** Serves a built front end: hashed assets cached for good, the rest revalidated by ETag. */
export class StaticFiles {
  private constructor(private readonly root: string) {}

  /** The root must exist; it is resolved through symlinks once, so files are checked against the real path. */
  static open(dir: string): StaticFiles {
    const root = fs.realpathSync(dir);
    if (!fs.statSync(root).isDirectory()) throw new Error(`staticDir '${dir}' is not a directory`);
    return new StaticFiles(root);
  }

  async serve(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, {
        allow: 'GET, HEAD',
      });
    }
    const file = this.resolve(pathname) ?? this.appRoute(pathname);
    if (file === null) throw new HttpError(404, 'NOT_FOUND', `no file at ${pathname}`);
    const stat = fs.statSync(file.path);
    const etag = `"${createHash('sha1').update(`${stat.size}:${stat.mtimeMs}:${stat.ino}`).digest('base64url').slice(0, 20)}"`;
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': file.relative.startsWith(`assets${path.sep}`) ? IMMUTABLE : REVALIDATE,
      etag,
      'last-modified': stat.mtime.toUTCString(),
      'x-content-type-options': 'nosniff',
    };
    if (matchesEtag(request.headers['if-none-match'], etag)) {
      response.writeHead(304, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': String(stat.size) });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    await pipeline(fs.createReadStream(file.path), response);
  }

  /** The regular file under the root at this URL path, or null; null too for anything leaving the root. */
  private resolve(pathname: string): { path: string; relative: string } | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      throw new HttpError(
        400,
        'BAD_PARAMETER',
        `path ${JSON.stringify(pathname)} is not valid percent-encoding`,
      );
    }
    if (decoded.includes('\0') || decoded.split(/[/\\]/).includes('..')) {
      throw new HttpError(
        400,
        'BAD_PARAMETER',
        `path ${JSON.stringify(pathname)} may not contain NUL or '..'`,
      );
    }
    const wanted = decoded.endsWith('/') ? `${decoded}index.html` : decoded;
    const candidate = path.resolve(this.root, `.${path.posix.normalize(`/${wanted}`)}`);
    if (!this.inside(candidate)) throw new HttpError(404, 'NOT_FOUND', `no file at ${pathname}`);
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      return null;
    }
    // A symlink inside the root may point anywhere; only files really under the root are served.
    if (!this.inside(real) || !fs.statSync(real).isFile()) return null;
    return { path: real, relative: path.relative(this.root, real) };
  }

  /** Paths without an extension are the single-page app's own routes: they get index.html. */
  private appRoute(pathname: string): { path: string; relative: string } | null {
    if (path.posix.extname(pathname) !== '') return null;
    return this.resolve('/index.html');
  }

  private inside(candidate: string): boolean {
    return candidate === this.root || candidate.startsWith(`${this.root}${path.sep}`);
  }
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}
