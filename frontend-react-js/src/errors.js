// `<field>_invalid` means the field was sent as something other than text (or, for ttl,
// not one of the listed values): the backend checks types strictly, not characters.
const MESSAGES = {
  message_blank: 'Write a message first.',
  message_exceed_max_chars: 'The message is too long.',
  message_invalid: 'The message must be text.',
  ttl_blank: 'Choose how long the crud should last.',
  ttl_invalid: 'Choose one of the listed lifetimes.',
  user_receiver_handle_blank: 'Say who the message is for.',
  user_receiver_handle_exceed_max_chars: 'That handle is too long.',
  user_receiver_handle_invalid: 'The handle must be text.',
  user_not_found: 'There is no user with that handle.',
  activity_not_found: 'That crud does not exist.',
  search_term_blank: 'Type something to search for.',
  search_term_exceed_max_chars: 'The search term is too long.',
  search_term_invalid: 'The search term must be text.',
  not_found: 'Not found.',
  method_not_allowed: 'The backend does not accept that request.',
  content_type_not_json: 'The request was not sent as JSON.',
  body_blank: 'The request was empty.',
  body_malformed_json: 'The request could not be read.',
  body_not_object: 'The request was not a JSON object.',
  request_entity_too_large: 'The request is too large.',
  rate_limited: 'Too many requests: wait a moment, then try again.',
  internal_server_error: 'The backend failed: try again later.',
  backend_unreachable: 'Not sent: the backend could not be reached.',
};

// A readable sentence for a backend error code; an unknown code is shown as it came.
export function describe(code) {
  return MESSAGES[code] ?? code;
}

// The codes that belong to `field` (message_blank belongs to "message").
export function codesFor(codes, field) {
  return codes.filter((code) => code.startsWith(`${field}_`));
}

// The codes that belong to none of `fields`: shown for the form as a whole.
export function otherCodes(codes, fields) {
  return codes.filter((code) => !fields.some((field) => code.startsWith(`${field}_`)));
}
