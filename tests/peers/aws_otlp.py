"""AWS's OTLP endpoints on loopback: X-Ray's `/v1/traces` and CloudWatch Logs' `/v1/logs`.

Each request's SigV4 signature is recomputed with botocore from what arrived (method, path,
the signed headers, the body as sent) and the secret of the access key it names; a wrong
signature, scope, key or a body changed after signing is answered 403, as AWS does.
"""
from __future__ import annotations

import gzip
import hmac
import re
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.peers.http import QuietHandler
from tests.peers.otlp import OtlpReceiver, _attributes, _hex, _value

AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                           r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")
LOG_HEADERS = ("x-aws-log-group", "x-aws-log-stream")


class SignedOtlpEndpoint(OtlpReceiver):
    """X-Ray's (`service="xray"`) or CloudWatch Logs' (`service="logs"`) OTLP endpoint.

    `keys` maps each access key id it accepts to `(secret, session token or None)`;
    `rejected` makes the logs endpoint answer 200 with that many records in partialSuccess.
    """

    def __init__(self, service: str, region: str, keys: dict[str, tuple[str, str | None]]):
        self.handler = _Handler
        super().__init__()
        self.service, self.region, self.keys = service, region, keys
        self.path = "/v1/traces" if service == "xray" else "/v1/logs"
        self.rejected = 0
        self.verified: list[str] = []  # the access key id of each request with a good signature
        self.refused: list[str] = []  # why each other request was refused
        self._records: list[dict] = []

    def check_signature(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """None when the request is signed for this endpoint by a known key, else what is wrong."""
        match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if not match:
            return "no SigV4 Authorization header"
        key_id, date, region, service, signed_names, signature = match.groups()
        if (service, region) != (self.service, self.region):
            return f"signed for {service} in {region}"
        if key_id not in self.keys:
            return f"unknown access key {key_id}"
        timestamp = headers.get("x-amz-date", "")
        if not timestamp.startswith(date):
            return "X-Amz-Date outside the credential scope"
        secret, token = self.keys[key_id]
        if headers.get("x-amz-security-token") != token:
            return "wrong session token"
        names = signed_names.split(";")
        if "host" not in names:
            return "Host not signed"
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body,
                             headers={name: headers[name] for name in names if name in headers})
        request.context["timestamp"] = timestamp
        signer = SigV4Auth(Credentials(key_id, secret, token), self.service, self.region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, signature):
            return "signature does not match"
        return None

    def records(self) -> list[dict]:
        with self._lock:
            return list(self._records)

    def wait_for_records(self, predicate, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(records := self.records()):
                return records
            time.sleep(0.05)
        raise AssertionError(f"log records never matched within {timeout}s: {self.records()}")

    def record_logs(self, headers: dict, payload: dict) -> None:
        records = []
        for resource_logs in payload.get("resourceLogs", []):
            resource = _attributes(resource_logs.get("resource", {}).get("attributes"))
            for scope_logs in resource_logs.get("scopeLogs", []):
                for record in scope_logs.get("logRecords", []):
                    records.append({
                        "trace_id": _hex(record.get("traceId", ""), True),
                        "span_id": _hex(record.get("spanId", ""), True),
                        "severity": record.get("severityText"),
                        "body": _value(record.get("body", {})),
                        "attributes": _attributes(record.get("attributes")),
                        "resource": resource,
                        "group": headers.get("x-aws-log-group"),
                        "stream": headers.get("x-aws-log-stream"),
                    })
        with self._lock:
            self.requests.append({"headers": headers, "record_count": len(records)})
            self._records.extend(records[self.rejected:])


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        receiver: SignedOtlpEndpoint = self.server.receiver
        sent = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.path != receiver.path:
            self.reply(404)
            return
        if problem := receiver.check_signature(self.command, self.path, headers, sent):
            with receiver._lock:
                receiver.refused.append(problem)
            self.reply(403, b'{"message": "The request signature we calculated does not match"}')
            return
        with receiver._lock:
            receiver.verified.append(AUTHORIZATION.fullmatch(headers["authorization"]).group(1))
        body = gzip.decompress(sent) if headers.get("content-encoding") == "gzip" else sent
        if receiver.service == "xray":
            receiver.record(headers, MessageToDict(ExportTraceServiceRequest.FromString(body)), from_base64=True)
            self.reply(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")
            return
        if missing := [name for name in LOG_HEADERS if not headers.get(name)]:
            self.reply(400, f'{{"message": "missing {", ".join(missing)}"}}'.encode())
            return
        receiver.record_logs(headers, MessageToDict(ExportLogsServiceRequest.FromString(body)))
        answer = ExportLogsServiceResponse()
        if receiver.rejected:
            answer.partial_success.rejected_log_records = receiver.rejected
            answer.partial_success.error_message = "log records rejected"
        self.reply(200, answer.SerializeToString(), "application/x-protobuf")
