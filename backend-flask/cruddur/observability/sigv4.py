"""AWS's OTLP endpoints (X-Ray's traces, CloudWatch's logs): where they are, and SigV4 on each export.

boto3 decides everything, as it does for its own clients: the region from its chain, the
endpoint from `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` / the config file or AWS's
default, the credentials from env, profile or role. The OTLP exporters post with a
requests session whose auth signs each request with botocore's own SigV4 signer.
"""

import requests
from botocore.config import Config

from cruddur.observability.redact import redact_url

# Headers signed besides Host and SigV4's own: what the endpoint reads. Hop-by-hop and
# client headers (User-Agent, Accept-Encoding, Connection) may be changed on the way.
SIGNED_HEADERS = ("content-type", "content-encoding", "x-aws-log-group", "x-aws-log-stream")
# The exporters always add OTEL_EXPORTER_OTLP_HEADERS (Honeycomb's key): anything not
# listed here is removed, so no other service's secret reaches AWS.
SENT_HEADERS = (*SIGNED_HEADERS, "content-length", "user-agent", "accept", "accept-encoding", "connection")
# A blackholed endpoint must not hold a sending thread, or the shutdown flush, for minutes.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5)


class SigV4(requests.auth.AuthBase):
    """Signs the prepared request, body as sent, for `service` in `region`, with the current
    frozen credentials: a role's rotation is picked up by the next export."""

    def __init__(self, credentials, service: str, region: str):
        self.credentials, self.service, self.region = credentials, service, region

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        for name in [name for name in prepared.headers if name.lower() not in SENT_HEADERS]:
            del prepared.headers[name]
        headers = {name: value for name, value in prepared.headers.items() if name.lower() in SIGNED_HEADERS}
        signed = AWSRequest(method=prepared.method, url=prepared.url, data=prepared.body, headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                prepared.headers[name] = signed.headers[name]
        return prepared


def aws_session(client_name: str):
    """boto3's session, its credentials and a `client_name` client, or why there are none. No
    network, but for a role's credentials (bounded by boto3's own timeouts)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session()
        if not session.region_name:
            return "no AWS region: set AWS_DEFAULT_REGION (or region in ~/.aws/config)"
        credentials = session.get_credentials()
        if credentials is None:
            return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the host a role"
        return session, credentials, session.client(client_name, config=CLIENT_CONFIG)
    except (BotoCoreError, ValueError) as error:  # a malformed endpoint URL, region or profile
        return f"AWS configuration: {error}"


def otlp_endpoint(client_name: str, signing_name: str, path: str) -> tuple[dict, str] | str:
    """The OTLP exporter's `endpoint` and signing `session` for `client_name` ("xray", "logs"),
    and where that is in words; or why there is none."""
    found = aws_session(client_name)
    if isinstance(found, str):
        return found
    session, credentials, client = found
    client.close()
    signed = requests.Session()
    signed.auth = SigV4(credentials, signing_name, session.region_name)
    url = f"{client.meta.endpoint_url.rstrip('/')}{path}"
    return {"endpoint": url, "session": signed}, f"{redact_url(url)} (SigV4, {session.region_name})"
