import { describe, expect, it } from 'vitest';
import { expiresIn, shortDuration, timeAgo } from '../time';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;

describe('time', () => {
  it('says a span of time in its largest unit', () => {
    expect(shortDuration(2 * 24 * HOUR)).toBe('2d');
    expect(shortDuration(3 * HOUR)).toBe('3h');
    expect(shortDuration(5 * 60 * 1000)).toBe('5m');
    expect(shortDuration(40 * 1000)).toBe('40s');
    expect(shortDuration(36 * HOUR)).toBe('1d');
    expect(shortDuration(HOUR + 59 * 60 * 1000)).toBe('1h');
  });

  it('tells how long ago, from a timezone-aware ISO time', () => {
    expect(timeAgo('2026-02-27T12:00:00+00:00', NOW)).toBe('2d');
    expect(timeAgo('2026-03-01T13:00:00+02:00', NOW)).toBe('1h');
    expect(timeAgo('2026-03-01T12:00:00Z', NOW)).toBe('now');
  });

  it('tells when a crud expires, rounding a moment away to the whole unit', () => {
    expect(expiresIn(new Date(NOW + 5 * 24 * HOUR - 50).toISOString(), NOW)).toBe('expires in 5d');
    expect(expiresIn(new Date(NOW + HOUR - 800).toISOString(), NOW)).toBe('expires in 1h');
    expect(expiresIn('2026-03-02T00:00:00Z', NOW)).toBe('expires in 12h');
    expect(expiresIn('2026-03-01T11:59:59Z', NOW)).toBe('expired');
  });
});
