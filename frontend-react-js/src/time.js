const UNITS = [
  ['d', 24 * 60 * 60 * 1000],
  ['h', 60 * 60 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
];

// A span of time in its largest unit, rounded: "2d", "3h", "5m", "40s". Rounded, not
// floored, so a crud that expires in 5 days still says 5d a moment after it was made.
export function shortDuration(ms) {
  for (const [unit, size] of UNITS) {
    if (ms >= size) return `${Math.round(ms / size)}${unit}`;
  }
  return '0s';
}

export function timeAgo(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  return ms < 1000 ? 'now' : shortDuration(ms);
}

export function expiresIn(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  return ms <= 0 ? 'expired' : `expires in ${shortDuration(ms)}`;
}
