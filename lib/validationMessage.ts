/**
 * The message of a 400 INVALID_REQUEST built from zod issues, bounded in size. zod's own message
 * for unknown fields lists every one of them: a 5 MB body of unknown keys would be echoed back in
 * an answer over Lambda's 6 MB limit, which the client would see as a 5xx or a function error.
 */
import type { z } from 'zod';

/** Issues named in a message; the rest are counted. */
const MAX_ISSUES = 5;
/** Unknown keys named per issue; the rest are counted. */
const MAX_KEYS = 5;
/** Characters of any one name (a path segment or a key) quoted back. */
const MAX_NAME_CHARS = 64;

const clip = (text: string) => (text.length > MAX_NAME_CHARS ? `${text.slice(0, MAX_NAME_CHARS)}...` : text);

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  // An empty field name is shown as "", not dropped, so the path still points at it.
  const segments = issue.path.map((p) => (String(p) === '' ? '""' : clip(String(p))));
  const path = [...(where ? [where] : []), ...segments].join('.') || 'event';
  if (issue.code === 'unrecognized_keys') {
    const named = issue.keys.slice(0, MAX_KEYS).map((k) => `"${clip(k)}"`).join(', ');
    const more = issue.keys.length > MAX_KEYS ? ` and ${issue.keys.length - MAX_KEYS} more` : '';
    return `${path}: unknown field${issue.keys.length === 1 ? '' : 's'} ${named}${more}`;
  }
  // zod's other messages describe the expected value, not the input: short. Clipped all the same.
  return `${path}: ${issue.message.length > 200 ? `${issue.message.slice(0, 200)}...` : issue.message}`;
}

/** e.g. `claimed.age: Too big: expected number to be <=130; event: unknown fields "a", "b" and 3 more`. */
function issuesMessage(issues: readonly z.core.$ZodIssue[], where = ''): string {
  const named = issues.slice(0, MAX_ISSUES).map((issue) => describeIssue(issue, where)).join('; ');
  return issues.length > MAX_ISSUES ? `${named}; and ${issues.length - MAX_ISSUES} more problems` : named;
}

export { issuesMessage };
