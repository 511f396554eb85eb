/** Reading RESP (the Redis protocol) bytes in place. Pure: no I/O. */

/** The decimal integer in b[from, to): a RESP header's number, possibly negative. */
export function readInteger(b: Uint8Array, from: number, to: number): number {
  let at = from;
  const negative = b[at] === 0x2d;
  if (negative) at++;
  let n = 0;
  for (; at < to; at++) n = n * 10 + (b[at]! - 0x30);
  return negative ? -n : n;
}
