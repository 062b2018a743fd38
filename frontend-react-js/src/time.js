const SECOND = 1000;
const MINUTE = 60 * SECOND;
const UNITS = [
  ['d', 24 * 60 * MINUTE],
  ['h', 60 * MINUTE],
  ['m', MINUTE],
  ['s', SECOND],
];

// A span of time in its largest whole unit: "2d", "3h", "5m", "40s". It is first rounded to
// the minute (the second, under one), so a crud made to last 1h says 1h, not 59m, a moment
// after it was made.
export function shortDuration(ms) {
  const step = ms >= MINUTE ? MINUTE : SECOND;
  const rounded = Math.round(ms / step) * step;
  for (const [unit, size] of UNITS) {
    if (rounded >= size) return `${Math.floor(rounded / size)}${unit}`;
  }
  return '0s';
}

export function timeAgo(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  return ms < SECOND ? 'now' : shortDuration(ms);
}

export function expiresIn(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  return ms <= 0 ? 'expired' : `expires in ${shortDuration(ms)}`;
}
