/**
 * Structured JSON logs, one line per event. Callers pass sizes, timings, codes and hashes;
 * never image bytes, base64 bodies or whole events (faces are personal data).
 */
import { createHash } from 'node:crypto';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** `base` fields (e.g. a requestId) go on every line of this logger. */
function createLogger(service: string, level: string = 'info', base: Record<string, unknown> = {}) {
  const min = ORDER[(level as Level)] ?? ORDER.info;
  const write = (lvl: Level, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[lvl] < min) return;
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), service, message, ...base, ...fields });
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return {
    debug: (m: string, f?: Record<string, unknown>) => write('debug', m, f),
    info: (m: string, f?: Record<string, unknown>) => write('info', m, f),
    warn: (m: string, f?: Record<string, unknown>) => write('warn', m, f),
    error: (m: string, f?: Record<string, unknown>) => write('error', m, f),
  };
}

/** A short, non-reversible fingerprint of input bytes for correlating logs. */
function fingerprint(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 12);
}

type Logger = ReturnType<typeof createLogger>;

export { createLogger, fingerprint };
export type { Logger };
