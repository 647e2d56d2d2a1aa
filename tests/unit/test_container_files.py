"""The container files (infra/container: Dockerfile, entrypoint, healthcheck, compose.yaml,
and the root .dockerignore) agree with the code they run and with the README.

No Docker engine runs on our machines, so nothing here builds or starts a container: the
files are parsed, and the entrypoint and healthcheck scripts run for real under `sh` in their
dry-run mode (CONTAINER_DRY_RUN=1 prints the command instead of running it). Every command a
ROLE maps to is then resolved against the real `itinera` command tree, options included."""

from __future__ import annotations

import fnmatch
import http.server
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from infra.cli import cli
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "infra" / "container"
DOCKERFILE = CONTAINER / "Dockerfile"
ENTRYPOINT = CONTAINER / "entrypoint.sh"
HEALTHCHECK = CONTAINER / "healthcheck.sh"
COMPOSE = CONTAINER / "compose.yaml"

# The roles the issue names; the entrypoint may have more (setup, cli), never fewer.
ISSUE_ROLES = {"api", "relay", "worker", "planner", "migrate", "serve"}
SERVING_ROLES = {"api", "serve"}  # listen on PORT, /health/ there
METRICS_ROLES = {"relay", "worker", "planner"}  # /health/ and /metrics on ITINERA_METRICS_PORT
IMAGE_VARIABLES = {"ROLE", "PORT"}  # the image's own, documented in the README
BUILD_TOOLS = {
    "build-essential", "gcc", "g++", "cc", "clang", "make", "cmake", "cpp",
    "python3-dev", "libpq-dev", "libc6-dev", "rustc", "cargo",
}  # fmt: skip


# ---------------------------------------------------------------------------------- parsing


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def itinera_services() -> dict[str, dict[str, Any]]:
    """The services built from our Dockerfile (the others are PostgreSQL, Kafka, Redis)."""
    return {name: s for name, s in services().items() if "build" in s}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so keys can be checked"
    return {str(key): str(value) for key, value in env.items()}


def role_of(service: dict[str, Any]) -> str:
    return environment(service)["ROLE"]


def with_role(role: str) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in itinera_services().items() if role_of(s) == role}


@cache
def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (keyword, arguments) per stage, continuation lines joined, comments and
    parser directives dropped. Instructions before the first FROM (global ARGs) are stage 0."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    stages: list[list[tuple[str, str]]] = [[]]
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def global_args() -> dict[str, str]:
    return dict(arg.split("=", 1) for keyword, arg in dockerfile_stages()[0] if keyword == "ARG")


def final_stage() -> list[tuple[str, str]]:
    return dockerfile_stages()[-1]


def image_env() -> dict[str, str]:
    """The runtime stage's ENV: what every container starts with."""
    env: dict[str, str] = {}
    for keyword, arguments in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str, str | None]]:
    """COPY instructions of a stage as (sources, destination, --from stage or None)."""
    found = []
    for keyword, arguments in stage:
        if keyword != "COPY":
            continue
        words = shlex.split(arguments)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        found.append((paths[:-1], paths[-1], origin))
    return found


def exec_form(arguments: str) -> list[str]:
    words = yaml.safe_load(arguments)  # a JSON array is YAML too
    assert isinstance(words, list), f"exec form expected: {arguments}"
    return [str(word) for word in words]


def entrypoint_roles() -> list[str]:
    """The ROLES the entrypoint lists in its error message."""
    found = re.search(r'^ROLES="([^"]+)"$', ENTRYPOINT.read_text(), re.MULTILINE)
    assert found, "entrypoint.sh defines ROLES"
    return found.group(1).split()


def entrypoint_cases() -> set[str]:
    """The role patterns of the entrypoint's `case` (the `*)` fallback left out)."""
    patterns = re.findall(r"^\s+([a-z][a-z| ]*)\)\s*$", ENTRYPOINT.read_text(), re.MULTILINE)
    return {role.strip() for pattern in patterns for role in pattern.split("|")}


def readme_container_section() -> str:
    text = (ROOT / "README.md").read_text()
    operating = re.search(r"^## Operating Itinera\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert operating, "README.md has a `## Operating Itinera` section"
    sub = re.search(
        r"^### The container image and compose\n(.*?)(?=^### |\Z)", operating.group(1), re.M | re.S
    )
    assert sub, "the operator section has `### The container image and compose`"
    return sub.group(1)


# ---------------------------------------------------------------------------- the scripts


def run_script(
    script: Path, env: dict[str, str], *args: str, dry_run: bool = True
) -> subprocess.CompletedProcess[str]:
    """The script under POSIX sh with only `env`, and this machine's PATH (the image's has
    /opt/venv/bin) with this interpreter's `python` first."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    full = {**env, "PATH": path}
    if dry_run:
        full["CONTAINER_DRY_RUN"] = "1"
    return subprocess.run(
        ["sh", str(script), *args], env=full, capture_output=True, text=True, timeout=30
    )


def planned_commands(env: dict[str, str], *args: str) -> list[list[str]]:
    result = run_script(ENTRYPOINT, env, *args)
    assert result.returncode == 0, result.stderr
    return [shlex.split(line) for line in result.stdout.splitlines()]


def resolve_itinera(argv: list[str]) -> list[str]:
    """The path of the `itinera` subcommand `argv` runs (["keys", "rotate"]), its options
    parsed as the CLI would: a name that is no subcommand, or an option it does not have,
    fails here. (Typer ships its own click, so groups are told by their `commands`.)"""
    assert argv[0] == "itinera", argv
    command: Any = typer.main.get_command(cli)
    context = command.context_class(command, info_name="itinera")
    rest, path = argv[1:], list[str]()
    while isinstance(getattr(command, "commands", None), dict):
        assert rest, f"{argv} names a group, not a command"
        name, rest = rest[0], rest[1:]
        sub = command.get_command(context, name)
        assert sub is not None, f"`itinera {name}` is no subcommand ({shlex.join(argv)})"
        command, path = sub, [*path, name]
        if isinstance(getattr(command, "commands", None), dict):
            context = command.context_class(command, info_name=name, parent=context)
    command.make_context(path[-1], list(rest), parent=context)  # fails on an unknown option
    return path


def container_env(service: dict[str, Any]) -> dict[str, str]:
    """What a compose service's container starts with: the image's ENV, then compose's."""
    return {**image_env(), **environment(service)}


def health_url(env: dict[str, str]) -> str:
    result = run_script(HEALTHCHECK, env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


# ------------------------------------------------------------------------------ entrypoint


def test_the_entrypoint_lists_exactly_the_roles_it_handles() -> None:
    assert set(entrypoint_roles()) == entrypoint_cases()
    assert set(entrypoint_roles()) >= ISSUE_ROLES


@pytest.mark.parametrize("role", sorted(ISSUE_ROLES))
def test_each_role_of_the_issue_execs_its_own_itinera_subcommand(role: str) -> None:
    [command] = planned_commands({"ROLE": role})
    assert command[:2] == ["itinera", role]
    assert resolve_itinera(command) == [role]


def test_serving_roles_listen_on_every_interface_on_port_and_pass_arguments_on() -> None:
    [api] = planned_commands({"ROLE": "api", "PORT": "9000"}, "--workers", "2")
    assert api == ["itinera", "api", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"]
    resolve_itinera(api)
    [serve] = planned_commands({"ROLE": "serve"})
    assert serve == ["itinera", "serve", "--host", "0.0.0.0", "--port", "8000"]
    resolve_itinera(serve)


def test_setup_migrates_creates_topics_and_makes_the_first_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    commands = planned_commands({"ROLE": "setup", "ITINERA_KEYS_DIR": str(keys)})
    assert commands == [
        ["itinera", "migrate"],
        ["itinera", "topics", "create"],
        ["itinera", "keys", "rotate"],
    ]
    for command in commands:
        resolve_itinera(command)


def test_setup_run_again_adds_no_key_to_a_folder_that_has_a_signer(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "signing").write_text("20270101T000000-abcdef 0.0\n")
    result = run_script(ENTRYPOINT, {"ROLE": "setup", "ITINERA_KEYS_DIR": str(keys)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["itinera migrate", "itinera topics create"]
    assert "has a signing key already" in result.stderr


def test_setup_finds_the_keys_folder_where_settings_do_without_itinera_keys_dir(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    assert settings.keys_folder == data / "keys"
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "signing").write_text("k 0\n")
    result = run_script(ENTRYPOINT, {"ROLE": "setup", "ITINERA_DATA_DIR": str(data)})
    assert "itinera keys rotate" not in result.stdout


def test_setup_refuses_arguments_rather_than_ignoring_them() -> None:
    result = run_script(ENTRYPOINT, {"ROLE": "setup"}, "keys", "rotate")
    assert result.returncode != 0
    assert "ROLE=setup takes no arguments" in result.stderr
    assert result.stdout == ""


def test_cli_role_runs_any_itinera_command_such_as_a_key_rotation() -> None:
    [command] = planned_commands({"ROLE": "cli"}, "keys", "rotate", "--now")
    assert command == ["itinera", "keys", "rotate", "--now"]
    assert resolve_itinera(command) == ["keys", "rotate"]


@pytest.mark.parametrize("env", [{"ROLE": "bogus"}, {"ROLE": ""}, {}])
def test_an_unknown_or_missing_role_fails_with_one_line_naming_the_valid_ones(
    env: dict[str, str],
) -> None:
    result = run_script(ENTRYPOINT, env)
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert f"unknown ROLE '{env.get('ROLE', '')}'" in line
    for role in entrypoint_roles():
        assert role in line.split("valid:")[1].split()


def test_without_dry_run_the_entrypoint_really_execs_the_command(tmp_path: Path) -> None:
    # A stand-in `itinera` first on PATH records what it was given: the real exec path.
    fake = tmp_path / "itinera"
    fake.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    fake.chmod(0o755)
    env = {"ROLE": "api", "PORT": "8123", "PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "--workers", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "api|--host|0.0.0.0|--port|8123|--workers|3|"


# ----------------------------------------------------------------------------- healthcheck


@pytest.mark.parametrize("role", ["migrate", "setup", "cli"])
def test_one_shots_have_nothing_to_check(role: str) -> None:
    assert health_url({"ROLE": role}) == "nothing to check"


def test_a_metrics_role_without_a_metrics_port_has_nothing_to_check() -> None:
    assert health_url({"ROLE": "relay"}) == "nothing to check"
    assert health_url({"ROLE": "relay", "ITINERA_METRICS_PORT": "9100"}) == (
        "http://127.0.0.1:9100/health/"
    )


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_healthcheck_asks_health_for_real(
    health_server: http.server.ThreadingHTTPServer,
) -> None:
    port = str(health_server.server_address[1])
    healthy = run_script(HEALTHCHECK, {"ROLE": "api", "PORT": port}, dry_run=False)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr

    _Health.status = 503
    try:
        env = {"ROLE": "worker", "ITINERA_METRICS_PORT": port}
        failing = run_script(HEALTHCHECK, env, dry_run=False)
    finally:
        _Health.status = 200
    assert failing.returncode == 1
    assert "unhealthy" in failing.stdout and "503" in failing.stdout


def test_the_healthcheck_fails_when_nothing_listens() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = str(server.server_address[1])
    server.server_close()  # the port is free again: nothing answers there
    result = run_script(HEALTHCHECK, {"ROLE": "serve", "PORT": port}, dry_run=False)
    assert result.returncode == 1
    assert "unhealthy" in result.stdout


# ------------------------------------------------------------------------------ Dockerfile


def test_both_stages_come_from_the_same_slim_python_base() -> None:
    froms = [stage[0][1].split() for stage in dockerfile_stages()[1:]]
    assert len(froms) >= 2, "a multi-stage build"
    bases = {words[0].replace("${PYTHON_IMAGE}", global_args()["PYTHON_IMAGE"]) for words in froms}
    assert len(bases) == 1
    [base] = bases
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_the_data_and_keys_folders_belong_to_the_user_the_image_runs_as() -> None:
    [user] = [a for k, a in final_stage() if k == "USER"]
    uid = user.split(":")[0]
    runs = " ".join(a for k, a in final_stage() if k == "RUN")
    created = re.search(rf"useradd [^&;]*--uid {uid} [^&;]*?(\w+)\s*(&&|;|$)", runs)
    assert created, f"no useradd of uid {uid}"
    name = created.group(1)
    for folder in (image_env()["ITINERA_DATA_DIR"], image_env()["ITINERA_KEYS_DIR"]):
        assert re.search(rf"install -d -o {name} [^&;]* {re.escape(folder)}(\s|$)", runs), folder


def test_the_final_stage_installs_no_build_tools() -> None:
    for keyword, arguments in final_stage():
        if keyword == "RUN":
            words = set(re.split(r"[\s;&|]+", arguments))
            assert not words & BUILD_TOOLS, arguments
    # ...and takes from the builder only the installed environment.
    builder = dockerfile_stages()[1][0][1].split()[-1]
    from_builder = [(src, dest) for src, dest, origin in copies(final_stage()) if origin]
    assert from_builder == [(["/opt/venv"], "/opt/venv")]
    assert all(origin in (None, builder) for _, _, origin in copies(final_stage()))


def test_the_builder_installs_every_package_of_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in included}
    copied = {src for sources, _, _ in copies(dockerfile_stages()[1]) for src in sources}
    assert packages <= copied
    assert {"pyproject.toml", "README.md"} <= copied  # pyproject's readme is part of the build


def test_entrypoint_and_healthcheck_are_the_scripts_of_this_folder() -> None:
    installed = {
        dest: sources[0] for sources, dest, origin in copies(final_stage()) if origin is None
    }
    [entrypoint] = [exec_form(a) for k, a in final_stage() if k == "ENTRYPOINT"]
    assert installed[entrypoint[-1]] == "infra/container/entrypoint.sh"
    [healthcheck] = [a for k, a in final_stage() if k == "HEALTHCHECK"]
    command = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert installed[command[0]] == "infra/container/healthcheck.sh"
    for source in installed.values():
        assert (ROOT / source).is_file()


def test_the_image_environment_names_real_settings_and_a_real_default_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = image_env()
    fields = {f"ITINERA_{name.upper()}" for name in Settings.model_fields}
    itinera = {key: value for key, value in env.items() if key.startswith("ITINERA_")}
    assert set(itinera) <= fields
    for key, value in itinera.items():
        monkeypatch.setenv(key, value)
    Settings(_env_file=None)  # type: ignore[call-arg]  # the values are valid too
    assert env["ROLE"] in entrypoint_roles()
    exposed = [a for k, a in final_stage() if k == "EXPOSE"]
    assert exposed == [env["PORT"]]


def _ignored(name: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps a top-level name out of the context (last match wins)."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatch.fnmatch(name, pattern.lstrip("!")):
            ignored = not negated
    return ignored


def test_the_build_context_holds_what_the_build_copies_and_no_secrets() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in dockerfile_stages()[1:]:
        for sources, _, origin in copies(stage):
            if origin is None:
                for source in sources:
                    assert not _ignored(source.split("/")[0], patterns), source
    for secret_or_local in (".env", ".itinera", ".venv", ".git", "tests", ".mypy_cache"):
        assert _ignored(secret_or_local, patterns), secret_or_local


# --------------------------------------------------------------------------------- compose


def test_compose_runs_every_part_of_distributed_mode() -> None:
    roles = sorted(role_of(s) for s in itinera_services().values())
    assert roles == ["api", "api", "planner", "relay", "relay", "setup", "worker"]
    images = {s["image"] for s in services().values() if "build" not in s}
    assert any(image.startswith("postgres:") for image in images)
    assert any(image.startswith("redis:") for image in images)
    assert any(image.startswith("apache/kafka:") for image in images)


def test_every_compose_role_is_a_role_of_the_image_running_real_commands() -> None:
    for name, service in itinera_services().items():
        assert role_of(service) in entrypoint_roles(), name
        commands = planned_commands(container_env(service))
        assert commands, name
        for command in commands:
            resolve_itinera(command)


def test_itinera_services_share_one_image_built_from_the_dockerfile() -> None:
    built = itinera_services()
    assert len({s["image"] for s in built.values()}) == 1
    for name, service in built.items():
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context == ROOT, name
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE, name


def test_compose_sets_only_real_settings_and_the_image_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = {f"ITINERA_{name.upper()}" for name in Settings.model_fields}
    for key in list(os.environ):
        if key.startswith("ITINERA_"):
            monkeypatch.delenv(key)
    for name, service in itinera_services().items():
        env = environment(service)
        for key in env:
            assert key in fields or key in IMAGE_VARIABLES, f"{name}: {key} is no setting"
        with monkeypatch.context() as patched:
            for key, value in env.items():
                if key.startswith("ITINERA_"):
                    patched.setenv(key, value)
            Settings(_env_file=None)  # type: ignore[call-arg]  # the values are valid too


def test_api_ports_line_up_with_the_entrypoint_and_the_healthcheck() -> None:
    apis = with_role("api")
    host_ports = []
    for name, service in apis.items():
        [command] = planned_commands(container_env(service))
        listens = int(command[command.index("--port") + 1])
        assert port_of(health_url(container_env(service))) == listens, name
        assert service["ports"], name
        for mapping in service["ports"]:
            *host, container = str(mapping).split(":")
            assert int(container) == listens, name
            host_ports.append(host[-1])
    all_host_ports = [
        str(mapping).split(":")[-2] for s in services().values() for mapping in s.get("ports", [])
    ]
    assert len(all_host_ports) == len(set(all_host_ports)), "a host port published twice"
    assert len(host_ports) == len(apis) == 2


def test_metrics_roles_serve_health_on_their_metrics_port() -> None:
    for role in METRICS_ROLES:
        for name, service in with_role(role).items():
            env = container_env(service)
            port = int(env["ITINERA_METRICS_PORT"])
            assert port_of(health_url(env)) == port, name
            assert str(port) in [str(p) for p in service.get("expose", [])], name


def test_connection_settings_name_the_compose_services() -> None:
    postgres, kafka, redis = (services()[name] for name in ("postgres", "kafka", "redis"))
    pg_env, kafka_env = environment(postgres), environment(kafka)
    for name, service in itinera_services().items():
        env = environment(service)
        database = urlsplit(env["ITINERA_DATABASE_URL"])
        assert (database.hostname, database.port) == ("postgres", 5432), name
        assert database.username == pg_env["POSTGRES_USER"], name
        assert database.password == pg_env["POSTGRES_PASSWORD"], name
        assert database.path == "/" + pg_env["POSTGRES_DB"], name
        assert urlsplit(env["ITINERA_REDIS_URL"]).hostname == "redis", name
        advertised = kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        bootstrap = env["ITINERA_KAFKA_BOOTSTRAP_SERVERS"]
        assert any(listener.endswith(f"://{bootstrap}") for listener in advertised), name
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    kafka_env = environment(services()["kafka"])
    assert set(kafka_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(kafka_env["KAFKA_NODE_ID"] + "@")
    for name, service in services().items():
        assert "zookeeper" not in name.lower()
        assert "zookeeper" not in str(service.get("image", "")).lower()
        assert not any("ZOOKEEPER" in key for key in environment(service)), name


def test_services_wait_for_what_they_need_in_the_state_they_need_it() -> None:
    has_image_healthcheck = any(k == "HEALTHCHECK" for k, _ in final_stage())
    for name, service in services().items():
        for needed, condition in service.get("depends_on", {}).items():
            target = services()[needed]
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in target or ("build" in target and has_image_healthcheck)
            else:
                assert condition["condition"] == "service_completed_successfully", name
                assert target.get("restart") == "no", f"{needed} is a one-shot"
    setup = services()["setup"]
    assert set(setup["depends_on"]) == {"postgres", "kafka"}
    for name, service in itinera_services().items():
        if name != "setup":
            conditions = {k: v["condition"] for k, v in service["depends_on"].items()}
            assert conditions["setup"] == "service_completed_successfully", name


def test_the_keys_volume_is_shared_by_setup_and_every_api() -> None:
    keys_dir = image_env()["ITINERA_KEYS_DIR"]
    for name in ["setup", *with_role("api")]:
        service = services()[name]
        assert "ITINERA_KEYS_DIR" not in environment(service), "the image's folder is used"
        mounts = [str(v).split(":") for v in service["volumes"]]
        assert ["keys", keys_dir] in mounts, name
    assert "keys" in compose()["volumes"]


def test_containers_may_drain_for_the_whole_shutdown_grace() -> None:
    for name, service in itinera_services().items():
        env = environment(service)
        default = Settings.model_fields["shutdown_grace_seconds"].default
        grace = float(env.get("ITINERA_SHUTDOWN_GRACE_SECONDS", default))
        stop = re.fullmatch(r"(\d+)s", str(service["stop_grace_period"]))
        assert stop, name
        assert int(stop.group(1)) > grace, name


# ---------------------------------------------------------------------------------- README


def test_the_readme_operator_section_documents_this_image_and_compose() -> None:
    section = readme_container_section()
    assert "docker build -f infra/container/Dockerfile -t itinera ." in section
    assert "docker compose -f infra/container/compose.yaml up" in section
    for role in entrypoint_roles():
        assert f"`{role}`" in section, f"ROLE {role} undocumented"
    for name in services():
        assert f"`{name}`" in section, f"service {name} undocumented"
    for variable in IMAGE_VARIABLES:
        assert f"`{variable}`" in section, variable
    assert "`CONTAINER_DRY_RUN=1`" in section
    for mapping in (m for s in services().values() for m in s.get("ports", [])):
        assert str(mapping).split(":")[-2] in section, f"host port of {mapping} undocumented"
    assert "not built or run" in section  # honest about what was checked here
