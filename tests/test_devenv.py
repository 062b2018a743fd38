"""The files people run or paste to get a development environment, checked without Docker
or an AWS account: docker-compose.yml, the collector's config, Gitpod, Codespaces, the X-Ray
JSON files and the bin/ scripts that create them, the Dockerfiles, and the whole repository
for leaked secrets."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import botocore.session
import pytest
import requests
import yaml
from botocore.validate import validate_parameters

from cruddur.config import Settings
from tests.processes import BACKEND_DIR, Gunicorn, free_port

ROOT = BACKEND_DIR.parent
FRONTEND_DIR = ROOT / "frontend-react-js"
VENV_BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
COLLECTOR_CONFIG = yaml.safe_load((ROOT / "otel-collector" / "config.yaml").read_text())
# XRAY_EXPORT=collector's: the backend's spans to X-Ray (signed) and Honeycomb.
AWS_COLLECTOR_CONFIG = yaml.safe_load((ROOT / "otel-collector" / "aws.yaml").read_text())
COLLECTORS = {"otel-collector": ("config.yaml", COLLECTOR_CONFIG), "otel-collector-aws": ("aws.yaml", AWS_COLLECTOR_CONFIG)}
PUBLIC_PORTS = {3000, 4567, 2000, 4318, 16686}
# Without a Honeycomb key: Jaeger, the trace viewer.
JAEGER_CONFIG = yaml.safe_load((ROOT / "jaeger" / "config.yaml").read_text())

# What a developer with every account would export, each value plainly fake.
ACCOUNTS = {
    "HONEYCOMB_API_KEY": "fake-honeycomb-key",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_ACCESS_KEY_ID": "fake-access-key-id",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key",
    "ROLLBAR_ACCESS_TOKEN": "fake-rollbar-token",
}
GITPOD = {"GITPOD_WORKSPACE_ID": "cruddur-example", "GITPOD_WORKSPACE_CLUSTER_HOST": "ws-example.gitpod.io"}
CODESPACES = {"CODESPACE_NAME": "cruddur-example", "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "app.github.dev"}


def interpolate(environment: dict[str, str], shell: dict[str, str]) -> dict[str, str]:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:+replacement} against `shell`, an
    unset variable counting as empty; any other `$` is left for the caller to catch."""
    def substitute(match: re.Match) -> str:
        name, operator, word = match.groups()
        value = shell.get(name, "")
        if operator == ":-":
            return value or word
        if operator == ":+":
            return word if value else ""
        return value

    pattern = r"\$\{(\w+)(?:(:[-+])([^${}]*))?\}"
    return {name: re.sub(pattern, substitute, str(value)) for name, value in environment.items()}


def service_env(service: str, shell: dict[str, str]) -> dict[str, str]:
    return interpolate(SERVICES[service]["environment"], shell)


def compose_env_output(machine: dict[str, str]) -> dict[str, str]:
    """What `bin/compose-env > .env` writes on a machine with `machine`'s variables."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("GITPOD_", "CODESPACE")) and name != "HONEYCOMB_API_KEY"}
    output = subprocess.run([ROOT / "bin" / "compose-env"], env={**env, **machine},
                            capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in output.splitlines())


def started_services(shell: dict[str, str]) -> set[str]:
    """What `docker compose up` starts: every service in no profile, and those in a profile
    that COMPOSE_PROFILES (from the shell or .env) names."""
    active = set(shell.get("COMPOSE_PROFILES", "").split(",")) - {""}
    return {name for name, service in SERVICES.items()
            if not service.get("profiles") or active & set(service["profiles"])}


# --- docker-compose.yml -------------------------------------------------------------

@pytest.mark.live  # runs a script or a tool
def test_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_uses_only_the_interpolation_it_is_checked_with():
    for service in SERVICES:
        for name, value in service_env(service, ACCOUNTS).items():
            assert "$" not in value, f"{service}: {name} has interpolation these tests do not understand"


def test_compose_hard_codes_no_region_and_pins_every_image():
    assert not re.search(r"\b[a-z]{2}(-gov)?-[a-z]+-\d\b", COMPOSE_FILE.read_text())
    for name, service in SERVICES.items():
        assert "build" in service or re.fullmatch(r"[\w./-]+:\d[\w.-]*", service["image"]), name


def readme_variables() -> set[str]:
    """The first column of README.md's configuration table."""
    section = (ROOT / "README.md").read_text().split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def test_every_variable_the_backend_gets_is_in_the_readme():
    assert set(SERVICES["backend-flask"]["environment"]) <= readme_variables()


# Read by boto3 itself rather than by Cruddur's code (README: "read by boto3's own credential chain").
# OpenTelemetry's own variables are read by its SDK (README: "Configuration").
READ_BY_OPENTELEMETRY = ("OTEL_SERVICE_NAME", "OTEL_BSP_")
READ_BY_BOTO3 = {"AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                 "AWS_XRAY_SDK_ENABLED"}  # the last read by the X-Ray SDK itself
# OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is read by config.py too (its start-up line), by name.


def test_every_backend_variable_is_read_by_the_backend():
    source = "\n".join(path.read_text() for path in BACKEND_DIR.rglob("*.py"))
    unread = [name for name in SERVICES["backend-flask"]["environment"]
              if name not in READ_BY_BOTO3 and not name.startswith(READ_BY_OPENTELEMETRY)
              and not re.search(rf"""["']{name}["']""", source)]
    assert not unread


def test_every_front_end_variable_is_read_by_the_front_end():
    assert (FRONTEND_DIR / "src").is_dir(), "frontend-react-js/src is missing"
    source = "\n".join(path.read_text() for path in (FRONTEND_DIR / "src").rglob("*.js*"))
    unread = [name for name in SERVICES["frontend-react-js"]["environment"]
              if f"import.meta.env.{name}" not in source]
    assert not unread


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_gets_exactly_the_variables_its_config_reads(collector):
    config_text = (ROOT / "otel-collector" / COLLECTORS[collector][0]).read_text()
    # The keys are read by sigv4auth's AWS SDK credential chain, not by the config.
    read_by_the_aws_sdk = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(SERVICES[collector]["environment"]) - read_by_the_aws_sdk == set(re.findall(r"\$\{env:(\w+)\}", config_text))


def test_xray_daemon_gets_its_region_and_credentials_from_the_shell():
    env = SERVICES["xray-daemon"]["environment"]
    assert env == {"AWS_REGION": "${AWS_DEFAULT_REGION:-}",
                   "AWS_ACCESS_KEY_ID": "${AWS_ACCESS_KEY_ID:-}",
                   "AWS_SECRET_ACCESS_KEY": "${AWS_SECRET_ACCESS_KEY:-}"}
    # The image's entrypoint is the daemon, so the command is its flags alone.
    assert SERVICES["xray-daemon"]["command"] == ["-o", "-b", "xray-daemon:2000"]
    assert SERVICES["xray-daemon"]["ports"] == ["2000:2000/udp"]


def test_with_no_accounts_every_integration_is_off():
    settings = Settings.from_env(service_env("backend-flask", {}))
    assert settings.otlp_traces_endpoint is None
    assert settings.xray_daemon_address is None
    assert settings.cloudwatch_log_group is None
    assert settings.rollbar_access_token is None
    assert service_env("xray-daemon", {})["AWS_REGION"] == ""


def test_with_every_account_every_integration_is_on():
    env = service_env("backend-flask", ACCOUNTS)
    settings = Settings.from_env(env)
    assert settings.otlp_traces_endpoint == "https://api.honeycomb.io/v1/traces"
    assert settings.otlp_header_names == ("x-honeycomb-team",)
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "x-honeycomb-team=fake-honeycomb-key"
    assert settings.xray_daemon_address == "xray-daemon:2000"
    assert settings.cloudwatch_log_group == "cruddur"
    assert settings.rollbar_access_token == "fake-rollbar-token"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-2"
    assert service_env("xray-daemon", ACCOUNTS)["AWS_REGION"] == "eu-west-2"
    assert service_env("otel-collector", ACCOUNTS)["HONEYCOMB_API_KEY"] == "fake-honeycomb-key"


def test_sampling_rule_file_is_mounted_where_the_backend_reads_it():
    rule_file = Path(SERVICES["backend-flask"]["environment"]["AWS_XRAY_SAMPLING_RULE_FILE"])
    mounts = [volume.split(":") for volume in SERVICES["backend-flask"]["volumes"]]
    (host_file,) = [ROOT / source / rule_file.relative_to(target)
                    for source, target, *_ in mounts if rule_file.is_relative_to(target)]
    assert host_file == ROOT / "aws" / "json" / "xray.json"


@pytest.mark.parametrize("machine, frontend, backend, collector", [
    ({}, "http://localhost:3000", "http://localhost:4567", "http://localhost:4318"),
    (GITPOD, "https://3000-cruddur-example.ws-example.gitpod.io", "https://4567-cruddur-example.ws-example.gitpod.io",
     "https://4318-cruddur-example.ws-example.gitpod.io"),
    (CODESPACES, "https://cruddur-example-3000.app.github.dev", "https://cruddur-example-4567.app.github.dev",
     "https://cruddur-example-4318.app.github.dev"),
], ids=["localhost", "gitpod", "codespaces"])
@pytest.mark.live  # runs a script or a tool
def test_urls_follow_the_machine(machine, frontend, backend, collector):
    shell = compose_env_output({**machine, "HONEYCOMB_API_KEY": ACCOUNTS["HONEYCOMB_API_KEY"]})
    assert service_env("backend-flask", shell)["FRONTEND_URL"] == frontend
    assert service_env("backend-flask", shell)["BACKEND_URL"] == backend
    assert service_env("backend-flask", shell)["AWS_XRAY_URL"] == "*" + backend.split("://")[1] + "*"
    assert service_env("otel-collector", shell)["FRONTEND_URL"] == frontend
    assert service_env("frontend-react-js", shell) == {
        "REACT_APP_BACKEND_URL": backend, "REACT_APP_OTEL_COLLECTOR_URL": collector}


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("machine, jaeger, ui", [
    ({}, "http://localhost:4318", "http://localhost:16686"),
    (GITPOD, "https://4318-cruddur-example.ws-example.gitpod.io", "https://16686-cruddur-example.ws-example.gitpod.io"),
    (CODESPACES, "https://cruddur-example-4318.app.github.dev", "https://cruddur-example-16686.app.github.dev"),
], ids=["localhost", "gitpod", "codespaces"])
def test_without_a_honeycomb_key_the_browsers_and_backends_spans_go_to_jaeger(machine, jaeger, ui):
    shell = compose_env_output(machine)
    assert started_services(shell) == started_services({}) | {"jaeger"}
    assert service_env("frontend-react-js", shell)["REACT_APP_OTEL_COLLECTOR_URL"] == jaeger
    assert Settings.from_env(service_env("backend-flask", shell)).otlp_traces_endpoint == "http://jaeger:4318/v1/traces"
    assert service_env("jaeger", shell) == {"FRONTEND_URL": shell["FRONTEND_URL"]}  # its CORS origin
    assert shell["JAEGER_URL"] == ui


def test_urls_fall_back_to_localhost_without_an_env_file():
    assert service_env("backend-flask", {})["FRONTEND_URL"] == "http://localhost:3000"
    assert service_env("backend-flask", {})["BACKEND_URL"] == "http://localhost:4567"
    assert service_env("frontend-react-js", {}) == {
        "REACT_APP_BACKEND_URL": "http://localhost:4567", "REACT_APP_OTEL_COLLECTOR_URL": ""}


NO_REGION = {"AWS_ACCESS_KEY_ID": ACCOUNTS["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": ACCOUNTS["AWS_SECRET_ACCESS_KEY"]}


@pytest.mark.parametrize("machine", [{}, GITPOD, CODESPACES, NO_REGION],
                         ids=["localhost", "gitpod", "codespaces", "aws-credentials-without-a-region"])
@pytest.mark.live  # runs a script or a tool
def test_without_accounts_compose_starts_only_what_can_run(machine):
    """The X-Ray daemon exits without a region, and the collector has nowhere to send: Jaeger shows the traces."""
    started = started_services(compose_env_output(machine))
    assert {"backend-flask", "frontend-react-js", "jaeger"} <= started
    assert not started & {"xray-daemon", "otel-collector", "otel-collector-aws"}


@pytest.mark.parametrize("accounts, extra", [
    (ACCOUNTS, {"xray-daemon", "otel-collector"}),
    ({"HONEYCOMB_API_KEY": ACCOUNTS["HONEYCOMB_API_KEY"]}, {"otel-collector"}),
    ({**NO_REGION, "AWS_DEFAULT_REGION": ACCOUNTS["AWS_DEFAULT_REGION"]}, {"xray-daemon", "jaeger"}),
], ids=["every-account", "honeycomb", "aws"])
@pytest.mark.live  # runs a script or a tool
def test_each_account_starts_the_service_it_needs(accounts, extra):
    shell = {**accounts, **compose_env_output(accounts)}
    assert started_services(shell) == started_services({}) | extra
    if "xray-daemon" in extra:
        assert service_env("xray-daemon", shell)["AWS_REGION"] == ACCOUNTS["AWS_DEFAULT_REGION"]


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("machine", [{}, GITPOD, CODESPACES], ids=["localhost", "gitpod", "codespaces"])
def test_without_a_honeycomb_key_nothing_sends_to_honeycomb(machine):
    # Every other account set, so only the missing key keeps Honeycomb off.
    shell = {**ACCOUNTS, **compose_env_output({**ACCOUNTS, **machine, "HONEYCOMB_API_KEY": ""}), "HONEYCOMB_API_KEY": ""}
    assert "otel-collector" not in started_services(shell)
    settings = Settings.from_env(service_env("backend-flask", shell))
    assert (settings.otlp_traces_endpoint, settings.otlp_metrics_endpoint) == ("http://jaeger:4318/v1/traces", None)
    assert "jaeger" in started_services(shell)


# --- the development loop: edit, and the running stack serves the edit -------------------

def dockerfile_workdir(dockerfile: Path) -> Path:
    return Path(instructions(dockerfile, "WORKDIR")[-1])


def mounts(service: str) -> dict[Path, tuple[Path, str]]:
    """Each bind mount of `service`: the host path it comes from → (where it is, its mode)."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target, *mode = volume.split(":")
        found[(ROOT / source).resolve()] = (Path(target), mode[0] if mode else "rw")
    return found


def compose_command(service: str, dockerfile: Path) -> list[str]:
    """What the service's container runs: compose's command, or else the image's CMD."""
    return SERVICES[service].get("command") or json.loads(instructions(dockerfile, "CMD")[0])


def test_backend_runs_the_images_command_with_reload_on_its_mounted_code():
    dockerfile = BACKEND_DIR / "Dockerfile"
    assert compose_command("backend-flask", dockerfile) == json.loads(instructions(dockerfile, "CMD")[0]) + ["--reload"]
    # The whole build context, where the image has its copy; read-only, so nothing the container does lands in the tree.
    assert mounts("backend-flask")[BACKEND_DIR] == (dockerfile_workdir(dockerfile), "ro")


# What Vite's dev server reads from the app's folder, apart from node_modules and the package files.
DEV_SERVER_READS = ["index.html", "vite.config.js", "public", "src"]


def test_front_end_runs_vites_dev_server_on_its_mounted_source():
    dockerfile = FRONTEND_DIR / "Dockerfile"
    assert compose_command("frontend-react-js", dockerfile) == ["node_modules/.bin/vite"]
    workdir = dockerfile_workdir(dockerfile)
    assert {FRONTEND_DIR / name: (workdir / name, "ro") for name in DEV_SERVER_READS}.items() <= mounts("frontend-react-js").items()
    # node_modules stays the image's, installed for the container's platform.
    assert not any(target.is_relative_to(workdir / "node_modules") for target, _ in mounts("frontend-react-js").values())


@pytest.mark.live
def test_backends_compose_command_serves_an_edit_without_a_restart(tmp_path):
    """Compose's backend command, run from a copy of the code (the mount): an edit to a route
    is served within seconds, by the same master process."""
    code = tmp_path / "backend-flask"
    shutil.copytree(BACKEND_DIR, code, ignore=shutil.ignore_patterns("__pycache__", "instance"))
    env = service_env("backend-flask", {})
    del env["PORT"]  # Gunicorn picks a free port
    del env["DATABASE_URL"]  # compose's db is not here: Gunicorn's own SQLite file wins over CONNECTION_URL
    with Gunicorn(env=env, command=compose_command("backend-flask", BACKEND_DIR / "Dockerfile"), cwd=code) as server:
        def status() -> str | None:
            try:
                return requests.get(f"{server.url}/api/health", timeout=5).json()["status"]
            except (requests.ConnectionError, requests.Timeout):  # a worker restarting, on a busy machine
                return None

        assert status() == "ok"
        route = code / "cruddur" / "routes" / "health.py"
        route.write_text(route.read_text().replace('"status": "ok"', '"status": "ok, and live"'))
        deadline = time.monotonic() + 45
        while status() != "ok, and live" and time.monotonic() < deadline:
            # Saved again, as an editor would: a worker's reloader takes its first look at the
            # files only once it is running, and an edit made before that look is not a change.
            os.utime(route)
            time.sleep(0.2)
        assert status() == "ok, and live"
        assert server.process.poll() is None


@pytest.mark.live
def test_backend_with_composes_environment_and_no_accounts_serves_and_passes_its_healthcheck():
    env = service_env("backend-flask", {})
    del env["PORT"]  # Gunicorn picks a free port
    del env["DATABASE_URL"]  # compose's db is not here: Gunicorn's own SQLite file wins over CONNECTION_URL
    with Gunicorn(env=env) as server:
        assert requests.get(f"{server.url}/api/activities/home", timeout=5).status_code == 200
        integrations = requests.get(f"{server.url}/api/health", timeout=5).json()["integrations"]
        assert [integrations[name] for name in ("xray", "cloudwatch", "rollbar")] == ["off"] * 3
        check = SERVICES["backend-flask"]["healthcheck"]["test"]
        assert check[0] == "CMD" and "/api/health" in check[-1]
        # As it is written: it finds the server on PORT, as the container's gunicorn binds it.
        assert subprocess.run(check[1:], env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
                                              "PORT": str(server.port)}).returncode == 0


# --- the OpenTelemetry Collector ---------------------------------------------------------

def test_collector_receives_the_browsers_spans_with_cors_for_the_front_end():
    http = COLLECTOR_CONFIG["receivers"]["otlp"]["protocols"]["http"]
    assert http["endpoint"] == "0.0.0.0:4318"
    assert http["cors"]["allowed_origins"] == ["${env:FRONTEND_URL}"]
    assert SERVICES["otel-collector"]["environment"]["FRONTEND_URL"] == SERVICES["backend-flask"]["environment"]["FRONTEND_URL"]
    assert "4318:4318" in SERVICES["otel-collector"]["ports"]


def pipeline_components(kind: str, config: dict = COLLECTOR_CONFIG) -> set[str]:
    """The receivers, processors or exporters that some pipeline uses."""
    return {name for pipeline in config["service"]["pipelines"].values() for name in pipeline.get(kind, [])}


@pytest.mark.parametrize("collector", COLLECTORS)
def test_every_component_a_pipeline_uses_is_defined(collector):
    config = COLLECTORS[collector][1]
    for kind in ("receivers", "processors", "exporters"):
        assert pipeline_components(kind, config) <= set(config.get(kind) or {}), f"{kind} used but not defined"
    authenticators = {exporter["auth"]["authenticator"] for exporter in config["exporters"].values() if "auth" in exporter}
    assert authenticators <= set(config["service"].get("extensions", [])) <= set(config.get("extensions") or {})


def test_collector_sends_traces_to_honeycomb_with_the_key():
    traces = COLLECTOR_CONFIG["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    exporters = [COLLECTOR_CONFIG["exporters"][name] for name in traces["exporters"]]
    assert any(exporter["endpoint"] == "https://api.honeycomb.io" for exporter in exporters)


@pytest.mark.parametrize("collector", COLLECTORS)
def test_every_export_to_honeycomb_carries_the_key(collector):
    config = COLLECTORS[collector][1]
    for name in pipeline_components("exporters", config):
        exporter = config["exporters"][name]
        if "honeycomb.io" in exporter.get("endpoint", ""):
            assert exporter["headers"] == {"x-honeycomb-team": "${env:HONEYCOMB_API_KEY}"}, name


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_batches_in_its_exporters_not_in_the_deprecated_processor(collector):
    config = COLLECTORS[collector][1]
    assert not any(name.split("/")[0] == "batch" for name in config.get("processors") or {})
    for name in pipeline_components("exporters", config):
        batch = config["exporters"][name]["sending_queue"]["batch"]
        assert batch["sizer"] == "items" and batch["min_size"] > 0, name
        assert re.fullmatch(r"\d+(ms|s)", batch["flush_timeout"]), name


# The first release of the current minor line when this was last checked (2026-12); the
# queue's batch settings above need a collector of late 2025 or newer.
COLLECTOR_AT_LEAST = (0, 162, 0)


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_image_is_current(collector):
    image, tag = SERVICES[collector]["image"].split(":")
    assert image == "otel/opentelemetry-collector-contrib"
    assert tuple(map(int, tag.split("."))) >= COLLECTOR_AT_LEAST


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_loads_the_config_file_compose_mounts(collector):
    (mount,) = SERVICES[collector]["volumes"]
    source, target, mode = mount.split(":")
    assert (ROOT / source).resolve() == ROOT / "otel-collector" / COLLECTORS[collector][0] and mode == "ro"
    assert SERVICES[collector]["command"] == [f"--config={target}"]


def test_jaeger_takes_otlp_from_the_backend_and_the_browser_and_keeps_a_bounded_number_of_traces():
    pipeline = JAEGER_CONFIG["service"]["pipelines"]["traces"]
    assert (pipeline["receivers"], pipeline["exporters"]) == (["otlp"], ["jaeger_storage_exporter"])
    assert set(JAEGER_CONFIG["service"]["extensions"]) == set(JAEGER_CONFIG["extensions"]) == {"jaeger_storage", "jaeger_query"}
    http = JAEGER_CONFIG["receivers"]["otlp"]["protocols"]["http"]
    assert http == {"endpoint": "0.0.0.0:4318", "cors": {"allowed_origins": ["${env:FRONTEND_URL}"]}}
    store = JAEGER_CONFIG["exporters"]["jaeger_storage_exporter"]["trace_storage"]
    assert JAEGER_CONFIG["extensions"]["jaeger_query"] == {"storage": {"traces": store}, "http": {"endpoint": "0.0.0.0:16686"}}
    # Memory only, and bounded: the newest traces kept.
    assert JAEGER_CONFIG["extensions"]["jaeger_storage"]["backends"] == {store: {"memory": {"max_traces": 2000}}}
    assert SERVICES["jaeger"]["ports"] == ["4318:4318", "16686:16686"]


def test_jaeger_loads_the_config_file_compose_mounts_and_gets_the_variables_it_reads():
    jaeger = SERVICES["jaeger"]
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", jaeger["image"])  # v2, pinned
    flag, path = jaeger["command"]
    assert flag == "--config" and jaeger["volumes"] == [f"./jaeger/config.yaml:{path}:ro"]
    assert set(jaeger["environment"]) == set(re.findall(r"\$\{env:(\w+)\}", (ROOT / "jaeger" / "config.yaml").read_text()))


def test_jaeger_and_the_honeycomb_collector_never_run_together():
    """Both take OTLP on 4318: compose-env turns on one or the other, by the key."""
    assert SERVICES["jaeger"]["profiles"] == ["jaeger"] and SERVICES["otel-collector"]["profiles"] == ["honeycomb"]
    script = (ROOT / "bin" / "compose-env").read_text()
    assert re.search(r'then\n\s*profiles\+=\(honeycomb\)\nelse\n(.*\n)*?\s*profiles\+=\(jaeger\)\nfi', script)


def test_the_honeycomb_metrics_carry_a_dataset_and_the_key():
    env = service_env("backend-flask", ACCOUNTS)
    assert Settings.from_env(env).otlp_metrics_header_names == ("x-honeycomb-dataset", "x-honeycomb-team")
    assert env["OTEL_EXPORTER_OTLP_METRICS_HEADERS"] == (
        "x-honeycomb-team=fake-honeycomb-key,x-honeycomb-dataset=backend-flask-metrics")
    assert Settings.from_env(env).otlp_metrics_url == "https://api.honeycomb.io/v1/metrics"


def test_the_aws_collector_signs_the_backends_spans_to_xrays_otlp_endpoint_beside_honeycomb():
    config = AWS_COLLECTOR_CONFIG
    exporters = {name: config["exporters"][name] for name in pipeline_components("exporters", config)}
    (xray,) = [exporter for name, exporter in exporters.items() if name.startswith("otlphttp/") and "auth" in exporter]
    # X-Ray's OTLP endpoint, not the deprecated awsxray exporter; OTLP/HTTP only, gzip or nothing.
    assert xray["traces_endpoint"] == "https://xray.${env:AWS_REGION}.amazonaws.com/v1/traces"
    assert xray["compression"] in ("gzip", "none")
    assert xray["sending_queue"]["batch"]["max_size"] <= 10_000
    assert config["extensions"][xray["auth"]["authenticator"]] == {"region": "${env:AWS_REGION}", "service": "xray"}
    assert any(exporter.get("endpoint") == "https://api.honeycomb.io" for exporter in exporters.values())
    assert not any(name.split("/")[0] == "awsxray" for name in config["exporters"])
    # Inside compose's network only: the browser's spans go to otel-collector.
    assert "ports" not in SERVICES["otel-collector-aws"]
    assert service_env("otel-collector-aws", ACCOUNTS)["AWS_REGION"] == ACCOUNTS["AWS_DEFAULT_REGION"]


def test_the_aws_collector_sends_xray_and_honeycomb_every_span_the_backend_kept():
    """The backend's sampler (OTEL_TRACES_SAMPLER) decides once: no pipeline drops spans of its own."""
    config = AWS_COLLECTOR_CONFIG
    pipelines = config["service"]["pipelines"]
    assert sorted(len(p["exporters"]) for p in pipelines.values()) == [1, 1]
    assert not any(p.get("processors") for p in pipelines.values()) and "processors" not in config
    assert {receiver for p in pipelines.values() for receiver in p["receivers"]} == {"otlp"}


@pytest.mark.parametrize("xray_export, started, endpoint", [
    ("", {"xray-daemon", "otel-collector"}, None),
    ("otlp", {"otel-collector"}, None),
    ("collector", {"otel-collector", "otel-collector-aws"}, "http://otel-collector-aws:4318/v1/traces"),
])
@pytest.mark.live  # runs a script or a tool
def test_xray_export_picks_the_containers_and_where_the_backends_spans_go(xray_export, started, endpoint):
    shell = {**ACCOUNTS, "XRAY_EXPORT": xray_export}
    shell.update(compose_env_output(shell))
    assert started_services(shell) == started_services({}) | started
    settings = Settings.from_env(service_env("backend-flask", shell))
    assert settings.xray_export == (xray_export or "daemon")
    # The signal's own variable wins over Honeycomb's OTEL_EXPORTER_OTLP_ENDPOINT: the app exports once.
    assert settings.otlp_traces_endpoint == (endpoint or "https://api.honeycomb.io/v1/traces")


@pytest.mark.live  # runs a script or a tool
def test_the_collector_route_without_a_honeycomb_key_starts_nothing_and_says_why():
    machine = {name: value for name, value in ACCOUNTS.items() if name != "HONEYCOMB_API_KEY"}
    env = {name: value for name, value in os.environ.items() if name != "HONEYCOMB_API_KEY"}
    result = subprocess.run([ROOT / "bin" / "compose-env"], env={**env, **machine, "XRAY_EXPORT": "collector"},
                            capture_output=True, text=True, check=True)
    assert "HONEYCOMB_API_KEY" in result.stderr
    shell = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert not started_services(shell) & {"xray-daemon", "otel-collector-aws"}


# --- X-Ray JSON files ----------------------------------------------------------------

XRAY_MODEL = botocore.session.get_session().get_service_model("xray")


@pytest.mark.parametrize("operation, file", [("CreateSamplingRule", "xray.json"), ("CreateGroup", "xray-group.json")])
def test_xray_files_are_valid_input_for_their_api_call(operation, file):
    params = json.loads((ROOT / "aws" / "json" / file).read_text())
    validate_parameters(params, XRAY_MODEL.operation_model(operation).input_shape)


def test_sampling_rule_is_the_journals():
    rule = json.loads((ROOT / "aws" / "json" / "xray.json").read_text())["SamplingRule"]
    assert rule == {"RuleName": "Cruddur", "ResourceARN": "*", "Priority": 9000, "FixedRate": 0.1,
                    "ReservoirSize": 5, "ServiceName": "backend-flask", "ServiceType": "*", "Host": "*",
                    "HTTPMethod": "*", "URLPath": "*", "Version": 1}


def test_group_is_the_journals():
    group = json.loads((ROOT / "aws" / "json" / "xray-group.json").read_text())
    assert group == {"GroupName": "Cruddur", "FilterExpression": 'service("backend-flask")'}


# --- bin/ scripts, against a stand-in for the AWS CLI -----------------------------------

FAKE_AWS = """#!{python}
# Stands in for the AWS CLI: records its arguments; fails with $FAKE_AWS_ERROR when set.
import json, os, sys
with open(os.environ["FAKE_AWS_CALLS"], "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_AWS_ERROR"):
    sys.exit(os.environ["FAKE_AWS_ERROR"])
print("{{}}")
"""
SCRIPTS = {
    "xray-create-sampling-rule": ("create-sampling-rule", "xray.json", "CreateSamplingRule", "X-Ray sampling rule Cruddur"),
    "xray-create-group": ("create-group", "xray-group.json", "CreateGroup", "X-Ray group Cruddur"),
}


@pytest.fixture
def aws(tmp_path):
    """Runs a bin/ script from an unrelated folder with the fake `aws` first on PATH; returns
    the result and the argument lists the fake was called with."""
    fake = tmp_path / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    calls = tmp_path / "calls"

    def run(script: str, error: str = "", **env: str):
        base = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        result = subprocess.run(
            [ROOT / "bin" / script], cwd=tmp_path, capture_output=True, text=True,
            env={**base, "PATH": f"{tmp_path}:{os.environ['PATH']}", "FAKE_AWS_CALLS": str(calls),
                 "FAKE_AWS_ERROR": error, **env},
        )
        recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        return result, recorded

    return run


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_creates_from_the_json_file_in_the_environments_region(aws, script):
    subcommand, file, _, what = SCRIPTS[script]
    result, calls = aws(script, AWS_DEFAULT_REGION="eu-west-2")
    assert result.returncode == 0, result.stderr
    assert calls == [["xray", subcommand, "--cli-input-json", f"file://{ROOT}/aws/json/{file}", "--region", "eu-west-2"]]
    assert f"Created {what} in eu-west-2." in result.stdout


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_run_again_says_it_exists(aws, script):
    _, _, operation, what = SCRIPTS[script]
    error = f"An error occurred (InvalidRequestException) when calling the {operation} operation: {what[6:]} already exists"
    result, calls = aws(script, error=error, AWS_REGION="ca-central-1")
    assert result.returncode == 0
    assert result.stdout == f"{what} already exists in ca-central-1: nothing to do.\n"
    assert result.stderr == ""
    assert calls[0][-2:] == ["--region", "ca-central-1"]


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_reports_any_other_failure(aws, script):
    error = "An error occurred (AccessDeniedException) when calling the operation: not authorized"
    result, _ = aws(script, error=error, AWS_DEFAULT_REGION="eu-west-2")
    assert result.returncode != 0
    assert error in result.stderr and "Created" not in result.stdout


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_without_a_region_asks_for_one_and_calls_nothing(aws, script):
    result, calls = aws(script)
    assert result.returncode != 0
    assert "AWS_DEFAULT_REGION" in result.stderr
    assert calls == []


# --- Gitpod and Codespaces -------------------------------------------------------------

def published_ports() -> set[int]:
    return {int(port.split(":")[0]) for service in SERVICES.values() for port in service.get("ports", [])}


def test_compose_publishes_the_public_ports():
    assert published_ports() == PUBLIC_PORTS


def test_gitpod_makes_the_ports_public_and_opens_the_front_end():
    gitpod = yaml.safe_load((ROOT / ".gitpod.yml").read_text())
    ports = {entry["port"]: entry for entry in gitpod["ports"]}
    assert set(ports) == PUBLIC_PORTS
    assert all(entry["visibility"] == "public" for entry in ports.values())
    assert ports[3000]["onOpen"] == "open-browser"
    tasks = yaml.safe_dump(gitpod["tasks"])
    for step in ("make setup", "sudo ./aws/install", "bin/compose-env > .env"):
        assert step in tasks


def udp_ports() -> set[int]:
    return {int(port.split(":")[0]) for service in SERVICES.values() for port in service.get("ports", [])
            if port.endswith("/udp")}


def test_codespaces_forwards_the_tcp_ports_and_sets_up_the_same():
    devcontainer = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    # Codespaces and today's Gitpod forward TCP only; the backend reaches the X-Ray daemon inside compose.
    assert udp_ports() == {2000}
    assert set(devcontainer["forwardPorts"]) == PUBLIC_PORTS - udp_ports()
    assert set(devcontainer["portsAttributes"]) == {str(port) for port in devcontainer["forwardPorts"]}
    assert devcontainer["portsAttributes"]["3000"]["onAutoForward"] == "openBrowser"
    assert any("aws-cli" in feature for feature in devcontainer["features"])
    assert devcontainer["postCreateCommand"] == "make setup"
    assert devcontainer["postStartCommand"] == "bin/compose-env > .env"


def test_codespaces_makes_the_ports_public_once_they_are_forwarded():
    devcontainer = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert devcontainer["postAttachCommand"] == "bin/open-ports"
    assert any("github-cli" in feature for feature in devcontainer["features"])


def test_gitpod_says_what_its_udp_port_entry_does_and_does_not():
    text = (ROOT / ".gitpod.yml").read_text()
    entry = re.search(r"((?:\s*#.*\n)+)\s*- name: xray-daemon\n\s*port: 2000\n", text)
    assert entry, "the port 2000 entry has no comment above it"
    comment = entry.group(1)
    assert "UDP" in comment and "TCP" in comment and "nothing outside" in comment


FAKE_CLI = """#!{python}
# Stands in for a platform's CLI: records its arguments, prints $FAKE_OUTPUT filled with them.
import json, os, sys
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
print(os.environ.get("FAKE_OUTPUT", "").format(*sys.argv[1:]))
"""


@pytest.fixture
def platform_cli(tmp_path):
    """Runs a bin/ script with a fake `cli` first on PATH and no platform's variables but
    `env`; returns the result and the argument lists the fake was called with."""
    def run(script: str, cli: str, output: str = "", **env: str):
        fake = tmp_path / cli
        fake.write_text(FAKE_CLI.format(python=sys.executable))
        fake.chmod(0o755)
        calls = tmp_path / "calls"
        base = {name: value for name, value in os.environ.items()
                if not name.startswith(("GITPOD_", "CODESPACE", "HONEYCOMB_", "AWS_"))}
        result = subprocess.run([ROOT / "bin" / script], cwd=tmp_path, capture_output=True, text=True,
                                env={**base, "PATH": f"{tmp_path}:{os.environ['PATH']}", "FAKE_CALLS": str(calls),
                                     "FAKE_OUTPUT": output, **env})
        recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        return result, recorded

    return run


@pytest.mark.live  # runs a script or a tool
def test_open_ports_makes_codespaces_backend_and_collector_public(platform_cli):
    result, calls = platform_cli("open-ports", "gh", **CODESPACES)
    assert result.returncode == 0, result.stderr
    assert calls == [["codespace", "ports", "visibility", "4567:public", "4318:public", "16686:public",
                      "-c", "cruddur-example"]]


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("machine", [{}, GITPOD], ids=["localhost", "gitpod-classic"])
def test_open_ports_does_nothing_where_the_ports_are_already_reachable(platform_cli, machine):
    result, calls = platform_cli("open-ports", "gh", **machine)
    assert result.returncode == 0 and calls == []


@pytest.mark.live  # runs a script or a tool
@pytest.mark.parametrize("key, ports", [(ACCOUNTS["HONEYCOMB_API_KEY"], (3000, 4318, 4567)),
                                        ("", (3000, 4318, 4567, 16686))], ids=["honeycomb", "jaeger"])
def test_compose_env_in_todays_gitpod_opens_each_port_for_its_url(platform_cli, key, ports):
    url = "https://{3}--cruddur-example.us01.gitpod.dev"
    result, calls = platform_cli("compose-env", "gitpod", output=url, GITPOD_ENVIRONMENT_ID="cruddur-example",
                                 HONEYCOMB_API_KEY=key)
    assert result.returncode == 0, result.stderr
    shell = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert service_env("backend-flask", shell)["FRONTEND_URL"] == "https://3000--cruddur-example.us01.gitpod.dev"
    assert service_env("backend-flask", shell)["BACKEND_URL"] == "https://4567--cruddur-example.us01.gitpod.dev"
    assert service_env("frontend-react-js", shell)["REACT_APP_OTEL_COLLECTOR_URL"] == \
        "https://4318--cruddur-example.us01.gitpod.dev"
    assert sorted(calls, key=lambda call: int(call[3])) == [
        ["environment", "port", "open", str(port), "--name", f"cruddur-{port}"] for port in ports]


def test_readme_says_which_platform_reads_which_file():
    section = (ROOT / "README.md").read_text().split("\n## Running with Docker Compose", 1)[1].split("\n## ", 1)[0]
    rows = {cells[1].strip(): cells[2].strip() for line in section.splitlines() if line.startswith("| ")
            for cells in [line.split("|")]}
    reads = {platform: files for platform, files in rows.items()
             if platform.startswith(("GitHub Codespaces", "today's Gitpod", "Gitpod Classic"))}
    assert len(reads) == 3
    for platform, files in reads.items():
        expected = "`.gitpod.yml`" if platform.startswith("Gitpod Classic") else "`.devcontainer/devcontainer.json`"
        assert files.startswith(expected), platform


def test_the_make_target_the_set_ups_run_installs_backend_and_front_end():
    setup = re.search(r"^setup:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert setup and "VENV" in setup.group(1) and "node_modules" in setup.group(1)


# --- Dockerfiles -------------------------------------------------------------------------

DOCKERFILES = [BACKEND_DIR / "Dockerfile", FRONTEND_DIR / "Dockerfile"]


def instructions(dockerfile: Path, name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(name + " ")]


def test_each_compose_build_has_a_dockerfile():
    assert {ROOT / service["build"] / "Dockerfile" for service in SERVICES.values() if "build" in service} == set(DOCKERFILES)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_base_is_supported(dockerfile):
    # End of life by November 2026: Python 3.10 and older, Node.js 21 and older,
    # Debian 11 (bullseye) and older.
    for base in instructions(dockerfile, "FROM"):
        image = base.split()[0]
        assert not re.search(r"stretch|buster|bullseye|latest", image), image
        if python := re.match(r"python:3\.(\d+)", image):
            assert int(python.group(1)) >= 11, image
        if node := re.match(r"node:(\d+)", image):
            assert int(node.group(1)) >= 22, image


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_runs_as_a_user_without_flask_env(dockerfile):
    users = instructions(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0")
    assert "FLASK_ENV" not in dockerfile.read_text()


@pytest.mark.live
def test_front_end_command_serves_the_app_with_composes_urls(tmp_path):
    """The front end's CMD, run from a copy of its folder (its build writes dist/), with the
    environment compose gives it in Gitpod with a Honeycomb key: the page it serves carries
    those URLs."""
    (cmd,) = instructions(FRONTEND_DIR / "Dockerfile", "CMD")
    app = tmp_path / "frontend-react-js"
    shutil.copytree(FRONTEND_DIR, app, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (app / "node_modules").symlink_to(FRONTEND_DIR / "node_modules")
    env = service_env("frontend-react-js",
                      compose_env_output({**GITPOD, "HONEYCOMB_API_KEY": ACCOUNTS["HONEYCOMB_API_KEY"]}))
    port = free_port()
    log = tmp_path / "output"
    with log.open("w") as output:
        process = subprocess.Popen(json.loads(cmd), cwd=app, env={**os.environ, **env, "PORT": str(port)},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = wait_for_url(process, log)
        page = requests.get(url, timeout=5)
        assert page.status_code == 200 and '<div id="root">' in page.text
        bundle = "".join(requests.get(url + src.lstrip("/"), timeout=5).text
                         for src in re.findall(r'<script type="module" crossorigin src="([^"]+)"', page.text))
        assert env["REACT_APP_BACKEND_URL"] in bundle
        assert env["REACT_APP_OTEL_COLLECTOR_URL"] in bundle
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=10)


def wait_for_url(process: subprocess.Popen, log: Path, timeout: float = 60) -> str:
    """The URL Vite prints once it serves; the command's output if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if found := re.search(r"Local:\s+(http://\S+/)", re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())):
            return found.group(1)
        time.sleep(0.2)
    pytest.fail(f"the front end's command did not serve:\n{log.read_text()}")


# --- the front end's lint ------------------------------------------------------------------

# A hook called conditionally, an image with no text alternative and an unused import.
LINT_PROBE = """import { useEffect, useState } from 'react';
import { App } from './App';

export function Probe({ flag }) {
  const [count] = useState(0);
  if (flag) useEffect(() => { document.title = `${count}`; });
  return <img src="/cruddur.png" />;
}
"""


def test_make_test_lints_the_front_end_allowing_no_warning():
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    assert "npm run lint" in recipe
    lint = json.loads((FRONTEND_DIR / "package.json").read_text())["scripts"]["lint"]
    assert lint.startswith("eslint ") and "--max-warnings=0" in lint.split()


@pytest.mark.live  # runs a script or a tool
def test_lint_enforces_the_hooks_and_accessibility_rules():
    eslint = FRONTEND_DIR / "node_modules" / ".bin" / "eslint"
    assert eslint.exists(), "the front end's packages are not installed (`make setup`)"
    result = subprocess.run([eslint, "--format", "json", "--stdin", "--stdin-filename", "src/Probe.jsx"],
                            input=LINT_PROBE, cwd=FRONTEND_DIR, capture_output=True, text=True)
    (report,) = json.loads(result.stdout)
    assert {message["ruleId"] for message in report["messages"]} == {
        "react-hooks/rules-of-hooks", "jsx-a11y/alt-text", "no-unused-vars"}


# --- secrets, account ids and personal URLs ---------------------------------------------

# Shapes of real credentials. A match is allowed when it says it is fake, as the tests'
# values do ("hcaik_test_not_a_real_key_…", "AKIAIOSFODNN7EXAMPLE").
SECRETS = {
    "AWS access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "AWS secret access key": r"(?i:aws_secret_access_key)\W{1,5}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
    "AWS account id": r"arn:aws[\w-]*:[\w-]+:[\w-]*:\d{12}:|(?<![\w-])\d{12}(?![\w-])",
    "Honeycomb key": r"\bhc[a-z]{2}k_\w{20,}|(?i:x-honeycomb-team|honeycomb_api_key)\W{1,5}[A-Za-z0-9]{22,32}\b",
    "Rollbar token": r"(?i:rollbar\w*)\W{1,5}[0-9a-f]{32}\b",
}
# Addresses of one person's workspace or account. Not looked for in package-lock.json,
# which npm fills from the registry with the packages' own links, their authors' GitHub pages among them.
PERSONAL = {
    "Gitpod workspace URL": r"[\w-]+\.ws-[a-z0-9]+\.gitpod\.io",
    "Codespaces URL": r"[\w-]+-\d{2,5}\.(?:preview\.)?app\.github\.dev",
    "GitHub account URL": r"github\.com/[\w.-]+",
}
FAKE = re.compile(r"(?i)fake|test|example|dummy|not_a_real")


def leaks(text: str, patterns: dict[str, str]) -> list[str]:
    return [f"{kind}: {match.group()}" for kind, pattern in patterns.items()
            for match in re.finditer(pattern, text) if not FAKE.search(match.group())]


@pytest.mark.parametrize("text, kind", [
    ("AKIA" + "Q7" * 8, "AWS access key id"),
    ("aws_secret_access_key = " + "Zq3/" * 10, "AWS secret access key"),
    ("arn:aws:xray:us-east-1:" + "4" * 12 + ":group/Cruddur/X", "AWS account id"),
    ("Account: " + "31" * 6, "AWS account id"),
    ("hcai" + "k_01" + "q" * 54, "Honeycomb key"),
    ("x-honeycomb-team=" + "Ab1" * 8, "Honeycomb key"),
    ("ROLLBAR_ACCESS_TOKEN: " + "c0ffee" * 5 + "42", "Rollbar token"),
    ("https://4567-someone-awsbootcampcru-" + "q1w2e3.ws-us94" + ".gitpod.io", "Gitpod workspace URL"),
    ("https://fluffy-space-guide-" + "4567.app.github.dev", "Codespaces URL"),
    ("https://github" + ".com/someone/aws-bootcamp-cruddur-2023", "GitHub account URL"),
])
def test_leak_patterns_find_real_looking_values(text, kind):
    assert [found.split(":")[0] for found in leaks(text, SECRETS | PERSONAL)] == [kind]


def test_leak_patterns_allow_what_says_it_is_fake():
    assert not leaks("AKIAIOSFODNN7EXAMPLE hcaik_test_not_a_real_key_0123456789 "
                     "248959df-3079-4947-b847-123456789012", SECRETS | PERSONAL)


@pytest.mark.live  # runs a script or a tool
def test_no_secret_account_id_or_personal_url_is_in_the_repository():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or b"\0" in (content := path.read_bytes()):
            continue
        text = content.decode("utf-8", "replace")
        patterns = SECRETS if path.name == "package-lock.json" else SECRETS | PERSONAL
        found += [f"{name}: {leak}" for leak in leaks(text, patterns)]
    assert not found
