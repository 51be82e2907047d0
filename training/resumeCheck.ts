/**
 * Whether a checkpoint may be resumed with this run's options. A resumed run continues the
 * saved weights, optimizer state and schedule, so any option that shapes them must be what the
 * checkpoint was trained with; otherwise the model silently mixes two recipes while its manifest
 * claims one.
 */

/**
 * Options that cannot change the trained weights, so a resume may differ in them:
 * - name: picks the checkpoint folder, so a resume that found it has the same name in effect
 *   (an explicit --name equal to the default, or the default, lead to the same folder);
 * - out: only where the best epoch is exported;
 * - data: train.ts reads no images, only .cache/features (whose preprocessing is checked on load).
 */
const RESUME_FREE_KEYS: readonly string[] = ['name', 'out', 'data'];

interface ConfigDifference {
  key: string;
  saved: unknown;
  current: unknown;
}

/**
 * The options in which `current` differs from the checkpoint's `saved` config, in `defaults`
 * order (options the checkpoint's code had no key for yet count as their default; options the
 * checkpoint has but this code no longer knows count as differences: their effect is gone).
 */
function configDifferences(
  saved: Record<string, unknown>, current: Record<string, unknown>, defaults: Record<string, unknown>,
): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  for (const key of new Set([...Object.keys(defaults), ...Object.keys(saved)])) {
    if (RESUME_FREE_KEYS.includes(key)) continue;
    const before = key in saved ? saved[key] : defaults[key];
    const now = key in current ? current[key] : undefined;
    if (before !== now) out.push({ key, saved: before, current: now });
  }
  return out;
}

/** Why a resume is refused, and the two ways forward. */
function resumeRefusal(checkpointDir: string, differences: ConfigDifference[], savedCommand: string | undefined): string {
  const show = (v: unknown) => (v === undefined ? '(no such option)' : JSON.stringify(v));
  const lines = differences.map((d) => `  --${d.key}: checkpoint ${show(d.saved)}, this run ${show(d.current)}`);
  return [
    `${checkpointDir} was trained with other options; resuming would mix two recipes into one model:`,
    ...lines,
    `Resume with the checkpoint's options${savedCommand ? ` (${savedCommand})` : ''}, or start a new run: ` +
      `another --name, or delete ${checkpointDir}.`,
  ].join('\n');
}

export { configDifferences, resumeRefusal, RESUME_FREE_KEYS };
export type { ConfigDifference };
