/**
 * A real browser for the web tests: Debian's `chromium` (installed by .ci/run) driven by
 * puppeteer-core over the DevTools protocol, headless, and a folder for the screenshots the tests
 * keep as artifacts (`test-artifacts/browser/`, or BROWSER_ARTIFACTS_DIR).
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser executable: CHROMIUM_PATH, else the first of the usual Debian paths. */
export function chromiumPath(): string {
  const configured = process.env['CHROMIUM_PATH'];
  if (configured) return configured;
  const found = CANDIDATES.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `No Chromium at ${CANDIDATES.join(', ')}: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH`,
    );
  }
  return found;
}

/** Launches headless Chromium; close it in `afterAll`. */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Tests run as root in CI, where Chromium's sandbox cannot start; /dev/shm is small there.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
}

/** Where screenshots go; created on first use. */
export function artifactsDir(): string {
  const dir =
    process.env['BROWSER_ARTIFACTS_DIR'] ??
    path.resolve(__dirname, '..', 'test-artifacts', 'browser');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A full-page screenshot named `name`.png in the artifacts folder; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  return file;
}
