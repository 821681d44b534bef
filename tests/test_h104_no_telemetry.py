"""Nothing of a run leaves the machine: onnxruntime, imported by labeling (ONNX export,
predict and serve with --runtime onnx), writes no device id or usage events to the
home folder (it would send them to Microsoft's events endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys

import onnx
from onnx import TensorProto, helper


def _identity_model(path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_loading_an_onnx_model_writes_nothing_to_the_home_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _identity_model(tmp_path / "m.onnx")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    code = ("import sys; from labeling.export.onnx_io import OnnxModel; "
            "import onnxruntime as ort; "
            "s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider']); "
            "print(s.get_outputs()[0].name)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.onnx")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "y"
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []


def test_a_users_own_setting_is_kept(tmp_path):
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "0", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", "import os, labeling.export; "
                           "print(os.environ['ORT_DISABLE_TELEMETRY'])"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0", done.stderr
