"""A small torch network (the evaluator CNN, a projection encoder) to a checked ONNX file: one image
input with a dynamic batch, metadata attached, ``onnx.checker`` passed, and onnxruntime's outputs
compared with PyTorch's before the caller moves the file to its final name."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

OPSET = 18


def export_checked(net: nn.Module, image_shape: Sequence[int], folder: Path, input_name: str,
                   output_names: Sequence[str], props: Mapping[str, str]) -> Path:
    """``net`` (eval mode) exported into ``folder`` (a temporary one: nothing there is final) with
    ``props`` as its metadata; returns the checked file."""
    raw, checked = folder / "raw.onnx", folder / "checked.onnx"
    batch = torch.export.Dim("batch", min=1, max=65536)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(2, *image_shape),), str(raw), input_names=[input_name],
                          output_names=list(output_names), dynamic_shapes={"x": {0: batch}}, opset_version=OPSET,
                          external_data=False, dynamo=True, verbose=False, optimize=True)
    proto = onnx.load(str(raw))
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(checked))
    return checked


def parity_error(net: nn.Module, path: Path, x: np.ndarray, input_name: str, output_names: Sequence[str]) -> float:
    """The largest absolute difference between PyTorch's and onnxruntime's outputs on ``x``."""
    with torch.no_grad():
        reference = net(torch.from_numpy(x))
    reference = reference if isinstance(reference, tuple) else (reference,)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(list(output_names), {input_name: x})
    return max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, reference))
