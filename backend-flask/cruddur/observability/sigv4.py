"""SigV4 for AWS's OTLP endpoints (X-Ray's traces, CloudWatch Logs' logs), which the OTLP exporters
lack: a requests session whose auth signs each export with botocore's signer. boto3 finds the
region, the endpoint (`AWS_ENDPOINT_URL_<SERVICE>`, ...) and the credentials, as for its clients."""
import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from cruddur.observability.redact import redact_url

# Signed besides Host and SigV4's own: what the endpoint reads (proxies may change the others).
SIGNED_HEADERS = ("content-type", "content-encoding", "x-aws-log-group", "x-aws-log-stream")
# The exporters add OTEL_EXPORTER_OTLP_HEADERS (Honeycomb's key) to whatever they are given: any
# other header is removed, so no other service's secret reaches AWS.
SENT_HEADERS = (*SIGNED_HEADERS, "content-length", "user-agent", "accept", "accept-encoding", "connection")
# A blackholed endpoint must not hold a sending thread, or the shutdown, for minutes.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2})
# An OTLP export to AWS, retries included (part of the exit's budget: observability.shutdown).
EXPORT_TIMEOUT_S = 2


class SigV4(requests.auth.AuthBase):
    """Signs each request, body as sent, with the credentials of that moment (a role's rotate)."""

    def __init__(self, credentials, service: str, region: str):
        self.credentials, self.service, self.region = credentials, service, region

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in [name for name in prepared.headers if name.lower() not in SENT_HEADERS]:
            del prepared.headers[name]
        signed = AWSRequest(method=prepared.method, url=prepared.url, data=prepared.body, headers={
            name: value for name, value in prepared.headers.items() if name.lower() in SIGNED_HEADERS})
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(signed)
        prepared.headers.update({name: signed.headers[name] for name in
                                 ("Authorization", "X-Amz-Date", "X-Amz-Security-Token") if name in signed.headers})
        return prepared


def aws_client(service: str):
    """boto3's `service` client and its credentials, or why there are none."""
    try:
        session = boto3.Session()
        if not session.region_name:  # checked first: finding a role's credentials may ask the network
            return "no AWS region: set AWS_DEFAULT_REGION (or region in ~/.aws/config)"
        credentials = session.get_credentials()
        if credentials is None:
            return ("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                    "or give the host a role")
        return session.client(service, config=CLIENT_CONFIG), credentials
    except (BotoCoreError, ValueError) as error:  # a malformed endpoint URL, region or profile
        return f"AWS configuration: {error}"


def otlp_endpoint(service: str, path: str):
    """The OTLP exporter's `endpoint` and signing `session` for `service`, and where in words; or why not."""
    found = aws_client(service)
    if isinstance(found, str):
        return found
    client, credentials = found
    session, url, region = requests.Session(), client.meta.endpoint_url.rstrip("/") + path, client.meta.region_name
    session.auth = SigV4(credentials, service, region)
    client.close()
    return {"endpoint": url, "session": session}, f"{redact_url(url)} (SigV4, {region})"
