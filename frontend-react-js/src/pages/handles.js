// "@worf" → "worf"; anything else is not a handle segment and gives null.
export function handleFrom(segment) {
  const match = /^@([\w.-]+)$/.exec(segment ?? '');
  return match ? match[1] : null;
}
