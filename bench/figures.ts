/** Small pure helpers for bench figures: percentiles and aligned lines. */

/** Nearest-rank percentile of already collected samples (p in 0..100). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export function line(label: string, value: string | number): string {
  return `  ${label.padEnd(44)} ${value}`;
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;
