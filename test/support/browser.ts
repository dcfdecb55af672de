import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (scripts/debian-packages.json installs it for `npm test`). */
export const CHROMIUM = '/usr/bin/chromium';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
/** Where the browser tests leave their screenshots (git-ignored). */
export const ARTIFACTS_DIR = path.join(ROOT, 'test-artifacts');

/** The built dashboard the runtime serves; `npm test` and `npm run build` make it (scripts/test.mjs). */
export function requireDashboard(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'web', 'index.html')))
    throw new Error('dist/web/index.html is missing: build the dashboard first (npm run build)');
}

/** A headless chromium page that records every console error and uncaught page error. */
export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Console messages of type error, and uncaught exceptions, in the order they happened. */
  errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * `executablePath` runs another chromium command: a script that starts Debian's chromium inside a test
 * network's namespace (`exec ip netns exec NS /usr/bin/chromium "$@"`).
 */
export async function openBrowser(options: {
  width: number;
  height: number;
  executablePath?: string;
}): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: options.executablePath ?? CHROMIUM,
    // playwright-core adds --headless itself; the rest keep a sandbox-less container quiet and deterministic.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
  try {
    const context = await browser.newContext({ viewport: { width: options.width, height: options.height } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    return {
      browser,
      page,
      errors,
      async screenshot(name: string) {
        const file = path.join(ARTIFACTS_DIR, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
        return file;
      },
      close: () => browser.close(),
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Polls `probe` until `accept` holds, at most `timeoutMs`; fails naming what it waited for and the last value. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** An attribute of the first element matching `selector`, or null when there is none yet. */
export async function attributeOf(page: Page, selector: string, name: string): Promise<string | null> {
  const element = page.locator(selector).first();
  return (await element.count()) === 0 ? null : element.getAttribute(name, { timeout: 5_000 });
}
