import { describe, expect, it } from 'vitest';
import { originPattern } from '../tracing';

describe('originPattern', () => {
  it("matches only URLs on the backend's own origin", () => {
    const backend = originPattern('http://localhost:4567/');
    expect(backend.test('http://localhost:4567/api/activities/home')).toBe(true);
    expect(backend.test('http://localhost:4567')).toBe(true);
    expect(backend.test('http://localhost:45670/api')).toBe(false);
    expect(backend.test('https://localhost:4567/api')).toBe(false);
    expect(backend.test('http://localhost:4567.evil.test/api')).toBe(false);
    expect(backend.test('http://evil.test/?next=http://localhost:4567/')).toBe(false);
  });

  it('treats dots in the host as dots', () => {
    expect(originPattern('https://api.cruddur.com').test('https://apixcruddur.com/')).toBe(false);
  });
});
