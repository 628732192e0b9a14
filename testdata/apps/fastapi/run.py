"""Start uvicorn from Python, with uvicorn[standard]'s pieces asked for by
name (uvloop, httptools, websockets-sansio) so that a missing native library is an
error rather than a silent fallback to asyncio/h11.

    /app/.venv/bin/python /app/fastapi/run.py PORT
"""

import sys

import uvicorn

from main import app

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        log_level="info",
    )
