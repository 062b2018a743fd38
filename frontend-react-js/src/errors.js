const MESSAGES = {
  message_blank: 'Write a message first.',
  message_exceed_max_chars: 'The message is too long.',
  message_invalid: 'The message contains characters that are not allowed.',
  ttl_blank: 'Choose how long the crud should last.',
  ttl_invalid: 'Choose one of the listed lifetimes.',
  user_receiver_handle_blank: 'Say who the message is for.',
  user_not_found: 'There is no user with that handle.',
  search_term_blank: 'Type something to search for.',
  not_found: 'Not found.',
  body_malformed_json: 'The request could not be read.',
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
