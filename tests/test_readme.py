"""The README's code runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf8"), re.S)
    assert blocks, "the README shows the API in python blocks"
    namespace: dict = {}
    exec(compile("\n".join(blocks), str(README), "exec"), namespace)
    assert namespace["accuracy"] > 0.8
    # The config block runs last and rebinds model.
    assert namespace["model"].name == "relu>>softmax"
    assert namespace["optimizer"].learn_rate == 0.001
