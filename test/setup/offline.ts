/**
 * Vitest globalSetup: builds the deployment zip once (`serverless package`, reused by
 * test/packaging.test.ts), then starts `serverless offline start` on free ports, waits until
 * GET /v1/health answers, and stops it after the run.
 *
 * Tests get the addresses with `inject('offline')` / `inject('artifact')`; the port variables
 * are also set on process.env (PORT, LAMBDA_PORT, ...), which test workers inherit.
 * To add a port (e.g. an S3 emulator started by a serverless plugin), add its variable to
 * PORT_VARIABLES and read it in serverless.yml as `${env:NAME, default}`. Anything an earlier
 * globalSetup puts on process.env reaches the functions too: offline inherits this environment.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { freePort } from '../support/freePort.js';

interface OfflineServer {
  /** e.g. http://localhost:41234 (the HTTP API routes). */
  baseUrl: string;
  /** serverless-offline's Lambda invoke endpoint (for the AWS SDK's LambdaClient). */
  lambdaEndpoint: string;
  /** serverless-offline's stdout and stderr, including each function's log lines. */
  logFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    offline: OfflineServer;
    /** Absolute path of .serverless/<service>.zip built by this setup. */
    artifact: string;
  }
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const SERVERLESS = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
const LOG_FILE = join(ROOT, '.cache', 'offline.log');
/** Variables serverless.yml reads its local ports from; each gets a free port. */
const PORT_VARIABLES = ['PORT', 'LAMBDA_PORT', 'WEBSOCKET_PORT', 'ALB_PORT'];
/** Cold start of the first request included; generous because training may hold both cores. */
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 10_000;

const slsEnv = () => ({ ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' });

async function packageService(): Promise<string> {
  await promisify(execFile)(process.execPath, [SERVERLESS, 'package'], { cwd: ROOT, env: slsEnv(), timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  const zips = readdirSync(join(ROOT, '.serverless')).filter((f) => f.endsWith('.zip'));
  if (zips.length !== 1) throw new Error(`expected one zip in .serverless/, found ${zips.join(', ') || 'none'}`);
  return join(ROOT, '.serverless', zips[0]);
}

async function waitForHealth(baseUrl: string, child: ChildProcess): Promise<void> {
  const end = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited with ${child.exitCode}; see ${LOG_FILE}`);
    try {
      const res = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(60_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`GET /v1/health did not answer 200 within ${READY_TIMEOUT_MS} ms; see ${LOG_FILE}`);
}

/** Stops the whole process group (serverless, its esbuild service, its workers). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => { if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL'); }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function setup(project: TestProject): Promise<() => Promise<void>> {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const artifact = await packageService();
  for (const name of PORT_VARIABLES) process.env[name] = String(await freePort());
  const log = createWriteStream(LOG_FILE);
  const child = spawn(process.execPath, [SERVERLESS, 'offline', 'start'], {
    cwd: ROOT, env: slsEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const baseUrl = `http://localhost:${process.env.PORT}`;
  try {
    await waitForHealth(baseUrl, child);
  } catch (error) {
    await stop(child);
    throw error;
  }
  project.provide('offline', { baseUrl, lambdaEndpoint: `http://localhost:${process.env.LAMBDA_PORT}`, logFile: LOG_FILE });
  project.provide('artifact', artifact);
  return async () => {
    await stop(child);
    log.end();
  };
}

export { setup, PORT_VARIABLES };
export type { OfflineServer };
