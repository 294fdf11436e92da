import { loadConfig } from '../config';
import {
  createLogger,
  createProcessLogger,
  isSecretField,
  redactText,
  type LoggerOptions,
  type LogFormat,
} from './logger';

/** A logger whose lines are kept; the clock stands at 09:05:03.042 local time. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    now: () => new Date(2026, 0, 2, 9, 5, 3, 42),
    write: (line) => lines.push(line),
    ...options,
  });
  return { logger, lines };
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const ESC = '\x1b[';

describe('the json format', () => {
  it('writes one JSON line per entry, with the bound fields and an error as an object', () => {
    const { logger, lines } = capture({ fields: { service: 'users' } });
    const error = new Error('boom');
    logger.child({ component: 'outbox' }).warn('relay failed', { attempt: 2, error });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      level: 'warn',
      time: new Date(2026, 0, 2, 9, 5, 3, 42).toISOString(),
      msg: 'relay failed',
      service: 'users',
      component: 'outbox',
      attempt: 2,
      error: { name: 'Error', message: 'boom', stack: error.stack },
    });
  });

  it('keeps the positional form of the existing callers', () => {
    const lines: string[] = [];
    const logger = createLogger('warn', { service: 'gateway' }, (line) => lines.push(line));
    logger.info('dropped');
    logger.error('kept');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({ level: 'error', msg: 'kept', service: 'gateway' }),
    ]);
  });

  it('survives a cycle', () => {
    const { logger, lines } = capture();
    const node: Record<string, unknown> = { id: 1 };
    node['self'] = node;
    logger.info('cycle', { node });
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ node: { id: 1, self: '[circular]' } });
  });
});

describe('the pretty format', () => {
  it('writes time, level, service/component, message and key=value fields', () => {
    const { logger, lines } = capture({ format: 'pretty', fields: { service: 'users' } });
    logger.child({ component: 'outbox' }).info('relayed', {
      count: 3,
      topic: 'user-events',
      note: 'two words',
      empty: '',
      ok: true,
      ids: [1, 2],
      missing: undefined,
    });
    expect(lines).toEqual([
      '09:05:03.042 INFO  users/outbox: relayed count=3 topic=user-events note="two words" empty="" ok=true ids=[1,2] missing=undefined',
    ]);
  });

  it('writes an error as its message, and its stack on the following lines', () => {
    const { logger, lines } = capture({ format: 'pretty', fields: { service: 'gateway' } });
    const error = new Error('no route to users');
    error.stack =
      'Error: no route to users\n    at route (gateway.ts:1:1)\n    at main (main.ts:2:2)';
    logger.error('request failed', { error, path: '/graphql' });
    expect(lines).toEqual([
      '09:05:03.042 ERROR gateway: request failed error="no route to users" path=/graphql\n' +
        '    at route (gateway.ts:1:1)\n' +
        '    at main (main.ts:2:2)',
    ]);
  });

  it('pads the levels so the messages start in one column', () => {
    const { logger, lines } = capture({ format: 'pretty', level: 'debug' });
    logger.debug('a');
    logger.warn('b');
    expect(lines).toEqual(['09:05:03.042 DEBUG a', '09:05:03.042 WARN  b']);
  });

  it.each([
    ['debug', '90'],
    ['info', '32'],
    ['warn', '33'],
    ['error', '31'],
  ] as const)('colours %s with \\x1b[%sm when asked to', (level, code) => {
    const { logger, lines } = capture({ format: 'pretty', color: true, level: 'debug' });
    logger[level]('hello', { n: 1 });
    expect(lines[0]).toContain(`${ESC}${code}m${level.toUpperCase().padEnd(5)}${ESC}0m`);
  });

  it('has no escape codes without colours', () => {
    const { logger, lines } = capture({ format: 'pretty', color: false });
    logger.error('hello', { error: new Error('x') });
    expect(lines.join('\n')).not.toContain('\x1b');
  });
});

describe('colours', () => {
  it.each([
    ['a terminal', true, undefined, true],
    ['a pipe', false, undefined, false],
    ['a pipe with FORCE_COLOR', false, { FORCE_COLOR: '1' }, true],
    ['a terminal with FORCE_COLOR=0', true, { FORCE_COLOR: '0' }, false],
    ['a terminal with NO_COLOR', true, { NO_COLOR: '1' }, false],
    ['a pipe with NO_COLOR and FORCE_COLOR', false, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['a terminal with an empty NO_COLOR', true, { NO_COLOR: '' }, true],
  ])('on %s: %s', (_what, isTTY, env, expected) => {
    const config = loadConfig({ LOG_FORMAT: 'pretty', ...env });
    const lines: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((line) => {
      lines.push(String(line));
      return true;
    });
    try {
      createProcessLogger(config, { service: 'users' }, { isTTY }).info('hello');
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]?.includes('\x1b[')).toBe(expected);
  });

  it('never colour json', () => {
    const config = loadConfig({ LOG_FORMAT: 'json', FORCE_COLOR: '1' });
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createProcessLogger(config, {}, { isTTY: true }).info('hello');
      expect(JSON.parse(String(spy.mock.calls[0]?.[0]))).toMatchObject({ msg: 'hello' });
    } finally {
      spy.mockRestore();
    }
  });
});

describe.each<LogFormat>(['json', 'pretty'])('redaction in the %s format', (format) => {
  function logged(fields: Record<string, unknown>, message = 'entry'): string {
    const { logger, lines } = capture({ format });
    logger.info(message, fields);
    return lines.join('\n');
  }

  it.each([
    'authorization',
    'Authorization',
    'cookie',
    'set-cookie',
    'password',
    'secret',
    'token',
    'accessToken',
    'refresh_token',
    'idToken',
    'clientSecret',
    'apiKey',
    'x-api-key',
    'internalTokenSecret',
  ])('hides a field named %s', (name) => {
    const text = logged({ [name]: 'hunter2-value' });
    expect(text).not.toContain('hunter2-value');
    expect(text).toContain('[redacted]');
  });

  it('hides secret fields in nested objects and arrays', () => {
    const text = logged({
      request: { headers: { Authorization: 'Basic dXNlcjpodW50ZXIy', host: 'example.com' } },
      users: [{ email: 'a@example.com', password: 'hunter2-value' }],
    });
    expect(text).not.toContain('dXNlcjpodW50ZXIy');
    expect(text).not.toContain('hunter2-value');
    expect(text).toContain('example.com');
    expect(text).toContain('a@example.com');
  });

  it('does not print objects nested deeper than it walks', () => {
    const text = logged({ a: { b: { c: { d: { e: { f: { password: 'hunter2-value' } } } } } } });
    expect(text).not.toContain('hunter2-value');
    expect(text).toContain('[nested]');
  });

  it('masks bearer tokens, JWTs and URL passwords in strings, the message too', () => {
    const text = logged(
      {
        header: 'Bearer abcdefghijklmnopqrstuvwxyz0123456789',
        body: `{"id_token":"${JWT}"}`,
        url: 'postgres://app:hunter2-value@db:5432/users',
      },
      `got ${JWT}`,
    );
    expect(text).not.toContain('abcdefghijklmnopqrstuvwxyz0123456789');
    expect(text).not.toContain('eyJ');
    expect(text).not.toContain('hunter2-value');
    expect(text).toContain('postgres://app:[redacted]@db:5432/users');
  });

  it('masks tokens in error messages and stacks', () => {
    const error = new Error(`invalid token ${JWT}`, {
      cause: new Error(`Bearer ${'x'.repeat(20)}`),
    });
    const text = logged({ error });
    expect(text).not.toContain('eyJ');
    expect(text).not.toContain('x'.repeat(20));
    expect(text).toContain('invalid token [redacted]');
  });

  it('leaves ordinary text alone', () => {
    const text = logged({ note: 'bearer of bad news', id: 'eyJ-not-a-token' });
    expect(text).toContain('bearer of bad news');
    expect(text).toContain('eyJ-not-a-token');
  });
});

describe('the helpers', () => {
  it('name secret fields', () => {
    expect(isSecretField('Set-Cookie')).toBe(true);
    expect(isSecretField('tokenCount')).toBe(false);
    expect(isSecretField('topic')).toBe(false);
  });

  it('mask text', () => {
    expect(redactText(`Authorization: Bearer ${JWT}`)).toBe('Authorization: Bearer [redacted]');
  });
});

describe('the configuration', () => {
  it('selects json in production and pretty in development', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
  });
});
