"""The bare Flask floor: load the model once, parse the JSON, predict, answer. Nothing else.

gunicorn -w 2 floor_flask:app   (MODEL_PATH names the joblib file)
"""

import os

import joblib
import numpy as np
from flask import Flask, request

model = joblib.load(os.environ["MODEL_PATH"])
app = Flask(__name__)


@app.get("/health")
def health() -> dict:
    return {"status": "ready"}


@app.post("/predict")
def predict() -> dict:
    rows = np.asarray(request.get_json()["instances"], dtype=np.float64)
    return {"predictions": model.predict(rows).tolist()}
