#!/usr/bin/env python3
"""Peer: FastAPI + uvicorn recommendation server backed by Redis.

  fastapi_server.py --port P --redis-url redis://127.0.0.1:6379/0 [--host 127.0.0.1]

GET /v1/recommendations/{user_id} -> the JSON string stored under Redis key
`recs:{user_id}`, returned byte-for-byte (media type application/json);
404 {"error":"not found","user_id":...} when the key is absent;
503 {"error":"redis unavailable",...} when Redis cannot be reached.
GET /healthz -> {"ok":true} (does not touch Redis).

One uvicorn worker, uvloop/httptools when installed, access log off. Prints
one JSON line on stdout once the server is listening, e.g.
  {"peer":"fastapi","event":"listening","host":"127.0.0.1","port":8000,...}
Exits non-zero with a message if Redis is unreachable at start-up or the port
cannot be bound.
"""

import argparse
import asyncio
import os
import sys
from contextlib import asynccontextmanager

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__

from _interchange import PeerError, emit, run_main


def build_app(redis_url, on_started=None):
    import redis.asyncio as aioredis
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response
    from redis.exceptions import RedisError

    state = {}

    @asynccontextmanager
    async def lifespan(app):
        client = aioredis.from_url(redis_url, decode_responses=False)
        state["redis"] = client
        task = asyncio.ensure_future(on_started()) if on_started else None
        try:
            yield
        finally:
            if task:
                task.cancel()
            await client.aclose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/v1/recommendations/{user_id}")
    async def recommendations(user_id: str):
        try:
            body = await state["redis"].get(f"recs:{user_id}")
        except (RedisError, OSError) as e:
            return JSONResponse({"error": "redis unavailable", "detail": str(e)}, status_code=503)
        if body is None:
            return JSONResponse({"error": "not found", "user_id": user_id}, status_code=404)
        return Response(content=body, media_type="application/json")

    @app.get("/healthz")
    async def healthz():
        return Response(content=b'{"ok":true}', media_type="application/json")

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()

    try:
        import fastapi
        import redis
        import uvicorn
    except ImportError as e:
        raise PeerError(f"cannot import fastapi/uvicorn/redis ({e}); run bench/setup-peers.sh") from None
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"

    # Fail early, with a clear message, if Redis is not reachable.
    async def ping():
        import redis.asyncio as aioredis

        client = aioredis.from_url(args.redis_url, socket_connect_timeout=5)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except (redis.exceptions.RedisError, OSError, ValueError) as e:
        raise PeerError(f"cannot reach Redis at {args.redis_url}: {e}") from None

    started = {}
    server = None

    async def announce():
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        started["ok"] = True
        emit({"peer": "fastapi", "event": "listening", "host": args.host, "port": args.port,
              "pid": os.getpid(), "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__,
              "redis_py": redis.__version__, "loop": loop, "http": http, "workers": 1})

    app = build_app(args.redis_url, announce)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, workers=1, loop=loop, http=http,
        access_log=False, log_level="warning", lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    if not started:
        raise PeerError(f"server did not start on {args.host}:{args.port} (see messages above)")


if __name__ == "__main__":
    run_main(main)
