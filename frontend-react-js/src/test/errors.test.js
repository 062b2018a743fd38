import { describe as group, expect, it } from 'vitest';
import { describe } from '../errors';

// Every code the backend answers with, as backend-flask/openapi-3.0.yml lists them:
// `<field>_blank|_exceed_max_chars|_invalid` come from the fields of backend-flask/cruddur/schemas.py
// through validate() in backend-flask/cruddur/errors.py (ttl is a list of values, so it is
// never too long); the others are raised in routes/__init__.py, services/*.py,
// observability/rollbar.py, or named after the HTTP error by errors.py's handle_http_error.
const BACKEND_CODES = [
  'message_blank', 'message_exceed_max_chars', 'message_invalid',
  'ttl_blank', 'ttl_invalid',
  'user_receiver_handle_blank', 'user_receiver_handle_exceed_max_chars', 'user_receiver_handle_invalid',
  'search_term_blank', 'search_term_exceed_max_chars', 'search_term_invalid',
  'user_not_found', 'activity_not_found',
  'content_type_not_json', 'body_blank', 'body_malformed_json', 'body_not_object',
  'rate_limited',
  'not_found', 'method_not_allowed', 'request_entity_too_large', 'internal_server_error',
];

group('describe', () => {
  it.each(BACKEND_CODES)('gives %s a sentence of its own', (code) => {
    const text = describe(code);
    expect(text).not.toBe(code);
    expect(text).toMatch(/^[A-Z].*\.$/);
    const others = BACKEND_CODES.filter((other) => other !== code).map(describe);
    expect(others).not.toContain(text);
  });

  it('shows an unknown code as it came', () => {
    expect(describe('http_502')).toBe('http_502');
  });
});
