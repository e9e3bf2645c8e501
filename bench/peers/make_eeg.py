"""Synthesize the origin sample's data and model: EEG letter recordings and an LDA.

1,300 rows with columns ``Line``, ``# Letter`` and 160 numeric features, saved as
pandas ``orient="index"`` JSON (about 4.6 MB) as the sample's test.json; an LDA
over the 160 features and 26 classes. Also writes the same model as model.joblib
for the generated scorers, and their one-row and 100-row requests.

    python make_eeg.py OUTPUT_DIR
"""

from __future__ import annotations

import json
import string
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

ROWS, FEATURES, CLASSES = 1300, 160, 26


def main(output: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, CLASSES, ROWS)
    centres = rng.normal(0, 1, (CLASSES, FEATURES))
    features = centres[labels] + rng.normal(0, 2.5, (ROWS, FEATURES))
    frame = pd.DataFrame(features, columns=[f"ch_{index:03d}" for index in range(FEATURES)])
    frame.insert(0, "# Letter", [string.ascii_uppercase[label] for label in labels])
    frame.insert(0, "Line", np.arange(ROWS))
    (output / "models").mkdir(parents=True, exist_ok=True)
    (output / "lda_model").mkdir(exist_ok=True)
    frame.to_json(output / "test.json", orient="index")

    model = LinearDiscriminantAnalysis().fit(features, labels)
    joblib.dump(model, output / "models" / "clf_lda.joblib")
    joblib.dump(model, output / "lda_model" / "model.joblib")
    for rows in (1, 100):
        body = {"instances": features[:rows].round(6).tolist()}
        (output / f"lda_request_{rows}.json").write_text(json.dumps(body))
    size = (output / "test.json").stat().st_size
    print(f"test.json: {ROWS} rows x {FEATURES + 2} columns, {size / 1e6:.1f} MB; LDA over {CLASSES} classes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
