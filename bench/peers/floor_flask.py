"""The bare Flask floor: load the model once, parse the JSON, predict, answer. Nothing else.

Rows (``instances``) become a float array; records (``data``) a DataFrame with pandas' own
types, for models fitted on DataFrames (the same frame the scorer builds from its signature).

gunicorn -w 2 floor_flask:app   (MODEL_PATH names the joblib file)
"""

import os

import joblib
import numpy as np
import pandas as pd
from flask import Flask, request

model = joblib.load(os.environ["MODEL_PATH"])
app = Flask(__name__)


@app.get("/health")
def health() -> dict:
    return {"status": "ready"}


@app.post("/predict")
def predict() -> dict:
    body = request.get_json()
    if "data" in body:
        return {"predictions": model.predict(pd.DataFrame(body["data"])).tolist()}
    rows = np.asarray(body["instances"], dtype=np.float64)
    return {"predictions": model.predict(rows).tolist()}
