"""How settings become llama.cpp load options: GPU offload, flash attention, threads, the adapter, cpu_repack."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(("offload", "layers", "flash", "expect_layers", "expect_flash"), [
    (True, -1, "auto", -1, True),  # a CUDA build: every layer on the GPU, flash attention on
    (False, -1, "auto", 0, False),  # a CPU build: CPU, whatever was asked
    (True, 20, "auto", 20, True),  # a split: 20 layers offloaded
    (True, 0, "auto", 0, False),  # forced CPU on a GPU build
    (False, -1, "on", 0, True),
])
def test_gpu_offload_is_automatic_and_overridable(monkeypatch, vault, offload, layers, flash, expect_layers,
                                                  expect_flash) -> None:
    from overlay.engine import llama as llm_llama
    from overlay.settings import load_settings

    monkeypatch.setattr(llm_llama, "gpu_offload_supported", lambda: offload)
    options = llm_llama.load_options(load_settings(vault, n_gpu_layers=layers, flash_attn=flash, n_threads=3))
    assert options["n_gpu_layers"] == expect_layers and options["flash_attn"] is expect_flash
    assert options["n_threads"] == 3 and options["verbose"] is False


def test_a_missing_lora_is_a_clear_error(vault) -> None:
    from overlay.engine import llama as llm_llama
    from overlay.errors import LLMError
    from overlay.settings import load_settings

    with pytest.raises(LLMError, match="LoRA adapter not found"):
        llm_llama.load_options(load_settings(vault, lora_path=str(vault / "missing.gguf")))


AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile amx_int8\n"
PLAIN_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"


@pytest.mark.parametrize(("cpuinfo", "setting", "expected"), [
    (AMX_CPU, "auto", False),  # the crashing AMX buffer stays off
    (PLAIN_CPU, "auto", True),  # repacked weights: 1.6x prompt speed on Q4_0 (bench/repack_bench.py)
    (AMX_CPU, "on", True),  # the user's word wins
    (PLAIN_CPU, "off", False),
])
def test_cpu_repack_is_off_on_amx_cpus_unless_asked(monkeypatch, tmp_path: Path, vault, cpuinfo: str, setting: str,
                                                     expected: bool) -> None:
    from overlay.engine import llama
    from overlay.settings import load_settings

    (tmp_path / "cpuinfo").write_text(cpuinfo)
    monkeypatch.setattr(llama, "system_info", lambda: "CPU : AVX2 = 1 | REPACK = 1 |")
    real = llama.cpu_has_amx
    monkeypatch.setattr(llama, "cpu_has_amx", lambda: real(tmp_path / "cpuinfo"))
    assert llama.load_options(load_settings(vault, cpu_repack=setting))["use_extra_bufts"] is expected


def test_amx_is_seen_in_cpuinfo_or_in_llama_cpps_build_line(monkeypatch, tmp_path: Path) -> None:
    from overlay.engine import llama

    (tmp_path / "amx").write_text(AMX_CPU)
    (tmp_path / "plain").write_text(PLAIN_CPU)
    monkeypatch.setattr(llama, "system_info", lambda: "CPU : AVX2 = 1 |")
    assert llama.cpu_has_amx(tmp_path / "amx") and not llama.cpu_has_amx(tmp_path / "plain")
    assert not llama.cpu_has_amx(tmp_path / "missing")  # not Linux: no cpuinfo, and a build without AMX
    monkeypatch.setattr(llama, "system_info", lambda: "CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    assert llama.cpu_has_amx(tmp_path / "plain")


def test_a_wrong_cpu_repack_value_is_refused(vault) -> None:
    from overlay.errors import ConfigError
    from overlay.settings import load_settings

    with pytest.raises(ConfigError, match="cpu_repack"):
        load_settings(vault, cpu_repack="maybe")


def test_the_server_launcher_takes_its_own_flag_and_passes_the_rest() -> None:
    from overlay.engine.server import split_args

    assert split_args(["--model", "m.gguf", "--cpu-repack", "off", "--port", "1"]) == ("off", ["--model", "m.gguf",
                                                                                            "--port", "1"])
    assert split_args(["--cpu-repack=on"]) == ("on", []) and split_args([]) == ("auto", [])
    with pytest.raises(SystemExit, match="not one of"):
        split_args(["--cpu-repack", "maybe"])
