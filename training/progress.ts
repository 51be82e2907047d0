/**
 * A live batch progress bar with ETA on a terminal; when output is a file (background runs),
 * one plain line every 10% instead, so logs stay readable.
 */
class ProgressBar {
  private readonly start = Date.now();
  private done_ = 0;
  private lastDecile = 0;

  constructor(private readonly label: string, private readonly total: number) {}

  tick(extra = ''): void {
    this.done_++;
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = (elapsed / this.done_) * (this.total - this.done_);
    const frac = this.done_ / this.total;
    const text = `${this.label} ${this.done_}/${this.total} ${extra} ETA ${formatSeconds(eta)}`;
    if (process.stdout.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      process.stdout.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (Math.floor(frac * 10) > this.lastDecile) {
      this.lastDecile = Math.floor(frac * 10);
      console.log(text);
    }
  }

  done(): void {
    if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  }
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export { ProgressBar, formatSeconds };
