// The backend answered with an error status; `codes` is its JSON array of error codes.
export class ApiError extends Error {
  constructor(status, codes) {
    super(`HTTP ${status}: ${codes.join(', ')}`);
    this.status = status;
    this.codes = codes;
  }
}

// The request never got an answer: the backend is down, unreachable or refused by CORS.
export class UnreachableError extends Error {
  codes = ['backend_unreachable'];
}

async function errorCodes(response) {
  try {
    const body = await response.json();
    if (Array.isArray(body)) return body.map(String);
  } catch {
    // Not JSON (a proxy's error page, say): fall back to the status below.
  }
  return [`http_${response.status}`];
}

export async function request(baseUrl, method, path, body) {
  let response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new UnreachableError(`${method} ${baseUrl}${path} failed: ${error.message}`);
  }
  if (!response.ok) throw new ApiError(response.status, await errorCodes(response));
  try {
    return await response.json();
  } catch {
    const type = response.headers.get('Content-Type') || 'no Content-Type';
    throw new Error(`The backend answered ${method} ${path} with ${response.status} but not with JSON (${type}).`);
  }
}
