/**
 * `--key=value` (or `--key value`) overrides checked against a defaults object: unknown keys
 * and values of the wrong type are errors, not silently ignored.
 */

/** A mistyped command line: the user's typo, not a bug, so a tool reports it without a stack. */
class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A tool that reads its flags calls this first: from then on a UsageError thrown anywhere in it
 * (parseOverrides, or the tool's own checks of the values) prints `error: <message>` and exits 2,
 * instead of Node's source excerpt and stack trace under the message. Any other uncaught error
 * is printed with its stack, as Node does, and exits 1.
 */
function reportUsageErrorsPlainly(): void {
  if (usageHandlerInstalled) return;
  usageHandlerInstalled = true;
  process.on('uncaughtException', (error) => {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  });
}
let usageHandlerInstalled = false;

/** The tool's own flags (process.argv), with typos reported plainly (reportUsageErrorsPlainly). */
function parseCommandLine<T extends Record<string, string | number>>(defaults: T, args = process.argv.slice(2)): T {
  reportUsageErrorsPlainly();
  return parseOverrides(defaults, args);
}

function parseOverrides<T extends Record<string, string | number>>(defaults: T, args: string[]): T {
  const out: Record<string, string | number> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    let [key, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (value === undefined) value = args[++i];
    if (!(key in defaults)) throw new UsageError(`unknown option --${key}; known: ${Object.keys(defaults).join(', ')}`);
    // An empty value is refused too: `--epochs=` read as 0, and `--out=` fell back to models/<task>.
    if (value === undefined || value === '') throw new UsageError(`--${key} needs a value`);
    if (typeof defaults[key] === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got ${value}`);
      out[key] = n;
    } else out[key] = value;
  }
  return out as T;
}

export { parseOverrides, parseCommandLine, reportUsageErrorsPlainly, UsageError };
