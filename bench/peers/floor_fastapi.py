"""The bare FastAPI floor: load the model once, parse the JSON, predict, answer. Nothing else.

gunicorn -w 2 -k uvicorn_worker.UvicornWorker floor_fastapi:app   (MODEL_PATH names the joblib file)
"""

import os

import joblib
import numpy as np
from fastapi import FastAPI, Request

model = joblib.load(os.environ["MODEL_PATH"])
app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ready"}


@app.post("/predict")
async def predict(request: Request) -> dict:
    rows = np.asarray((await request.json())["instances"], dtype=np.float64)
    return {"predictions": model.predict(rows).tolist()}
