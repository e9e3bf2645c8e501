"""BentoML serving the same joblib model: the peer to compare with.

bentoml serve bentoml_service:Scorer --host 127.0.0.1 --port 3000
(MODEL_PATH names the joblib file; BENTO_WORKERS the worker processes, 2 by default)
"""

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=int(os.environ.get("BENTO_WORKERS", "2")))
class Scorer:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["MODEL_PATH"])

    @bentoml.api
    def predict(self, instances: list[list[float]]) -> dict:
        rows = np.asarray(instances, dtype=np.float64)
        return {"predictions": self.model.predict(rows).tolist()}
