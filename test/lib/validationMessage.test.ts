import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { issuesMessage } from '../../lib/validationMessage.js';

const schema = z.strictObject({ claimed: z.strictObject({ age: z.number().max(130) }) });
const issuesOf = (value: unknown) => schema.safeParse(value).error!.issues;

describe('issuesMessage', () => {
  it('names the path and zod\'s problem', () => {
    expect(issuesMessage(issuesOf({ claimed: { age: 200 } }))).toMatch(/^claimed\.age: Too big/);
    expect(issuesMessage(issuesOf({ claimed: { age: 200 } }), 'body')).toMatch(/^body\.claimed\.age: Too big/);
    expect(issuesMessage(issuesOf('hello'))).toMatch(/^event: /);
    const nested = z.strictObject({ '': z.strictObject({ a: z.number() }) });
    expect(issuesMessage(nested.safeParse({ '': { a: 'x' } }).error!.issues)).toMatch(/^""\.a: /);
  });

  it('names at most 5 unknown fields, clipped, and counts the rest', () => {
    const long = 'k'.repeat(10_000);
    const fields = Object.fromEntries([long, ...Array.from({ length: 9 }, (_, i) => `f${i}`)].map((k) => [k, 1]));
    const message = issuesMessage(issuesOf({ claimed: { age: 3 }, ...fields }));
    expect(message).toBe(`event: unknown fields "${'k'.repeat(64)}...", "f0", "f1", "f2", "f3" and 5 more`);
    expect(issuesMessage(issuesOf({ claimed: { age: 3 }, f: 1 }))).toBe('event: unknown field "f"');
  });

  it('names at most 5 issues and counts the rest', () => {
    const many = z.strictObject(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`n${i}`, z.number()])));
    const message = issuesMessage(many.safeParse({}).error!.issues);
    expect(message.split('; ')).toHaveLength(6);
    expect(message).toMatch(/; and 3 more problems$/);
  });
});
