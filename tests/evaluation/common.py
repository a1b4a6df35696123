"""What the tests of scoring in general features share: a tiny real feature network (Inception's
place where features must be fast); the RGBA folder they score is tests.helpers.rgba_folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import save_onnx_model


def make_feature_network(path: Path, dim: int = 16) -> Path:
    """A tiny real ONNX feature network (images [N, 3, H, W] in [0, 1] -> [N, dim]: a fixed random
    3x3 convolution, ReLU, global average pool) for $GAN_STUDIO_FEATURE_NETWORK: Inception's place
    in tests that need features fast."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(7).standard_normal((dim, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["image", "W"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]), helper.make_node("Flatten", ["p"], ["features"])]
    return save_onnx_model(path, nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                           [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", dim])],
                           [numpy_helper.from_array(weights, "W")], name="features")


def class_image_generator(path: Path, images_uint8: np.ndarray, latent_dim: int = 4) -> Path:
    """A conditional ONNX generator (z, label -> image) that draws ``images_uint8[label]`` (one image a
    class, [C, ch, S, S]) whatever z is: a generator whose label accuracy is its evaluator's accuracy on
    those images. Card beside it."""
    import json

    from onnx import TensorProto, helper, numpy_helper

    from inference import contract
    from tests.helpers import toy_metadata

    table = images_uint8.astype(np.float32) / 127.5 - 1
    shape = tuple(int(v) for v in table.shape[1:])
    nodes = [helper.make_node("Gather", ["table", "label"], ["image"], axis=0)]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim]),
              helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])]
    meta = toy_metadata(latent_dim=latent_dim, shape=shape, num_classes=len(table)) | {"dataset": "folder", "metrics": {}}
    save_onnx_model(path, nodes, inputs, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", *shape])],
                    [numpy_helper.from_array(table, "table")], contract.metadata_to_props(meta), "class-images")
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "metadata": contract.metadata_to_card(meta)}))
    return path
