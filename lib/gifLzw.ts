/**
 * omggif (jimp's GIF decoder) never clears its LZW code table: after a clear code, stale
 * entries stay, and a crafted stream can link them into a cycle that its prefix-chasing loop
 * follows forever (found by test/lib/fuzz.test.ts: a 10 KB GIF hung the process). This replays
 * omggif 1.0.10's GifReaderLZWOutputIndexStream step for step, without writing pixels, and
 * reports whether it would finish: a prefix chain longer than the 4,096-entry table is a cycle.
 */

/** Entries in a GIF LZW code table (12-bit codes). */
const TABLE_SIZE = 4096;

/**
 * Would omggif's LZW decoder stop on the data at `offset` (the minimum code size byte) when
 * filling `outputLength` pixels? Mirrors its arithmetic exactly, reads past the end included
 * (undefined bytes become 0, as in the original).
 */
function gifLzwTerminates(stream: Uint8Array, offset: number, outputLength: number): boolean {
  const at = (i: number): number => stream[i] as number; // undefined past the end, as omggif reads it
  let p = offset;
  const minCodeSize = at(p++);
  const clearCode = 1 << minCodeSize;
  const eoiCode = clearCode + 1;
  let nextCode = eoiCode + 1;
  let codeSize = minCodeSize + 1;
  let codeMask = (1 << codeSize) - 1;
  let shift = 0;
  let cur = 0;
  let op = 0;
  let subblockSize = at(p++);
  const table = new Int32Array(TABLE_SIZE);
  let prevCode: number | null = null;
  for (;;) {
    while (shift < 16) {
      if (subblockSize === 0) break;
      cur |= at(p++) << shift;
      shift += 8;
      if (subblockSize === 1) subblockSize = at(p++);
      else --subblockSize;
    }
    if (shift < codeSize) return true;
    const code = cur & codeMask;
    cur >>= codeSize;
    shift -= codeSize;
    if (code === clearCode) {
      nextCode = eoiCode + 1;
      codeSize = minCodeSize + 1;
      codeMask = (1 << codeSize) - 1;
      prevCode = null;
      continue;
    }
    if (code === eoiCode) return true;
    const chaseCode = code < nextCode ? code : (prevCode as number);
    let chaseLength = 0;
    let chase = chaseCode;
    while (chase > clearCode) {
      chase = table[chase] >> 8;
      if (++chaseLength > TABLE_SIZE) return false; // a cycle: omggif would loop forever
    }
    const k = chase;
    const opEnd = op + chaseLength + (chaseCode !== code ? 1 : 0);
    if (opEnd > outputLength) return true; // omggif stops: "gif stream longer than expected"
    op = opEnd + 1;
    if (prevCode !== null && nextCode < TABLE_SIZE) {
      table[nextCode++] = (prevCode << 8) | k;
      if (nextCode >= codeMask + 1 && codeSize < 12) {
        ++codeSize;
        codeMask = (codeMask << 1) | 1;
      }
    }
    prevCode = code;
  }
}

export { gifLzwTerminates };
