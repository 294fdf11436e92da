/**
 * A small structured logger: one JSON line per entry on stderr, so operators can pipe it into
 * anything. Components receive a `Logger` instead of creating their own.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

function serialize(value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/**
 * @param level entries below it are dropped. @default 'info'
 * @param write where lines go. @default process.stderr
 */
export function createLogger(
  level: LogLevel = 'info',
  bound: LogFields = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const log = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const entry: LogFields = { level: at, time: new Date().toISOString(), msg: message, ...bound };
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = serialize(v);
    write(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(level, { ...bound, ...fields }, write),
  };
}

/** A logger that drops everything; the default where a caller passes none. */
export const silentLogger: Logger = createLogger('silent');
