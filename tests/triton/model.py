"""Triton Python-backend model that runs a model.onnx with ONNX Runtime (template tests only).

PyPI's tritonserver (in the nvidia-pytriton wheel) has no ONNX Runtime backend:
the test puts this file beside the project's model.onnx and names the Python
backend in its config.pbtxt; everything else Triton reads and checks as written.
Each call of ``execute`` gets the requests that dynamic batching gathered.
"""

from pathlib import Path

import numpy as np
import onnxruntime
import triton_python_backend_utils as pb_utils


def text(array: np.ndarray) -> np.ndarray:
    """Triton hands BYTES inputs over as bytes; ONNX Runtime takes str."""
    if array.dtype != object:
        return array
    return np.vectorize(lambda value: value.decode() if isinstance(value, bytes) else value, otypes=[object])(
        array
    )


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        onnx_file = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        self.inputs = [value.name for value in self.session.get_inputs()]
        self.outputs = [value.name for value in self.session.get_outputs()]

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            feed = {
                name: text(pb_utils.get_input_tensor_by_name(request, name).as_numpy())
                for name in self.inputs
            }
            results = self.session.run(self.outputs, feed)
            tensors = [
                pb_utils.Tensor(name, np.array([str(v).encode() for v in value], dtype=object))
                if value.dtype.kind in "OUS"
                else pb_utils.Tensor(name, value)
                for name, value in zip(self.outputs, results, strict=True)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
