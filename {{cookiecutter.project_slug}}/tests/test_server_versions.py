"""The server parts this project builds on gunicorn's or uvicorn's internals are run with the
versions they were tested with: an upgrade in the lock fails here, not in production."""

from __future__ import annotations

from importlib.metadata import version

{% if cookiecutter.framework == "flask" -%}
import gunicorn.http.message
import gunicorn.util
from gunicorn.workers.gthread import TConn
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from {{ cookiecutter.package_name }}.gthread_worker import TESTED_GUNICORN

SERVER, TESTED = "gunicorn", TESTED_GUNICORN
MODULE = "gthread_worker.py"


def test_the_gunicorn_internals_the_worker_overrides_are_still_there() -> None:
    for method in ("accept", "enqueue_req", "finish_request", "murder_pending", "set_accept_enabled"):
        assert callable(getattr(GunicornThreadWorker, method, None)), method
    assert callable(GunicornThreadWorker.handle) and callable(GunicornThreadWorker.handle_error)
    assert callable(TConn.init) and callable(gunicorn.util.write_error)
    assert gunicorn.http.message.Request._policy_expect_continue is True  # the worker turns it off
{%- else -%}
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from {{ cookiecutter.package_name }}.uvicorn_limits import TESTED_UVICORN

SERVER, TESTED = "uvicorn", TESTED_UVICORN
MODULE = "uvicorn_limits.py"


def test_the_uvicorn_callbacks_the_protocol_overrides_are_still_there() -> None:
    for method in ("data_received", "on_message_begin", "on_header", "on_headers_complete"):
        assert callable(getattr(HttpToolsProtocol, method, None)), method
    for method in ("on_message_complete", "send_400_response", "connection_lost", "connection_made"):
        assert callable(getattr(HttpToolsProtocol, method, None)), method
{%- endif %}


def test_the_server_is_a_version_this_project_was_tested_with() -> None:
    installed = version(SERVER)
    assert installed in TESTED, (
        f"{SERVER} {installed} is not one {MODULE} was tested with ({', '.join(TESTED)}): it builds on "
        f"{SERVER}'s internals. Read what changed in them, run the template's hostile-client tests "
        "on this version, then add it to the module's list"
    )
