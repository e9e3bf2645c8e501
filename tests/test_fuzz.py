"""Property-based fuzzing of /predict on real servers: every answer is a JSON 4xx or a right prediction.

hypothesis builds bodies of every bad kind (malformed JSON, wrong types, NaN and
infinities, huge numbers, deep nesting, wrong shapes, empty bodies, wrong content
types) and good ones; each goes to a gunicorn process on loopback. No 5xx, no HTML,
no stack trace, and the server is still healthy afterwards. Typed bodies are drawn
from a model's signature (integers, numbers with gaps, text, categories, booleans),
with wrong values in every column. Bodies over 10 MB get a 413 the client can read;
schemathesis tests the FastAPI scorer from its OpenAPI schema.
"""

from __future__ import annotations

import ast
import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, ZOO_COMBOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import gunicorn_with_every_worker_ready, log_lines

EXAMPLES = 1500  # per framework
JSON = "application/json"
LIMIT = 10 * 1024 * 1024  # the scorer's default MAX_BODY_BYTES
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(min_value=-10, max_value=10),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
rows = st.lists(st.lists(numbers, min_size=0, max_size=6), min_size=0, max_size=5)
good_rows = st.lists(
    st.lists(st.floats(min_value=-10, max_value=10), min_size=4, max_size=4), min_size=1, max_size=20
)
records = st.lists(st.dictionaries(st.sampled_from([*FEATURES, "other"]), numbers, max_size=5), max_size=4)
documents = st.one_of(
    st.fixed_dictionaries({"instances": rows}),
    st.fixed_dictionaries({"instances": good_rows}),
    st.fixed_dictionaries(
        {
            "data": st.one_of(
                rows, records, st.dictionaries(st.sampled_from(FEATURES), st.lists(numbers, max_size=3))
            )
        }
    ),
    st.dictionaries(st.sampled_from(["instances", "data", "rows", ""]), json_values, max_size=3),
    json_values,
)


def encode(document: object) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


bodies = st.one_of(
    documents.map(encode),
    st.binary(max_size=64),
    st.integers(min_value=1, max_value=3000).map(
        lambda depth: b'{"instances": ' + b"[" * depth + b"]" * depth + b"}"
    ),
    st.just(b""),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
    ]
)


@pytest.fixture(params=[DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def server(request: pytest.FixtureRequest, baked, tmp_path: Path) -> Iterator[int]:
    project = baked(request.param)
    with gunicorn_with_every_worker_ready(
        project, project / "model_artifact", tmp_path / "stdout.log"
    ) as served:
        yield served.port


def post(
    port: int, body: bytes | Iterator[bytes], content_type: str | None, chunked: bool = False
) -> tuple[int, str, dict]:
    """POST with Python's plain client, which reads the answer only after sending the whole body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": content_type} if content_type else {}
    connection.request("POST", "/predict", body=body, headers=headers, encode_chunked=chunked)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    connection.close()
    return (
        response.status,
        response.getheader("Content-Type", ""),
        json.loads(text) if text.startswith("{") else {"raw": text},
    )


def test_fuzzed_bodies_get_json_4xx_or_right_predictions(server: int) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(body=bodies, content_type=content_types)
    def check(body: bytes, content_type: str | None) -> None:
        status, kind, answer = post(server, body, content_type)
        assert kind.startswith("application/json"), (status, kind, answer)
        if status == 200:
            assert isinstance(answer["predictions"], list) and answer["predictions"]
            assert set(answer["predictions"]) <= {"setosa", "versicolor", "virginica"}
        else:
            assert 400 <= status < 500, (status, answer, body[:200])
            assert answer["error"] and "Traceback" not in answer["error"]

    check()
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=3)
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200


TYPED_EXAMPLES = 1000  # per framework
wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)


def right_values(attribute: dict) -> st.SearchStrategy:
    """Values of the kind a feature of the signature (OCI ADS input_schema.json) takes."""
    listed: list = []
    for constraint in attribute["domain"]["constraints"]:
        listed = ast.literal_eval(constraint["expression"].removeprefix("$x in "))
    kind = attribute["feature_type"]
    if kind == "Integer":
        return st.integers(min_value=0, max_value=120)
    if kind == "Continuous":
        return st.floats(min_value=-1e6, max_value=1e6) | st.integers(min_value=-1000, max_value=1000)
    if kind == "Boolean":
        return st.booleans()
    seen = st.sampled_from(listed) if listed else st.nothing()  # categories list theirs; text lists none
    return seen | st.text(max_size=6)  # seen or new


def typed_bodies(schema: dict) -> st.SearchStrategy:
    """Bodies in every form: all values right (null where allowed), or any value right, null or wrong."""
    names = [attribute["name"] for attribute in schema["schema"]]
    right = {
        a["name"]: right_values(a) | (st.none() if not a["required"] else st.nothing())
        for a in schema["schema"]
    }
    anything = {
        a["name"]: st.one_of(*[right_values(a)] * 3, st.none(), wrong_values) for a in schema["schema"]
    }
    records = st.lists(st.fixed_dictionaries(right), min_size=1, max_size=5) | st.lists(
        st.fixed_dictionaries(anything), min_size=1, max_size=5
    )
    rows = records.map(lambda rs: [[r[name] for name in names] for r in rs])
    columns = records.map(lambda rs: {name: [r[name] for r in rs] for name in names})
    pandas = records.map(lambda rs: {name: {str(i): r[name] for i, r in enumerate(rs)} for name in names})
    methods = st.sampled_from([None, "predict", "predict_proba", "decision_function", "fit"])
    wrapped = st.one_of(
        st.builds(lambda data, m: {"data": data} | ({"method": m} if m else {}), records | columns, methods),
        st.builds(lambda data, m: {"instances": data} | ({"method": m} if m else {}), rows, methods),
        pandas,
    )
    return wrapped.map(encode)


@pytest.fixture(params=[combo.param() for combo in ZOO_COMBOS])
def typed_server(request: pytest.FixtureRequest, zoo, tmp_path: Path) -> Iterator[tuple[int, dict]]:
    project, models = zoo(request.param)
    model_dir = models / "every_kind"
    with gunicorn_with_every_worker_ready(project, model_dir, tmp_path / "stdout.log") as served:
        yield served.port, json.loads((model_dir / "input_schema.json").read_text())


def test_typed_bodies_drawn_from_a_signature_get_json_4xx_or_right_predictions(
    typed_server: tuple[int, dict],
) -> None:
    port, schema = typed_server
    labels = {"churned", "stayed"}
    statuses: list[int] = []

    @settings(
        max_examples=TYPED_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(body=typed_bodies(schema))
    def check(body: bytes) -> None:
        status, kind, answer = post(port, body, "application/json")
        statuses.append(status)
        assert kind.startswith("application/json"), (status, kind, answer)
        if status != 200:
            assert 400 <= status < 500, (status, answer, body[:300])
            assert answer["error"] and "Traceback" not in answer["error"]
            return
        for prediction in answer["predictions"]:
            if isinstance(prediction, dict):
                assert set(prediction) == labels, answer
            else:
                assert prediction in labels or isinstance(prediction, float), answer

    check()
    # Both kinds of answer were tried often: right predictions and refusals.
    assert statuses.count(200) >= 50 and statuses.count(400) >= 50, sorted(set(statuses))
    assert (
        post(port, b'{"data": [{"age": 40, "city": "oslo", "plan": "basic", "member": false}]}', JSON)[0]
        == 200
    )


def padded(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes (JSON allows trailing spaces)."""
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    return body + b" " * (size - len(body))


def test_bodies_over_10_mb_get_a_json_413_the_client_can_read(server: int) -> None:
    chunk = 1024 * 1024
    for size, chunked in [(LIMIT + 1, False), (15_000_000, False), (LIMIT + 1, True), (15_000_000, True)]:
        body = padded(size)
        sent = (body[start : start + chunk] for start in range(0, size, chunk)) if chunked else body
        status, kind, answer = post(server, sent, "application/json", chunked=chunked)
        assert (status, kind) == (413, "application/json"), (size, chunked, answer)
        assert str(LIMIT) in answer["error"]
    assert post(server, padded(LIMIT), "application/json")[0] == 200  # the limit itself passes


SCHEMATHESIS_EXAMPLES = 3000  # per operation and phase; about 3,200 requests in all


@pytest.mark.xdist_group(DEFAULT_FASTAPI.id)  # the default FastAPI project's worker: one install
def test_schemathesis_finds_nothing_against_the_fastapi_openapi(baked, tmp_path: Path) -> None:
    """Every check but one on the schema FastAPI serves, with valid and invalid bodies.

    Left out: positive_data_acceptance (a schema-valid body must get a 2xx). The
    model may refuse rows the schema allows, such as 1e308 that a scaler step
    turns into infinity: that is a 400 that names the reason, and it should stay one.
    """
    project = baked(DEFAULT_FASTAPI)
    log = tmp_path / "stdout.log"
    with gunicorn_with_every_worker_ready(project, project / "model_artifact", log) as served:
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                *("run", f"http://127.0.0.1:{served.port}/openapi.json"),
                *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
                *("--mode", "all", "--generation-deterministic", "-n", str(SCHEMATHESIS_EXAMPLES)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its cache (.schemathesis/) goes there, not into the template
        )
    assert run.returncode == 0, run.stdout[-5000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated and int(generated[1]) == int(generated[2]) >= 2000, run.stdout[-2000:]
    statuses = [line["status"] for line in log_lines(log.read_text()) if "status" in line]
    assert statuses and max(statuses) < 500, "a request the schema allows was answered 5xx"
