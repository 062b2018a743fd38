import { describe, expect, it, vi } from 'vitest';
import { ApiError, request, UnreachableError } from '../api';

describe('request', () => {
  it('sends JSON and returns the parsed answer', async () => {
    const fetch = vi.fn(async () => Response.json({ uuid: 'u1' }));
    vi.stubGlobal('fetch', fetch);

    expect(await request('http://b.test', 'POST', '/api/x', { message: 'hi' })).toEqual({ uuid: 'u1' });
    expect(fetch).toHaveBeenCalledWith('http://b.test/api/x', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"message":"hi"}',
    });
  });

  it("turns an error status into the backend's codes, or the status when the body has none", async () => {
    vi.stubGlobal('fetch', async () => Response.json(['message_blank', 'ttl_blank'], { status: 422 }));
    await expect(request('http://b.test', 'GET', '/x')).rejects.toMatchObject({
      constructor: ApiError, status: 422, codes: ['message_blank', 'ttl_blank'],
    });

    vi.stubGlobal('fetch', async () => new Response('<html>Bad gateway</html>', { status: 502 }));
    await expect(request('http://b.test', 'GET', '/x')).rejects.toMatchObject({ status: 502, codes: ['http_502'] });
  });

  it('reports a request that got no answer as unreachable', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(request('http://b.test', 'GET', '/x')).rejects.toBeInstanceOf(UnreachableError);
  });
});
