/**
 * openapi.yaml stays in step with the code: every error code and its status from the one table,
 * the option limits from config, and the shape of real responses from serverless-offline.
 */
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, inject, it } from 'vitest';
import { HTTP_STATUS } from '../handlers/errors.js';
import { loadConfig } from '../lib/config.js';
import { ERROR_CODES } from '../lib/errors.js';
import { readChip, sampleTestChips } from './support/utkface.js';

type Schema = { $ref?: string; type?: string; required?: string[]; properties?: Record<string, Schema>; items?: Schema; nullable?: boolean; enum?: unknown[] };
const spec = load(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')) as any;
const schemas: Record<string, Schema> = spec.components.schemas;

/** Problems with `value` against `schema`: missing required keys, wrong types, values outside an enum. */
function problems(schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) return problems(schemas[schema.$ref.split('/').pop()!], value, path);
  if (value === null) return schema.nullable ? [] : [`${path} is null`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}=${String(value)} not in ${schema.enum.join('|')}`];
  const type = Array.isArray(value) ? 'array' : typeof value === 'number' && Number.isInteger(value) && schema.type === 'integer' ? 'integer' : typeof value;
  if (schema.type && schema.type !== type && !(schema.type === 'number' && type === 'number')) return [`${path} is ${type}, expected ${schema.type}`];
  if (type === 'array') return (value as unknown[]).flatMap((v, i) => problems(schema.items ?? {}, v, `${path}[${i}]`));
  if (type !== 'object') return [];
  const object = value as Record<string, unknown>;
  return [
    ...(schema.required ?? []).filter((k) => !(k in object)).map((k) => `${path}.${k} missing`),
    ...Object.entries(schema.properties ?? {}).filter(([k]) => k in object).flatMap(([k, s]) => problems(s, object[k], `${path}.${k}`)),
  ];
}

describe('openapi.yaml', () => {
  it('documents both routes', () => {
    expect(Object.keys(spec.paths).sort()).toEqual(['/v1/health', '/v1/predict']);
    expect(spec.paths['/v1/predict'].post).toBeDefined();
    expect(spec.paths['/v1/health'].get).toBeDefined();
  });

  it('lists every error code, each under the status handlers/errors.ts gives it', () => {
    expect(schemas.Error.properties!.error.properties!.code.enum).toEqual([...ERROR_CODES]);
    const documented = Object.keys(spec.paths['/v1/predict'].post.responses);
    for (const code of ERROR_CODES) expect(documented, code).toContain(String(HTTP_STATUS[code]));
    for (const code of ERROR_CODES) expect(spec.info.description, code).toContain(`| ${HTTP_STATUS[code]} | ${code} |`);
  });

  it('gives the default maxFaces limit', () => {
    expect(schemas.PredictOptions.properties!.maxFaces).toMatchObject({ maximum: loadConfig().maxFacesLimit });
  });

  it('describes what the service really answers', async () => {
    const { baseUrl } = inject('offline');
    const predict = await fetch(`${baseUrl}/v1/predict`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(readChip(sampleTestChips(40)[1])),
    });
    expect(predict.status).toBe(200);
    expect(problems({ $ref: 'PredictResponse' }, await predict.json())).toEqual([]);
    const health = await fetch(`${baseUrl}/v1/health`);
    expect(problems({ $ref: 'HealthResponse' }, await health.json())).toEqual([]);
    const error = await fetch(`${baseUrl}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(problems({ $ref: 'Error' }, await error.json())).toEqual([]);
  });

  it('gives as its 400 example the answer the service really gives to that request', async () => {
    const { baseUrl } = inject('offline');
    const example = spec.components.responses.BadRequest.content['application/json'].example;
    const image = readChip(sampleTestChips(40)[1]).toString('base64');
    const answer = await fetch(`${baseUrl}/v1/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image, options: { crop: true } }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual(example);
  });
});
