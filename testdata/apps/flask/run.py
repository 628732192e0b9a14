"""Start gunicorn from Python: a distroless image has no shell, and the
`gunicorn` script pip writes carries the builder's interpreter in its shebang.

    python3 /app/flask/run.py PORT
"""

import sys

from gunicorn.app.base import BaseApplication

from app import app


class Standalone(BaseApplication):
    def __init__(self, application, options):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


if __name__ == "__main__":
    port = int(sys.argv[1])
    Standalone(app, {
            "bind": f"127.0.0.1:{port}",
            # One worker: the one that answers the test's request has booted, so
            # it has its own SIGTERM handler by the time the test stops the
            # server (a worker still booting would swallow the signal and keep
            # the master waiting for graceful_timeout).
            "workers": 1,
            "worker_class": "sync",
            # no control socket in $HOME/.gunicorn: the app serves HTTP only
            "control_socket_disable": True,
        }).run()
