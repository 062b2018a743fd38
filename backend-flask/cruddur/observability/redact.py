"""The one secret policy, which span attributes, log lines, Rollbar items and the start-up lines
follow: which names hold secrets, and how a value that may hold one is redacted."""
import re
from urllib.parse import unquote_plus, urlsplit

# A header, query parameter or field whose name contains one of these (any case) holds a secret.
SECRET_NAMES = ("auth", "cookie", "token", "key", "secret", "session", "password", "passwd", "honeycomb")
REDACTED = "REDACTED"
# Long enough for any real value, short enough that a hostile request cannot make a huge event.
MAX_FIELD_CHARS = 2048

is_secret = re.compile("|".join(SECRET_NAMES), re.IGNORECASE).search


def redact_query(query: str) -> str:
    """`a=1&token=x` as `a=1&token=REDACTED`: the value of each parameter with a secret name is replaced."""
    pairs = (pair.partition("=") for pair in query.split("&"))
    return "&".join(f"{name}={REDACTED}" if is_secret(unquote_plus(name)) else name + equals + value
                    for name, equals, value in pairs)


def redact_url(url: str) -> str:
    """`url` with any user:password@ and the values of secret query parameters redacted."""
    if "?" not in url and "@" not in url:
        return url
    parts = urlsplit(url)
    if parts.username or parts.password is not None:
        parts = parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}")
    return parts._replace(query=redact_query(parts.query) if parts.query else "").geturl()


def clip(value: str) -> str:
    return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + "…"
