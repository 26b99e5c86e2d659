/** The routing file's globs (routes, pipelines, retry queues, producers). Pure. */

/**
 * `*` matches any run of characters, including none; every other character is literal and
 * case-sensitive (so "ads.*" needs a real dot). Two-pointer match (O(pattern x value) worst case) with
 * backtracking to the last star, no regular expressions.
 */
export function globMatches(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1; // index in pattern of the last `*` seen
  let starValue = 0; // where in value that star's run currently ends
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === "*") {
      starAt = p++;
      starValue = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (starAt !== -1) {
      p = starAt + 1;
      v = ++starValue;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}
