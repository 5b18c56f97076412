// JSON lines on stdout (the same shape as the api's pino logs), filtered by LOG_LEVEL.
const LEVELS = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: 100,
} as const;

export type LogLevel = keyof typeof LEVELS;
export type Log = (message: string, details?: Record<string, unknown>) => void;

export interface Logger {
  readonly debug: Log;
  readonly info: Log;
  readonly warn: Log;
  readonly error: Log;
}

export function createLogger(name: string, level: string = 'info'): Logger {
  const threshold = LEVELS[level as LogLevel] ?? LEVELS.info;
  const at =
    (severity: Exclude<LogLevel, 'silent'>): Log =>
    (message, details) => {
      if (LEVELS[severity] < threshold) return;
      const line = { level: LEVELS[severity], time: Date.now(), name, msg: message, ...details };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
