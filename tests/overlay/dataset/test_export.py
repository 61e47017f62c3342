"""`overlay dataset export`: one clean example per exchange with its chat as context, duplicates dropped, a split
by chat that never changes, personal data redacted, and the user's edits of overlay's answers as preference
pairs. Fixtures written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overlay.answer import writeback
from overlay.dataset.clean import NearDuplicates, redact
from overlay.dataset.export import Options, export
from overlay.settings import load_settings
from tests.conftest import write

TOPICS = ("интервалов", "марафона", "силовой", "бассейна", "велогонки", "горного похода", "спарринга")
CHAT = (">[!nexus_user] **User** - 0{d}.11.2026 at 9:00\n> Как восстанавливаться после {t}?\n"
        "<!-- UID: {n}-1 -->\n\n>[!nexus_agent] **Assistant** - 0{d}.11.2026 at 9:01\n"
        "> После {t} — сон не меньше восьми часов, лёгкий день, углеводы в течение часа.\n"
        "<!-- UID: {n}-2 -->\n\n>[!nexus_user] **User** - 0{d}.11.2026 at 9:05\n> А если спал всего шесть часов?\n"
        "<!-- UID: {n}-3 -->\n\n>[!nexus_agent] **Assistant** - 0{d}.11.2026 at 9:06\n"
        "> Тогда всё, что связано с темой «{t}», переносится, день в лёгкой зоне.\n")
BOLD = ("**Human:** Напиши мне письмо ivan.petrov@mail.ru, телефон +7 (916) 123-45-67, сайт https://example.com/x\n\n"
        "**Assistant:** Письмо отправлю, карту 4111 1111 1111 1111 не храню, номер заказа 1234 5678 9012 3456 тоже.\n")


@pytest.fixture
def vault_with_chats(vault: Path) -> Path:
    for n in range(1, 7):
        write(vault, f"Чаты/Чат {n}.md", CHAT.format(n=n, d=n, t=TOPICS[n]))
    write(vault, "Чаты/Копия чата 1.md", CHAT.format(n=9, d=1, t=TOPICS[1]))  # exported twice (other ids)
    write(vault, "Чаты/Письмо.md", BOLD)
    write(vault, "Заметки/Сон.md", "# Сон\nВосемь часов сна, девять после интервалов.\n")
    return vault


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_clean_example_per_exchange_with_its_chat_as_context(vault_with_chats: Path, tmp_path: Path) -> None:
    out = tmp_path / "data.jsonl"
    report = export(load_settings(vault_with_chats), out, Options(val=0.0, system="Ты — мой помощник."))
    examples = rows(out)
    assert report.train == len(examples) == 13 and report.chats == 8  # 6 chats × 2 exchanges + the letter
    assert report.dropped["duplicate"] == 2  # the chat exported twice: both its exchanges
    second = next(e for e in examples if e["messages"][-2]["content"] == "А если спал всего шесть часов?"
                  and e["meta"]["source"] == "Чаты/Чат 2.md")
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]  # the first exchange as context
    text = json.dumps(examples, ensure_ascii=False)
    assert "UID" not in text and "nexus" not in text and "**User**" not in text and "> " not in text
    assert second["meta"]["date"] == "2026-11-02" and report.by_month == {"2026-11": 12, "undated": 1}


def test_the_split_is_by_chat_and_the_same_every_time(vault_with_chats: Path, tmp_path: Path) -> None:
    settings = load_settings(vault_with_chats)
    first = export(settings, tmp_path / "a.jsonl", Options(val=0.5, seed=3))
    again = export(settings, tmp_path / "b.jsonl", Options(val=0.5, seed=3))
    train, val = rows(tmp_path / "a.jsonl"), rows(tmp_path / "a.val.jsonl")
    assert first.val > 0 and first.train > 0 and (tmp_path / "a.val.jsonl").read_bytes() == \
        (tmp_path / "b.val.jsonl").read_bytes() and again.as_dict()["val"] == first.val
    assert not {e["meta"]["source"] for e in train} & {e["meta"]["source"] for e in val}


def test_redaction_and_the_other_formats(vault_with_chats: Path, tmp_path: Path) -> None:
    report = export(load_settings(vault_with_chats), tmp_path / "s.jsonl",
                    Options(fmt="sharegpt", val=0.0, redact=True, folders=("Чаты",)))
    letter = next(r for r in rows(tmp_path / "s.jsonl") if r["meta"]["source"] == "Чаты/Письмо.md")
    human, gpt = (c["value"] for c in letter["conversations"])
    assert "<EMAIL>" in human and "<PHONE>" in human and "<URL>" in human and "mail.ru" not in human
    assert "<CARD>" in gpt and "1234 5678 9012 3456" in gpt  # a Luhn-valid card goes; an order number stays
    assert report.redacted == {"email": 1, "url": 1, "phone": 1, "card": 1}
    export(load_settings(vault_with_chats), tmp_path / "a.jsonl", Options(fmt="alpaca", val=0.0))
    alpaca = next(r for r in rows(tmp_path / "a.jsonl") if r["instruction"] == "А если спал всего шесть часов?"
                  and r["meta"]["source"] == "Чаты/Чат 2.md")
    assert alpaca["input"].startswith("user: Как восстанавливаться") and alpaca["output"].startswith("Тогда")


def test_long_examples_shed_context_then_are_dropped(vault_with_chats: Path, tmp_path: Path) -> None:
    report = export(load_settings(vault_with_chats), tmp_path / "d.jsonl", Options(val=0.0, max_tokens=70))
    assert all(len(e["messages"]) == 2 for e in rows(tmp_path / "d.jsonl"))  # no room for context
    report = export(load_settings(vault_with_chats), tmp_path / "d.jsonl", Options(val=0.0, max_tokens=20))
    assert report.train == 0 and report.dropped["longer than --max-tokens"] == 15  # the copy's two as well


def test_an_answer_the_user_edited_becomes_a_preference_pair(vault_with_chats: Path, tmp_path: Path) -> None:
    from overlay.answer.note_format import stamp

    settings = load_settings(vault_with_chats)
    original = stamp("---\ntype: overlay-answer\nquestion: Сколько спать?\nrun_id: r1\nfingerprint: ''\n---\n"
                     "**Вопрос:** Сколько спать?\n\nВосемь часов [^1].\n")
    write(vault_with_chats, "Overlay/2026-11-30 Сколько спать.md", original)
    writeback.keep_original(settings, "r1", original)
    export(settings, tmp_path / "p.jsonl", Options(val=0.0))
    assert not (tmp_path / "p.pairs.jsonl").exists()  # untouched: no pair
    write(vault_with_chats, "Overlay/2026-11-30 Сколько спать.md", original.replace("Восемь часов", "Девять часов"))
    report = export(settings, tmp_path / "p.jsonl", Options(val=0.0))
    (pair,) = rows(tmp_path / "p.pairs.jsonl")
    assert report.pairs == 1 and pair["prompt"] == "Сколько спать?"
    assert "Девять часов" in pair["chosen"] and "Восемь часов" in pair["rejected"] and "---" not in pair["chosen"]


def test_near_duplicates_and_redaction_units() -> None:
    seen = NearDuplicates()
    letters = "абвгдежзиклмнопрстуфхцчшщэюя"
    words = [f"{letters[i % 28]}{letters[i // 28]}ка" for i in range(60)]  # 60 distinct words
    text = " ".join(words)
    assert seen.seen(text) is None and seen.seen(text.upper() + " 2026") == "duplicate"
    assert seen.seen(text.replace(words[30], "другое")) == "near-duplicate"  # one word of sixty changed
    assert seen.seen("совсем другой текст про велосипед и покрышки") is None
    assert redact("пиши на a.b@c.io или звони 8 916 123 45 67") == "пиши на <EMAIL> или звони <PHONE>"
