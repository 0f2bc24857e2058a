import pino, { type Logger } from 'pino';

/** A JSON logger (pino) named after the service; `level` as in LOG_LEVEL. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid } });
}

export type { Logger };
