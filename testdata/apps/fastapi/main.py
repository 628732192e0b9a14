"""A FastAPI application, served by uvicorn[standard] (see run.py)."""

import asyncio

import watchfiles._rust_notify  # noqa: F401  (uvicorn[standard]'s reloader: a Rust extension)
import yaml
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root():
    loop = asyncio.get_running_loop()
    return {
        "message": "Hello from FastAPI",
        "loop": type(loop).__module__,
        "libyaml": bool(yaml.__with_libyaml__),
    }
