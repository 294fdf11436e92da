/**
 * The web app in a real browser (Debian's chromium, puppeteer-core) against the platform as
 * `npm start` runs it (scripts/start.ts: the three subgraphs, the notification service, the
 * gateway and the development IdP, whose accounts it registers as users; the test's broker):
 * sign in at the IdP as `dev@example.com`, create and answer an interview, see it live in a second
 * browser context, cut the first context's network (a TCP proxy between it and the gateway) while
 * the second changes the interview, and see the first catch up with exactly the events it missed
 * once the network is back. GraphiQL runs a live subscription with the session cookie. Each main
 * page is kept as a screenshot (test/chromium.ts: test-artifacts/browser/).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { registerByWebhook } from '../../scripts/dev-idp';
import { launchChromium, screenshot } from '../chromium';
import { deleteTopicsWithPrefix, freePort, randomName, testBrokers, waitFor } from '../helpers';
import { metric } from '../live';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy';

jest.setTimeout(300_000);

// What the callbacks run in the page use of the DOM (the project compiles without lib "dom").
interface PageElement {
  textContent: string | null;
}
declare const document: {
  activeElement: { getAttribute(name: string): string | null } | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare const location: { pathname: string };

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const prefix = `${randomName('web')}.`;
const work = mkdtempSync(path.join(tmpdir(), 'ig-web-e2e-'));
const webDir = path.join(work, 'web');
/** The registration webhook's key, given to npm start (which otherwise makes up one). */
const WEBHOOK_SECRET = randomBytes(24).toString('base64url');

/** `npm start` from source (scripts/start.ts under tsx), on free ports, with the test's broker. */
class Platform {
  private output = '';
  private constructor(
    readonly child: ChildProcess,
    readonly publicUrl: string,
    readonly gatewayPort: number,
  ) {}

  static async start(): Promise<Platform> {
    const ports = {
      GATEWAY_PORT: await freePort(),
      USERS_PORT: await freePort(),
      INTERVIEWS_PORT: await freePort(),
      REPORTING_PORT: await freePort(),
      NOTIFICATIONS_PORT: await freePort(),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: testBrokers().join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        DATA_DIR: path.join(work, 'data'),
        WEB_APP_DIR: webDir,
        AUTHENTIK_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const platform = new Platform(
      child,
      `http://127.0.0.1:${ports.GATEWAY_PORT}`,
      ports.GATEWAY_PORT,
    );
    const keep = (chunk: Buffer) => {
      platform.output = (platform.output + chunk.toString()).slice(-30_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    try {
      await waitFor(
        'npm start to print that the platform is running',
        () => {
          if (child.exitCode !== null) throw new Error(`scripts/start.ts exited ${child.exitCode}`);
          return platform.output.includes('Interview Graph is running.');
        },
        180_000,
      );
    } catch (error) {
      await platform.stop();
      throw new Error(`${(error as Error).message}\nit printed:\n${platform.output}`);
    }
    return platform;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

let platform: Platform;
let browser: Browser;
let proxy: TcpProxy;
const contexts: BrowserContext[] = [];
const shots: string[] = [];

beforeAll(async () => {
  // The app as `npm run build:web` builds it, into a folder of this run.
  const built = spawnSync(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
      '--outDir',
      webDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`vite build failed:\n${built.stdout}\n${built.stderr}`);
  platform = await Platform.start();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: platform.gatewayPort });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
  await deleteTopicsWithPrefix(prefix);
  // The closing note lists them; the CI log shows where they are.
  if (shots.length > 0) console.log(`screenshots:\n${shots.join('\n')}`);
});

async function newPage(): Promise<Page> {
  const context = await browser.createBrowserContext();
  contexts.push(context);
  const page = await context.newPage();
  await page.setViewport({ width: 1100, height: 800 });
  return page;
}

const testId = (id: string) => `[data-testid="${id}"]`;
const textOf = (page: Page, selector: string) =>
  page.$eval(selector, (element) => element.textContent?.trim() ?? '');

/** Signs in through the app's Sign in link and the IdP's login form; ends on the gateway. */
async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${platform.publicUrl}/`);
  await page.waitForSelector(testId('sign-in'));
  await Promise.all([page.waitForNavigation(), page.click(testId('sign-in'))]);
  await page.waitForSelector('input[name="email"]');
  await page.$eval(
    'input[name="email"]',
    (input) => ((input as unknown as { value: string }).value = ''),
  );
  await page.type('input[name="email"]', email);
  await page.type('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.waitForSelector(testId('user-email'));
  expect(await textOf(page, testId('user-email'))).toBe(email);
}

/** The ids of the events the interview page has shown, newest first. */
const shownEvents = (page: Page) =>
  page.$$eval(`${testId('live-event')}`, (items) =>
    items.map((item) => item.getAttribute('data-event-id') ?? ''),
  );

const waitForText = (page: Page, selector: string, text: string) =>
  page.waitForFunction(
    (s, t) => document.querySelector(s)?.textContent?.trim() === t,
    { timeout: 30_000 },
    selector,
    text,
  );

/** Waits until the page has shown at least `count` live events. */
const waitForEvents = (page: Page, count: number) =>
  page.waitForFunction(
    (s, n) => document.querySelectorAll(s).length >= n,
    { timeout: 30_000 },
    testId('live-event'),
    count,
  );

describe('the web app in Chromium', () => {
  let candidate: Page;
  let otherDevice: Page;
  let interviewUrl: string;

  it('serves the app at / (what `curl http://127.0.0.1:4000/` gets)', async () => {
    const res = await fetch(`${platform.publicUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"/);

    const page = await newPage();
    await page.goto(`${platform.publicUrl}/`);
    await page.waitForSelector(testId('sign-in'));
    shots.push(await screenshot(page, '01-signed-out'));
    // By keyboard: Tab reaches the Sign in link, and Enter follows it (to the IdP).
    let focused: string | null = null;
    for (let presses = 0; presses < 10 && focused !== 'sign-in'; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(
        () => document.activeElement?.getAttribute('data-testid') ?? null,
      );
    }
    expect(focused).toBe('sign-in');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.$('input[name="email"]')).not.toBeNull();
  });

  it('signs in as dev@example.com, a registered user (me is not null)', async () => {
    candidate = await newPage();
    await signIn(candidate, 'dev@example.com', 'dev');
    const me = await candidate.evaluate(async () => {
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ me { id email } }' }),
      });
      return (await res.json()) as { data?: { me: { id: string; email: string } | null } };
    });
    expect(me.data?.me).toEqual({ id: 'dev-user', email: 'dev@example.com' });
  });

  it('creates an interview, starts it and answers a question (through the network proxy)', async () => {
    await candidate.goto(`${proxy.url}/interviews`);
    await candidate.waitForSelector('input[name="title"]');
    await candidate.type('input[name="title"]', 'Platform engineer, round 1');
    await candidate.type('input[name="position"]', 'Platform engineer');
    await candidate.type(
      'textarea[name="questions"]',
      'Tell us about a system you scaled.\nHow do you test event-driven code?\nWhat would you change here?',
    );
    await Promise.all([
      candidate.waitForFunction(() => /\/interviews\/[^/]+$/.test(location.pathname)),
      candidate.click(testId('create-interview')),
    ]);
    interviewUrl = new URL(candidate.url()).pathname;
    await waitForText(candidate, testId('interview-status'), 'DRAFT');
    await waitForText(candidate, testId('live-status'), 'live');

    await candidate.click(testId('action-start'));
    await waitForText(candidate, testId('interview-status'), 'IN_PROGRESS');
    await candidate.type(
      testId('answer-input-1'),
      'A Kafka-fed GraphQL gateway, from one core to a cluster.',
    );
    await candidate.click(testId('answer-submit-1'));
    await candidate.waitForSelector(testId('answer-input-2'));
    await candidate.waitForFunction(
      (s) => !document.querySelector(s),
      { timeout: 30_000 },
      testId('answer-input-1'),
    );
    // Started and answered: both events came in live.
    await waitForEvents(candidate, 2);
    // And the history, from the interview's event stream, lists all three, oldest first.
    await candidate.waitForFunction(
      (s) => document.querySelectorAll(s).length >= 3,
      { timeout: 30_000 },
      testId('history-event'),
    );
    expect(
      await candidate.$$eval(testId('history-event'), (items) =>
        items.map((item) => item.getAttribute('data-event-type')),
      ),
    ).toEqual(['interview.created', 'interview.started', 'interview.answer_submitted']);
    shots.push(await screenshot(candidate, '03-interview-live'));

    await candidate.goto(`${proxy.url}/interviews`);
    await candidate.waitForSelector(testId('interview-row'));
    expect(await textOf(candidate, testId('interview-row'))).toContain(
      'Platform engineer, round 1',
    );
    shots.push(await screenshot(candidate, '02-my-interviews'));
  });

  it('shows the live update in a second browser context', async () => {
    otherDevice = await newPage();
    await signIn(otherDevice, 'dev@example.com', 'dev');
    await otherDevice.goto(`${platform.publicUrl}${interviewUrl}`);
    await waitForText(otherDevice, testId('live-status'), 'live');
    await waitForText(otherDevice, testId('interview-status'), 'IN_PROGRESS');

    await candidate.goto(`${proxy.url}${interviewUrl}`);
    await waitForText(candidate, testId('live-status'), 'live');
    const before = (await shownEvents(otherDevice)).length;
    await candidate.type(testId('answer-input-2'), 'Against a real broker, with a cursor.');
    await candidate.click(testId('answer-submit-2'));
    // The other context did nothing: the answer reached it through interviewUpdated.
    await waitForEvents(otherDevice, before + 1);
    await otherDevice.waitForFunction(
      (s) => !document.querySelector(s),
      { timeout: 30_000 },
      testId('answer-input-2'),
    );
  });

  it('brings the events missed while the network was cut, each once, when it is back', async () => {
    await waitForText(candidate, testId('live-status'), 'live');
    const seenBefore = await shownEvents(candidate);
    const othersBefore = await shownEvents(otherDevice);

    proxy.cut();
    await waitForText(candidate, testId('live-status'), 'reconnecting');
    // While the candidate is offline, the other device pauses and resumes the interview.
    await otherDevice.click(testId('action-pause'));
    await waitForText(otherDevice, testId('interview-status'), 'PAUSED');
    await otherDevice.click(testId('action-resume'));
    await waitForText(otherDevice, testId('interview-status'), 'IN_PROGRESS');
    await waitForEvents(otherDevice, othersBefore.length + 2);
    const missed = (await shownEvents(otherDevice)).filter((id) => !othersBefore.includes(id));
    expect(missed).toHaveLength(2);
    // Still offline: the candidate has seen none of them.
    expect(await shownEvents(candidate)).toEqual(seenBefore);
    shots.push(await screenshot(candidate, '04-interview-reconnecting'));

    proxy.restore();
    await waitForText(candidate, testId('live-status'), 'live');
    await waitForEvents(candidate, seenBefore.length + 2);
    const seenAfter = await shownEvents(candidate);
    expect(seenAfter.filter((id) => !seenBefore.includes(id)).sort()).toEqual([...missed].sort());
    expect(new Set(seenAfter).size).toBe(seenAfter.length);
    expect(await textOf(candidate, testId('interview-status'))).toBe('IN_PROGRESS');
    shots.push(await screenshot(candidate, '05-interview-caught-up'));
  });

  it('runs a live subscription in GraphiQL with the session cookie', async () => {
    const id = interviewUrl.split('/').pop() ?? '';
    const query = `subscription Live {\n  interviewUpdated(id: "${id}") {\n    status\n  }\n}`;
    const graphiql = otherDevice;
    const subscribers = await metric(`${platform.publicUrl}/graphql`, 'gateway_subscriptions');
    await graphiql.goto(`${platform.publicUrl}/graphiql?query=${encodeURIComponent(query)}`);
    await graphiql.waitForSelector('.graphiql-execute-button');
    await graphiql.click('.graphiql-execute-button');
    await waitFor(
      'the GraphiQL subscription at the gateway',
      async () =>
        (await metric(`${platform.publicUrl}/graphql`, 'gateway_subscriptions')) > subscribers,
    );
    await candidate.click(testId('action-complete'));
    await waitForText(candidate, testId('interview-status'), 'COMPLETED');
    await graphiql.waitForFunction(
      () => (document.querySelector('.result-window')?.textContent ?? '').includes('COMPLETED'),
      { timeout: 30_000 },
    );
    shots.push(await screenshot(graphiql, '08-graphiql-subscription'));
  });

  it('shows my report and stats, and my preferences', async () => {
    await candidate.goto(`${proxy.url}/report`);
    await candidate.waitForSelector(testId('my-stats'));
    await candidate.waitForFunction(
      (s) => (document.querySelector(s)?.textContent ?? '').includes('1'),
      { timeout: 30_000 },
      testId('my-stats'),
    );
    shots.push(await screenshot(candidate, '06-report'));
    await candidate.goto(`${proxy.url}/preferences`);
    await candidate.waitForSelector(testId('preferences-form'));
    // Changed, saved (through updateInterviewPreferences), and still so after a reload.
    const reminder = 'input[name="reminderMinutesBefore"]';
    await candidate.click(reminder, { count: 3 });
    await candidate.type(reminder, '45');
    await candidate.click(`${testId('preferences-form')} button[type="submit"]`);
    await candidate.waitForSelector(testId('preferences-saved'));
    expect(await textOf(candidate, testId('preferences-saved'))).toContain('45 min');
    shots.push(await screenshot(candidate, '07-preferences'));
    await candidate.reload();
    await candidate.waitForSelector(reminder);
    expect(
      await candidate.$eval(reminder, (input) => (input as unknown as { value: string }).value),
    ).toBe('45');
  });

  it('shows an admin the platform stats, the audit trail and live handler failures', async () => {
    const admin = await newPage();
    await signIn(admin, 'admin@example.com', 'admin');
    await admin.goto(`${platform.publicUrl}/admin`);
    await admin.waitForSelector(testId('platform-stats'));
    await admin.waitForSelector(testId('audit-row'), { timeout: 30_000 });
    expect(await textOf(admin, testId('platform-stats'))).toMatch(/\d/);
    const liveSystemEvents = async () =>
      (
        await admin.$$eval(testId('live-status'), (items) => items.map((i) => i.textContent))
      ).includes('live');
    await waitFor('the admin page to listen to system events', liveSystemEvents);

    // A registration with dev@example.com's email for someone else: the users service refuses it
    // (CONFLICT), dead-letters it and announces handler.failed, which the admin sees live.
    const taken = await registerByWebhook(platform.publicUrl, WEBHOOK_SECRET, {
      userId: randomName('impostor'),
      email: 'dev@example.com',
    });
    expect(taken.status).toBe(202);
    await admin.waitForFunction(
      (s) =>
        [...(document.querySelectorAll(s) as unknown as PageElement[])].some((e) =>
          (e.textContent ?? '').includes('handler.failed'),
        ),
      { timeout: 60_000 },
      testId('system-event'),
    );
    shots.push(await screenshot(admin, '09-admin'));
  });

  it('fits a phone-width screen', async () => {
    await candidate.setViewport({ width: 375, height: 740, isMobile: true });
    await candidate.goto(`${proxy.url}${interviewUrl}`);
    await waitForText(candidate, testId('interview-status'), 'COMPLETED');
    const overflow = await candidate.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    shots.push(await screenshot(candidate, '10-interview-phone'));
  });
});
