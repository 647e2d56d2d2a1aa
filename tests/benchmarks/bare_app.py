"""The baseline of the read benchmark: a bare FastAPI app that answers `GET /bare/{name}` with
the bytes of `{name}.json` in a folder, as `application/json`: no middleware, no auth, no
database, nothing encoded per request. Run by uvicorn as its own process, with the settings
`itinera serve` gives uvicorn (infra/cli/roles.py: one worker, log level info, uvicorn's
loggers unconfigured, no access log as the benchmark sets it, and its default event loop and
HTTP parser).

    .venv/bin/python -m tests.benchmarks.bare_app --port 18301 --bodies DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response


def bare_app(bodies: Path) -> FastAPI:
    loaded = {path.stem: path.read_bytes() for path in bodies.glob("*.json")}
    app = FastAPI()

    @app.get("/bare/{name}")
    async def body(name: str) -> Response:
        found = loaded.get(name)
        if found is None:
            raise HTTPException(404)
        return Response(found, media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        bare_app(args.bodies),
        host="127.0.0.1",
        port=args.port,
        workers=1,
        log_level="info",
        log_config=None,
        access_log=False,  # as Itinera is measured (ITINERA_ACCESS_LOG=false)
    )


if __name__ == "__main__":
    main()
