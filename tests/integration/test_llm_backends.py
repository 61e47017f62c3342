"""The two real LLM back-ends on the bundled GGUF: in-process llama-cpp-python, and llama-cpp-python's own
OpenAI-compatible server on loopback (not a mock), driven through the same loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.answer.ask import ask
from overlay.answer.llm import bundled_model_path, make_llm
from overlay.settings import load_settings
from tests.conftest import write
from tests.llama_server import free_port, llama_server

pytestmark = pytest.mark.integration
MESSAGES = [{"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "Name one colour of the sky."}]


@pytest.fixture(scope="module")
def server_url():
    with llama_server("--model", str(bundled_model_path()), "--n_ctx", "2048") as url:
        yield url


def test_the_model_process_streams_counts_and_loads_once(vault: Path) -> None:
    settings = load_settings(vault, n_ctx=2048)
    llm = make_llm(settings)
    assert llm is make_llm(settings)  # loaded once per process
    starts = llm.worker.starts
    text = "".join(llm.stream(MESSAGES, max_tokens=24, temperature=0.0))
    assert text.strip() and 0 < llm.usage.completion_tokens <= 24 and llm.usage.prompt_tokens > 10
    assert llm.count_tokens("привет, мир") > 0 and llm.n_ctx == 2048
    assert llm.worker.starts == starts and llm.worker.alive  # the model stayed loaded between calls


def test_the_bundled_model_answers_a_real_question_with_default_settings(vault: Path, fake_index) -> None:
    """The README's first command on any CPU: default settings (cpu_repack auto), the bundled GGUF, a note."""
    write(vault, "Сон.md", "# Сон\nВзрослому спортсмену нужно восемь часов сна, а подростку девять.\n")
    ix = fake_index(vault, model_path="bundled", max_answer_tokens=48)
    ix.run()
    result = ask(ix.settings, "Сколько часов сна нужно спортсмену?", retriever=ix.retriever(),
                 llm=make_llm(ix.settings), write=True)
    assert result.note_path and (vault / result.note_path).is_file()
    assert result.draft.timings.gen_tokens > 0 and result.draft.model.startswith("SmolLM2")


def test_a_prompt_beyond_the_window_is_a_clear_error_not_a_valueerror(vault: Path) -> None:
    from overlay.errors import LLMError

    llm = make_llm(load_settings(vault, n_ctx=2048))
    too_long = [{"role": "user", "content": "слово " * 3000}]
    with pytest.raises(LLMError, match="does not fit the model's window") as caught:
        "".join(llm.stream(too_long, max_tokens=8, temperature=0.0))
    assert "n_ctx" in caught.value.hint
    assert "".join(llm.stream(MESSAGES, max_tokens=8, temperature=0.0)).strip()  # the model still answers


def test_openai_compatible_server_streams(vault: Path, server_url: str) -> None:
    llm = make_llm(load_settings(vault, llm_url=server_url, n_ctx=2048))
    text = "".join(llm.stream(MESSAGES, max_tokens=24, temperature=0.0))
    assert text.strip() and llm.usage.completion_tokens > 0


def test_the_loop_through_the_server_writes_a_checked_note(vault: Path, fake_index, server_url: str) -> None:
    write(vault, "Sky.md", "# Sky\nThe sky is blue on a clear day because of Rayleigh scattering.\n")
    write(vault, "Sea.md", "# Sea\nThe sea looks blue because it reflects the [[Sky]].\n")
    ix = fake_index(vault, llm_url=server_url, n_ctx=2048, max_answer_tokens=48)
    ix.run()
    result = ask(ix.settings, "Why is the sky blue?", retriever=ix.retriever(), llm=make_llm(ix.settings))
    assert result.note_path and (vault / result.note_path).is_file()
    assert result.draft.timings.gen_tokens > 0 and "#### Sources" in result.answer


def test_unreachable_server_is_a_clear_error(vault: Path) -> None:
    from overlay.errors import LLMError

    llm = make_llm(load_settings(vault, llm_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(LLMError, match="cannot reach the model server"):
        "".join(llm.stream(MESSAGES, max_tokens=4, temperature=0.0))
