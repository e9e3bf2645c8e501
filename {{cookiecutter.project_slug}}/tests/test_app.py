"""/health and /predict through the app, as a client sees them."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import sklearn.base

from {{ cookiecutter.package_name }}.outputs import Outputs
from {{ cookiecutter.package_name }}.scorer import Scorer, State
from {{ cookiecutter.package_name }}.settings import Settings

MODEL_FILE = "{{ cookiecutter.__model_file }}"


def test_health_is_503_before_the_model_is_loaded(make_client: Any, settings: Settings) -> None:
    scorer = Scorer(settings)
    client = make_client(settings, scorer)
    reply = client.get("/health")
    assert reply.status == 503
    assert reply.json["status"] == "starting"
    assert client.post("/predict", json_body={"instances": [[1, 2, 3, 4]]}).status == 503

    scorer.load()
    reply = client.get("/health")
    assert (reply.status, reply.json) == (200, {"status": "ready"})


def test_start_loads_the_model_in_the_background(make_client: Any, settings: Settings) -> None:
    scorer = Scorer(settings)
    client = make_client(settings, scorer)
    scorer.start()
    deadline = time.monotonic() + 30
    while client.get("/health").status != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/health").json == {"status": "ready"}
    scorer.start()  # a second start is a no-op
    assert scorer.state is State.READY


def logged_load_failure(caplog: pytest.LogCaptureFixture) -> str:
    (record,) = [
        record for record in caplog.records if record.getMessage().startswith("model failed to load")
    ]
    return record.fields["reason"]


@pytest.mark.parametrize(
    ("content", "problem", "detail"),
    [
        pytest.param(None, "model file not found", "does not exist", id="no-folder"),
        pytest.param(b"", "model file could not be loaded", "could not be loaded (EOFError", id="empty-file"),
        pytest.param(
            b"not a pickle", "model file could not be loaded", "could not be loaded (", id="corrupt-file"
        ),
    ],
)
def test_a_broken_model_leaves_health_503_with_a_short_reason_and_the_details_in_the_log(
    make_client: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    content: bytes | None,
    problem: str,
    detail: str,
) -> None:
    model_dir = tmp_path / "artifact"
    if content is not None:
        model_dir.mkdir()
        (model_dir / MODEL_FILE).write_bytes(content)
    settings = Settings(model_dir=model_dir, model_file=MODEL_FILE)
    scorer = Scorer(settings)
    scorer.load()
    client = make_client(settings, scorer)
    reply = client.get("/health")
    assert reply.status == 503
    assert reply.json["status"] == "failed"
    assert problem in reply.json["reason"]
    assert str(tmp_path) not in reply.json["reason"]  # no paths for anyone who can reach /health
    assert detail in logged_load_failure(caplog) and str(model_dir) in logged_load_failure(caplog)
    assert client.post("/predict", json_body={"instances": [[1, 2, 3, 4]]}).status == 503


def test_a_model_saved_by_another_scikit_learn_is_refused(
    make_client: Any,
    tmp_path: Path,
    model: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(sklearn.base, "__version__", "0.24.2")  # what the pickle records
        joblib.dump(model, tmp_path / MODEL_FILE)
    settings = Settings(model_dir=tmp_path, model_file=MODEL_FILE)
    scorer = Scorer(settings)
    scorer.load()
    reply = make_client(settings, scorer).get("/health")
    assert reply.status == 503
    assert reply.json["reason"] == "model file could not be loaded; the server log has the details"
    assert "InconsistentVersionWarning" in logged_load_failure(caplog)
    assert "0.24.2" in logged_load_failure(caplog)


def test_predict_rows_match_the_model(client: Any, model: Any, sample_rows: list[list[float]]) -> None:
    reply = client.post("/predict", json_body={"instances": sample_rows})
    assert reply.status == 200
    assert reply.json == {"predictions": model.predict(np.array(sample_rows)).tolist()}


def test_predict_a_single_row(client: Any, model: Any, sample_rows: list[list[float]]) -> None:
    reply = client.post("/predict", json_body={"instances": sample_rows[1]})
    assert reply.json == {"predictions": model.predict(np.array(sample_rows[1:2])).tolist()}


def test_predict_records_columns_and_a_single_record(
    client: Any, model: Any, sample_rows: list[list[float]]
) -> None:
    names = list(model.feature_names_in_)
    expected = model.predict(np.array(sample_rows)).tolist()
    records = [dict(zip(names, row, strict=True)) for row in sample_rows]
    columns = {name: [row[i] for row in sample_rows] for i, name in enumerate(names)}
    assert client.post("/predict", json_body={"data": records}).json["predictions"] == expected
    assert client.post("/predict", json_body={"data": columns}).json["predictions"] == expected
    assert client.post("/predict", json_body={"data": sample_rows}).json["predictions"] == expected
    single = client.post("/predict", json_body={"data": records[2]})
    assert single.json["predictions"] == expected[2:]


JSON = "application/json"
BAD_BODIES = [
    pytest.param(b"", JSON, 400, "empty body", id="empty-body"),
    pytest.param(b"{not json", JSON, 400, "malformed JSON", id="malformed-json"),
    pytest.param(b"\xff\xfe", JSON, 400, "UTF-8", id="not-utf8"),
    pytest.param(b'{"instances": [[1, 2, 3, 4]]}', "text/plain", 415, "Content-Type", id="text-plain"),
    pytest.param(b'{"instances": [[1, 2, 3, 4]]}', None, 415, "Content-Type", id="no-content-type"),
    pytest.param(b"[[1, 2, 3, 4]]", JSON, 400, "JSON object", id="not-an-object"),
    pytest.param(b'{"rows": [[1, 2, 3, 4]]}', JSON, 400, "exactly one of", id="unknown-key"),
    pytest.param(b'{"instances": []}', JSON, 400, "non-empty list", id="no-rows"),
    pytest.param(b'{"instances": [[1, 2, 3]]}', JSON, 400, "expects 4 features", id="short-row"),
    pytest.param(b'{"instances": [[1, 2, 3, 4], [1]]}', JSON, 400, "row 1", id="ragged"),
    pytest.param(b'{"instances": [[1, "2", 3, 4]]}', JSON, 400, "is not a number", id="string"),
    pytest.param(b'{"instances": [[1, true, 3, 4]]}', JSON, 400, "is not a number", id="bool"),
    pytest.param(b'{"instances": [[1, null, 3, 4]]}', JSON, 400, "is not a number", id="null"),
    pytest.param(b'{"instances": [[NaN, 2, 3, 4]]}', JSON, 400, "NaN", id="nan"),
    pytest.param(b'{"instances": [[Infinity, 2, 3, 4]]}', JSON, 400, "Infinity", id="inf"),
    pytest.param(b'{"instances": [[1e999, 2, 3, 4]]}', JSON, 400, "not finite", id="overflow"),
    pytest.param(b'{"instances": [[' + b"9" * 400 + b", 2, 3, 4]]}", JSON, 400, "too large", id="huge-int"),
    # More digits than Python turns into an int (4,300): json raises ValueError, not JSONDecodeError.
    pytest.param(
        b'{"instances": [[' + b"9" * 5000 + b", 2, 3, 4]]}", JSON, 400, "too many digits", id="digits"
    ),
    pytest.param(
        b'{"instances": ' + b"[" * 10**5 + b"]" * 10**5 + b"}", JSON, 400, "nested", id="deep-nesting"
    ),
    pytest.param(b'{"data": [{"sepal_length": 1}]}', JSON, 400, "missing", id="record-missing"),
    pytest.param(b'{"data": {"sepal_length": [1], "x": [2]}}', JSON, 400, "unknown", id="column-unknown"),
    pytest.param(b'{"instances": [[1, 2, 3, 4]], "method": "fit"}', JSON, 400, '"method" must', id="method"),
    pytest.param(b'{"instances": [[1, 2, 3, 4]], "method": 1}', JSON, 400, '"method" must', id="method-type"),
    pytest.param(b'{"instances": [[1, 2, 3, 4]], "method": null}', JSON, 400, '"method"', id="method-null"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "fragment"), BAD_BODIES)
def test_bad_input_is_a_json_4xx_that_names_the_problem(
    client: Any, body: bytes, content_type: str | None, status: int, fragment: str
) -> None:
    reply = client.post("/predict", body, content_type=content_type)
    assert reply.status == status
    assert fragment in reply.json["error"]
    assert "Traceback" not in reply.json["error"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflows inside the model: the point
def test_rows_the_model_itself_refuses_are_a_400_not_a_500(client: Any) -> None:
    # Finite, so the parser takes it; the scaler step turns it into infinity.
    reply = client.post("/predict", json_body={"instances": [[0.0, 0.0, 0.0, 1.7976931348623157e308]]})
    assert reply.status == 400
    assert "the model could not use these rows" in reply.json["error"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflows inside the model: the point
@pytest.mark.parametrize("method", ["predict_proba", "decision_function"])
def test_scores_that_overflow_inside_the_model_are_a_400_not_a_500(client: Any, method: str) -> None:
    # Finite rows whose scores overflow: JSON has no NaN or infinity to answer with.
    rows = [[1e300, 1e300, 1.7e308, 1e300]]
    reply = client.post("/predict", json_body={"instances": rows, "method": method})
    assert reply.status == 400
    assert "the model could not use these rows" in reply.json["error"]


class FailingModel:
    n_features_in_ = 4

    def predict(self, rows: np.ndarray) -> np.ndarray:
        raise RuntimeError("a bug in the model")


def test_a_model_failing_on_good_rows_is_a_json_500_without_the_traceback(
    make_client: Any, settings: Settings, scorer: Scorer
) -> None:
    scorer.outputs = Outputs(FailingModel())
    reply = make_client(settings, scorer).post("/predict", json_body={"instances": [[1, 2, 3, 4]]})
    assert reply.status == 500
    assert reply.json == {"error": "prediction failed; the server log has the details"}


def test_body_over_the_limit_is_413(make_client: Any, settings: Settings, scorer: Scorer) -> None:
    client = make_client(settings, scorer)  # the default limit: 10 MB
    big = b'{"instances": [[1, 2, 3, 4]], "pad": "' + b"x" * settings.max_body_bytes + b'"}'
    reply = client.post("/predict", big)
    assert reply.status == 413
    assert str(settings.max_body_bytes) in reply.json["error"]


def test_body_of_exactly_the_limit_passes_and_one_byte_more_is_413(
    make_client: Any, settings: Settings, scorer: Scorer
) -> None:
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    small = replace(settings, max_body_bytes=len(body) + 10)
    client = make_client(small, scorer)
    assert client.post("/predict", body + b" " * 10).status == 200
    reply = client.post("/predict", body + b" " * 11)
    assert reply.status == 413
    assert str(small.max_body_bytes) in reply.json["error"]


@pytest.mark.parametrize("form", ["rows", "records", "columns"])
def test_max_rows_pass_and_one_more_is_413_naming_max_rows(
    serve: Any, model_dir: Path, model: Any, form: str
) -> None:
    client = serve(model_dir, max_rows=5)
    names = list(model.feature_names_in_)

    def body(rows: int) -> dict[str, Any]:
        if form == "rows":  # counted in the bytes, before they are parsed
            return {"instances": [[5.1, 3.5, 1.4, 0.2]] * rows, "method": "predict_proba"}
        if form == "records":  # counted once parsed
            return {"data": [dict(zip(names, [5.1, 3.5, 1.4, 0.2], strict=True))] * rows}
        return {"data": {name: [1.0] * rows for name in names}}

    assert len(client.post("/predict", json_body=body(5)).json["predictions"]) == 5
    reply = client.post("/predict", json_body=body(6))
    assert reply.status == 413
    assert reply.json["error"] == (
        "6 rows; this server takes at most 5 a request (MAX_ROWS): send them in smaller batches"
    )


def test_an_answer_over_max_answer_bytes_is_413_naming_it_and_what_to_send(
    serve: Any, model_dir: Path, sample_rows: list[list[float]]
) -> None:
    rows = {"instances": sample_rows[:1] * 10, "method": "predict_proba"}
    fits = serve(model_dir).post("/predict", json_body=rows)
    size = len(json.dumps(fits.json, separators=(",", ":")))  # as the apps write it
    client = serve(model_dir, max_answer_bytes=size)  # the answer is counted a little longer than it is
    reply = client.post("/predict", json_body=rows)
    assert reply.status == 413
    error = reply.json["error"]
    assert error.startswith("the predict_proba answer to 10 rows would be up to ")
    assert f"over this server's MAX_ANSWER_BYTES ({size})" in error
    assert error.endswith("rows a request, or ask for predict (one value a row)")
    fewer = int(error.split("at most ")[1].split(" rows")[0])
    assert 1 <= fewer < 10
    assert client.post("/predict", json_body={**rows, "instances": rows["instances"][:fewer]}).status == 200
    assert client.post("/predict", json_body={**rows, "method": "predict"}).status == 200


def test_unknown_route_and_wrong_method_answer_json(client: Any) -> None:
    assert client.get("/nope").status == 404
    wrong_method = client.get("/predict")
    assert wrong_method.status == 405
    assert "POST" in wrong_method.headers["Allow"]
    assert "error" in client.get("/nope").json


def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_host_sent(client: Any) -> None:
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    assert client.post("/predict/", json_body=body, headers={"Host": "evil.example"}).status == 404


def test_errors_name_a_few_unknown_features_and_count_the_rest(client: Any) -> None:
    record = {f"x{number}": 1 for number in range(200_000)}
    reply = client.post("/predict", json_body={"data": [record]})
    assert reply.status == 400
    assert "'x0', 'x1', 'x2', 'x3', 'x4'] and 199995 more" in reply.json["error"]
    assert len(reply.json["error"]) < 600


def test_the_paths_oci_is_told_to_call_answer_as_predict_and_health_do(
    make_client: Any, settings: Settings, scorer: Scorer, model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """MODEL_DEPLOY_PREDICT_ENDPOINT and MODEL_DEPLOY_HEALTH_ENDPOINT (a gateway's paths): served
    besides /predict and /health, by the same handlers, with the same limits and log lines."""
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    expected = model.predict([[5.1, 3.5, 1.4, 0.2]]).tolist()
    configured = replace(
        settings, predict_path="/v1/models/churn/score", health_path="/ready", max_body_bytes=len(body)
    )
    client = make_client(configured, scorer)
    caplog.set_level(logging.INFO, logger="scorer.access")
    for path in ("/predict", "/v1/models/churn/score"):
        reply = client.post(path, body, headers={"opc-request-id": f"id{len(path)}"})
        assert (reply.status, reply.json["predictions"]) == (200, expected)
        assert client.post(path, body + b" ").status == 413  # the same MAX_BODY_BYTES
        assert client.get(path).status == 405
    for path in ("/health", "/ready"):
        assert (client.get(path).status, client.get(path).json) == (200, {"status": "ready"})
    deadline = time.monotonic() + 5  # every access line written (FastAPI holds them up to 0.05 s)
    while len(access_records(caplog)) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    logged = {record.fields["opc-request-id"]: record.fields["path"] for record in access_records(caplog)}
    assert logged["id8"] == "/predict" and logged["id22"] == "/v1/models/churn/score"
    unset = make_client(settings, scorer)  # without MODEL_DEPLOY_PREDICT_ENDPOINT: not served
    assert unset.post("/v1/models/churn/score", body).status == 404


def access_record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The access line of the one request made{{ " (written up to 0.05 s after its answer)" if cookiecutter.framework == "fastapi" else "" }}."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not access_records(caplog):
        time.sleep(0.01)
    (record,) = access_records(caplog)
    return record


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "scorer.access"]


@pytest.mark.parametrize("request_id", ["x" * 201, "two words", "new\tline", "<script>"])
def test_a_request_id_that_is_not_one_is_neither_echoed_nor_logged(
    client: Any, caplog: pytest.LogCaptureFixture, request_id: str
) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    reply = client.post(
        "/predict", json_body={"instances": [[5.1, 3.5, 1.4, 0.2]]}, headers={"opc-request-id": request_id}
    )
    assert reply.status == 200
    assert "opc-request-id" not in reply.headers
    assert access_record(caplog).fields["opc-request-id"] is None


def test_each_request_logs_one_json_line_with_the_request_id(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    reply = client.post("/predict", json_body=body, headers={"opc-request-id": "abc-123"})
    assert reply.headers["opc-request-id"] == "abc-123"
    record = access_record(caplog)
    assert record.fields["opc-request-id"] == "abc-123"
    assert record.fields["status"] == 200
    assert record.fields["path"] == "/predict"
    assert record.fields["latency_ms"] >= 0


def test_the_access_line_of_a_long_path_is_cut(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    path = "/" + "a" * 64_999  # the whole path once made a 65 KB line
    assert client.get(path).status == 404
    logged = access_record(caplog).fields["path"]
    assert logged.startswith("/aaa") and logged.endswith("...[cut: 65000 chars]")
    assert len(logged) < 300
{%- if cookiecutter.framework == "fastapi" %}


def test_the_access_lines_still_held_are_written_when_the_app_stops(
    make_client: Any, settings: Settings, scorer: Scorer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    client = make_client(settings, scorer)
    client.client.app.state.access_lines.hold_seconds = 3600  # nothing is written by the timer
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    for request_id in ("first", "second"):
        client.post("/predict", json_body=body, headers={"opc-request-id": request_id})
    assert not access_records(caplog)
    client.client.__exit__(None, None, None)  # the lifespan's shutdown
    assert [record.fields["opc-request-id"] for record in access_records(caplog)] == ["first", "second"]


def test_openapi_states_the_typed_body_the_methods_and_the_answer(serve: Any, churn_dir: Path) -> None:
    operation = serve(churn_dir).get("/openapi.json").json["paths"]["/predict"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    _, data, pandas, ads = body["schema"]["oneOf"]  # instances, data, pandas' to_json(), ADS's envelope
    assert data["properties"]["method"]["enum"] == ["predict", "predict_proba", "decision_function"]
    record = next(form for form in data["properties"]["data"]["oneOf"] if form["type"] == "object")
    assert record["properties"]["age"] == {"type": "number"}
    assert record["properties"]["income"] == {"type": ["number", "null"]}  # may be missing
    assert record["properties"]["city"]["type"] == "string"
    assert record["required"] == ["age", "city"]
    assert pandas["required"] == ["age", "city"]
    frame, array, series = ads["oneOf"]
    assert "<class 'pandas.core.frame.DataFrame'>" in frame["properties"]["data_type"]["enum"]
    assert pandas in frame["properties"]["data"]["oneOf"]  # df.to_json() as an object, or as text:
    assert frame["properties"]["data"]["oneOf"][0]["type"] == "string"
    assert array["properties"]["data_type"]["enum"] == ["<class 'numpy.ndarray'>"]
    assert series["properties"]["data"]["maxItems"] == 3  # one row
    assert body["example"] == json.loads((churn_dir / "input_example.json").read_text())
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    ours, ads_answer = answer["oneOf"]
    by_label = ours["properties"]["predictions"]["items"]["anyOf"][1]
    assert set(by_label["properties"]) == {"churned", "stayed"}
    assert ads_answer["required"] == ["prediction"]
    assert ads_answer["properties"]["prediction"] == ours["properties"]["predictions"]


def test_predictions_are_the_same_on_the_event_loop_and_in_the_thread_pool(
    client: Any, model: Any, sample_rows: list[list[float]]
) -> None:
    expected = model.predict(np.array(sample_rows)).tolist()
    for _ in range(3):  # the first in the pool, then on the loop once the size is known quick
        reply = client.post("/predict", json_body={"instances": sample_rows})
        assert (reply.status, reply.json["predictions"]) == (200, expected)
{%- endif %}
