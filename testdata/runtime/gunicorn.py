# import: gunicorn
# A forking server: gunicorn's master starts two workers; the worker that
# serves the request loads libmagic (find_library runs ldconfig in a
# subprocess) and reads its database. One real HTTP request.
import os, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request
# Removed at the end: the snippet runs inside a cached root.
app_dir = tempfile.mkdtemp()
with open(os.path.join(app_dir, "app.py"), "w") as f:
    f.write(
        "import magic\n"
        "def app(environ, start_response):\n"
        "    kind = magic.from_buffer(b'%PDF-1.4\\n1 0 obj\\n', mime=True)\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [kind.encode()]\n"
    )
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
# A short graceful timeout: stopped, the master waits that long for its
# workers (30 s by default: longer than the wait below).
server = subprocess.Popen(
    [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
     "--chdir", app_dir, "--worker-tmp-dir", app_dir, "--graceful-timeout", "5", "app:app"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    body = None
    # Starting takes a few seconds, more on a loaded machine: a minute at
    # most (the test waits two for the whole snippet).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
            break
        except urllib.error.HTTPError as e:
            server.terminate()
            err = server.communicate(timeout=30)[1].decode()
            raise SystemExit(f"HTTP {e.code}: {err[-400:]}")
        except OSError:
            if server.poll() is not None:
                raise SystemExit("gunicorn ended: " + server.stderr.read().decode()[-400:])
            time.sleep(0.1)
    assert body == "application/pdf", body
finally:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(app_dir, ignore_errors=True)
print("ok gunicorn", body)
