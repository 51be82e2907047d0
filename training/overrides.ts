/**
 * `--key=value` (or `--key value`) overrides checked against a defaults object: unknown keys
 * and values of the wrong type are errors, not silently ignored.
 */
function parseOverrides<T extends Record<string, string | number>>(defaults: T, args: string[]): T {
  const out: Record<string, string | number> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let [key, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (value === undefined) value = args[++i];
    if (!(key in defaults)) throw new Error(`unknown option --${key}; known: ${Object.keys(defaults).join(', ')}`);
    // An empty value is refused too: `--epochs=` read as 0, and `--out=` fell back to models/<task>.
    if (value === undefined || value === '') throw new Error(`--${key} needs a value`);
    if (typeof defaults[key] === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${key} must be a number, got ${value}`);
      out[key] = n;
    } else out[key] = value;
  }
  return out as T;
}

export { parseOverrides };
