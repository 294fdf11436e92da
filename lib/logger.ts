/**
 * A small structured logger on stderr, in one of two formats: `json` (one JSON line per entry,
 * for production, so operators can pipe it into anything) or `pretty` (one readable line per
 * entry, for development: `12:04:05.123 INFO  users/outbox: message key=value`). Components
 * receive a `Logger` instead of creating their own.
 *
 * Both formats redact: fields named like credentials (`authorization`, `cookie`, `password`,
 * `...Token`, `...Secret`, `apiKey`, nested too) print as `[redacted]`, and bearer tokens, JWTs
 * and URL passwords inside any string (messages, error messages and stacks) are masked, since a
 * log line is read by more people than the request it describes.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Entries below it are dropped. @default 'info' */
  level?: LogLevel;
  /** @default 'json' */
  format?: LogFormat;
  /** ANSI colours in the `pretty` format. @default false */
  color?: boolean;
  /** Fields of every entry (`service`, `component`...). @default {} */
  fields?: LogFields;
  /** Where lines go, without their newline. @default process.stderr */
  write?: (line: string) => void;
  /** The time of an entry. @default () => new Date() */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

// ---------------------------------------------------------------------------------------------
// Redaction.

export const REDACTED = '[redacted]';

/**
 * Field names whose values are credentials, compared lowercased without `-` and `_`
 * (`Set-Cookie`, `access_token`, `clientSecret` alike); names ending in one of
 * {@link SECRET_SUFFIXES} count too (`internalTokenSecret`, `csrfToken`).
 */
const SECRET_NAMES = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'password',
  'passwd',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'clientsecret',
  'apikey',
  'xapikey',
]);
const SECRET_SUFFIXES = ['password', 'secret', 'token', 'apikey'];

/** Nesting below which objects are not walked (and so not printed): `[nested]`. @default 5 */
const MAX_DEPTH = 5;

export function isSecretField(name: string): boolean {
  const key = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_NAMES.has(key) || SECRET_SUFFIXES.some((s) => key.endsWith(s));
}

/** `eyJ...` header, payload and (possibly empty) signature, base64url. */
const JWT = /\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** The credentials after `Bearer` (RFC 6750's token68 alphabet), 16 characters or more. */
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/-]{16,}=*/gi;
/** `scheme://user:password@`: the password. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;

/** `text` with bearer tokens, JWTs and URL passwords masked. */
export function redactText(text: string): string {
  return text
    .replace(BEARER, `$1${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** An error as a log shows it: name, message and stack (and its `code` and `cause`, if any). */
interface LoggedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  cause?: unknown;
}

/**
 * `value` safe to print: secret fields and secrets in strings masked, errors as plain objects,
 * cycles and objects nested deeper than {@link MAX_DEPTH} cut.
 */
function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const error: LoggedError = { name: value.name, message: redactText(value.message) };
      if (value.stack !== undefined) error.stack = redactText(value.stack);
      const { code } = value as { code?: unknown };
      if (code !== undefined) error.code = redact(code, depth + 1, seen);
      if (value.cause !== undefined) error.cause = redact(value.cause, depth + 1, seen);
      return error;
    }
    if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretField(k) ? REDACTED : redact(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The fields of an entry, redacted; errors kept apart for the pretty format's stacks. */
function redactFields(fields: LogFields): { fields: LogFields; errors: Set<string> } {
  const out: LogFields = {};
  const errors = new Set<string>();
  for (const [k, v] of Object.entries(fields)) {
    if (isSecretField(k)) {
      out[k] = REDACTED;
      continue;
    }
    out[k] = redact(v);
    if (v instanceof Error) errors.add(k);
  }
  return { fields: out, errors };
}

// ---------------------------------------------------------------------------------------------
// Formats.

type Level = Exclude<LogLevel, 'silent'>;

interface Entry {
  level: Level;
  time: Date;
  message: string;
  fields: LogFields;
  /** Keys of `fields` that held an Error. */
  errors: Set<string>;
}

function jsonLine({ level, time, message, fields }: Entry): string {
  return JSON.stringify({ level, time: time.toISOString(), msg: message, ...fields });
}

const ESC = '\x1b[';
const paint = (code: string) => (text: string) => `${ESC}${code}m${text}${ESC}0m`;
const grey = paint('90');
const LEVEL_COLOURS: Record<Level, (text: string) => string> = {
  debug: grey,
  info: paint('32'),
  warn: paint('33'),
  error: paint('31'),
};
const cyan = paint('36');

const two = (n: number) => String(n).padStart(2, '0');

/** `HH:MM:SS.mmm`, local time. */
function clockTime(time: Date): string {
  const ms = String(time.getMilliseconds()).padStart(3, '0');
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}.${ms}`;
}

/** A field's value after `key=`: strings bare unless they hold blanks, anything else as JSON. */
function prettyValue(value: unknown): string {
  if (typeof value === 'string')
    return value === '' || /\s/.test(value) ? JSON.stringify(value) : value;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

/** The stack without its first line(s), the `Name: message` the entry shows already. */
function stackTrace(error: LoggedError): string | undefined {
  if (error.stack === undefined) return undefined;
  const head = `${error.name}: ${error.message}`;
  const rest = error.stack.startsWith(head) ? error.stack.slice(head.length) : `\n${error.stack}`;
  const lines = rest.split('\n').filter((line) => line.trim() !== '');
  return lines.length === 0 ? undefined : lines.map((line) => `    ${line.trim()}`).join('\n');
}

function prettyLine({ level, time, message, fields, errors }: Entry, color: boolean): string {
  const { service, component, ...rest } = fields;
  const c = (style: (text: string) => string, text: string) => (color ? style(text) : text);
  const parts = [c(grey, clockTime(time)), c(LEVEL_COLOURS[level], level.toUpperCase().padEnd(5))];
  const name = [service, component].filter((p) => p !== undefined && p !== '').join('/');
  parts.push(name === '' ? message : `${c(cyan, `${name}:`)} ${message}`);
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(rest)) {
    if (errors.has(key)) {
      const error = value as LoggedError;
      parts.push(`${c(grey, `${key}=`)}${prettyValue(error.message)}`);
      const stack = stackTrace(error);
      // Each line painted apart: `npm start` prefixes every line with the service's name.
      if (stack !== undefined) stacks.push(...stack.split('\n').map((l) => c(grey, l)));
    } else {
      parts.push(`${c(grey, `${key}=`)}${prettyValue(value)}`);
    }
  }
  return [parts.join(' '), ...stacks].join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * A logger: `createLogger(options)`, or `createLogger(level, fields, write)` for a JSON one.
 * @param level entries below it are dropped. @default 'info'
 * @param write where lines go. @default process.stderr
 */
export function createLogger(options?: LoggerOptions): Logger;
export function createLogger(
  level?: LogLevel,
  bound?: LogFields,
  write?: (line: string) => void,
): Logger;
export function createLogger(
  levelOrOptions: LogLevel | LoggerOptions = 'info',
  bound: LogFields = {},
  write?: (line: string) => void,
): Logger {
  const options: LoggerOptions =
    typeof levelOrOptions === 'string'
      ? { level: levelOrOptions, fields: bound, ...(write ? { write } : {}) }
      : levelOrOptions;
  const {
    level = 'info',
    format = 'json',
    color = false,
    fields: own = {},
    write: out = (line: string) => process.stderr.write(line + '\n'),
    now = () => new Date(),
  } = options;
  const log = (at: Level, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const redacted = redactFields({ ...own, ...fields });
    const entry: Entry = { level: at, time: now(), message: redactText(message), ...redacted };
    out(format === 'pretty' ? prettyLine(entry, color) : jsonLine(entry));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...own, ...fields } }),
  };
}

/**
 * The logger of a process's entry point: level, format and colours from its configuration
 * (LOG_LEVEL, LOG_FORMAT; NO_COLOR and FORCE_COLOR), on stderr. Without either colour variable,
 * the pretty format is coloured when stderr is a terminal.
 */
export function createProcessLogger(
  config: { logLevel: LogLevel; logFormat: LogFormat; logColor: boolean | undefined },
  fields: LogFields,
  stream: { isTTY?: boolean } = process.stderr,
): Logger {
  return createLogger({
    level: config.logLevel,
    format: config.logFormat,
    color: config.logFormat === 'pretty' && (config.logColor ?? stream.isTTY === true),
    fields,
  });
}

/** A logger that drops everything; the default where a caller passes none. */
export const silentLogger: Logger = createLogger('silent');
