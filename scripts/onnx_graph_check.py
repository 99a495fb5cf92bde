"""ONNX Runtime's side of tests/onnx_graph.rs: runs the models neurite exported from traced
autograd graphs and compares them with neurite's own forward values.

    python scripts/onnx_graph_check.py DIR

For every DIR/<name>.onnx: onnx.checker.check_model(full_check=True) (the checker and
strict shape inference), then each case DIR/<name>.case<k>.inputs.npz is run with
onnxruntime (CPU) and every output compared with DIR/<name>.case<k>.outputs.npz: same
shape, and values within 1e-5 (absolute, plus 1e-5 relative). Prints "ok: M models, C cases"
or exits with status 1 and what differs. Run with a Python that has onnx, onnxruntime and
numpy (/work/venv-ref/bin/python here).
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def main(folder):
    folder = Path(folder)
    models = sorted(folder.glob("*.onnx"))
    if not models:
        sys.exit(f"no .onnx files in {folder}")
    problems, cases_run = [], 0
    for path in models:
        model = onnx.load(str(path))
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # noqa: BLE001 - the checker's message is the report
            problems.append(f"{path.name}: check_model: {e}")
            continue
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        cases = sorted(folder.glob(f"{path.stem}.case*.inputs.npz"))
        if not cases:
            problems.append(f"{path.name}: no cases")
        for case in cases:
            inputs = dict(np.load(case))
            expected = dict(np.load(str(case).replace(".inputs.npz", ".outputs.npz")))
            got = session.run(names, inputs)
            cases_run += 1
            for name, g in zip(names, got):
                e = expected[name]
                if g.shape != e.shape:
                    problems.append(f"{case.name}: {name}: shape {g.shape} != {e.shape}")
                elif not np.allclose(g, e, atol=1e-5, rtol=1e-5):
                    worst = float(np.max(np.abs(g.astype(np.float64) - e)))
                    problems.append(f"{case.name}: {name}: max difference {worst:.3g}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"ok: {len(models)} models, {cases_run} cases")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
