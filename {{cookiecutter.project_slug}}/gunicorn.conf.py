"""gunicorn settings of the scorer (gunicorn reads ./gunicorn.conf.py by itself).

Every value can be changed from the environment without rebuilding the image:
PORT, WORKERS (or WEB_CONCURRENCY: the same setting), {{ "THREADS, " if cookiecutter.framework == "flask" else "" }}PRELOAD, TIMEOUT, GRACEFUL_TIMEOUT,
KEEPALIVE, READ_TIMEOUT (read by the worker class), LOG_LEVEL.
"""

import os
import sys

# The settings module, from src/ (``pythonpath`` below applies only once this file is read).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))
from {{ cookiecutter.package_name }}.settings import (
    worker_count,
)

# Where the app is: src/ layout, created by a factory in every worker.
pythonpath = "src"
wsgi_app = "{{ cookiecutter.package_name }}.app:create_app()"
{%- if cookiecutter.framework == "fastapi" %}
# uvicorn, with a deadline for reading each request and limits on its headers.
worker_class = "{{ cookiecutter.package_name }}.uvicorn_limits.Worker"
{%- else %}
# Threads, so /health is answered while the other threads run slow predictions
# (with sync workers it would wait behind them and miss the 3 s health timeout);
# gunicorn's gthread worker, made to stop listening at once on SIGTERM. With adaptive
# batching (MAX_BATCH_SIZE above 1, the default) requests wait in threads for a share of
# the next model call: 16 by default (the churn sample at 16 connections: 1.4x the
# requests per second of 4), 4 without; at most 4 parse a large body at once (app.py).
worker_class = "{{ cookiecutter.package_name }}.gthread_worker.ThreadWorker"
batching = os.environ.get("MAX_BATCH_SIZE", "").strip().replace("_", "").lstrip("0") != "1"
threads = int(os.environ.get("THREADS") or ("16" if batching else "4"))
{%- endif %}

# PRELOAD=1: load the app and the model once in the master, before forking the
# workers: they share its memory pages (a third of the memory per worker in the
# template's benchmark) and a replaced worker is ready at once. Off by default:
# libraries that start OpenMP thread pools before a fork (LightGBM, some builds of
# XGBoost) can hang in the forked workers; test your model with it first.
preload_app = os.environ.get("PRELOAD", "0") == "1"

# The image listens on every interface: the service connects from outside the container.
# make serve and make smoke pass --bind HOST:PORT instead, loopback unless HOST says otherwise.
bind = f"0.0.0.0:{os.environ.get('PORT', '{{ cookiecutter.__server_port }}')}"
# WORKERS or WEB_CONCURRENCY (ADS's with_web_concurrency() sets it); both set and different: refused,
# in one line, before any worker starts.
try:
    workers = worker_count(os.environ, {{ cookiecutter.__workers }})
except ValueError as error:
    sys.exit(f"gunicorn.conf.py: {error}")

# OCI Model Deployment gives up on a /predict call after 60 s: a worker stuck
# longer than that is restarted.
timeout = int(os.environ.get("TIMEOUT", "60"))
# On SIGTERM, in-flight requests get this long to finish.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("KEEPALIVE", "5"))

# The app writes one JSON line per request to stdout; gunicorn's own messages
# go to stderr. Both end up in OCI Logging.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Heartbeat files in memory, not on the container's overlay disk (gunicorn FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn's control socket (for gunicornc) is not used in a container and
# would be written under $HOME.
control_socket_disable = True


def post_worker_init(worker) -> None:  # a gunicorn server hook
    """Take connections only once this worker's model is loaded, or failed to load.

    Meanwhile the other workers serve, so a worker that replaces a dead one
    answers no 503s; the heartbeat goes on, so a slow load is not taken for a
    stuck worker and killed at TIMEOUT.
    """
    scorer = {{ 'worker.wsgi.extensions["scorer"]' if cookiecutter.framework == "flask" else "worker.wsgi.state.scorer" }}
    while not scorer.wait(timeout=1):
        worker.notify()
