"""A Flask application, served by gunicorn (see run.py)."""

from importlib.metadata import version

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from Flask {version('flask')} under gunicorn {version('gunicorn')}\n"
