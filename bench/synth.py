"""Synthetic vaults for benchmarks: Russian and English notes with sections, wiki-links (some dangling), tags and
aliases. Deterministic for a given seed, so runs are comparable."""

from __future__ import annotations

import random
from pathlib import Path

RU = ("модель обучение память видеокарта сон тренировка интервал пульс восстановление квантизация заметка граф "
      "ссылка поиск эмбеддинг датасет чат ответ вопрос архитектура слой токен контекст скорость качество ошибка "
      "данные сервер резерв копия ночь утро неделя план проект задача идея система мышление опыт уровень путь "
      "анализ результат метод проверка запуск настройка параметр значение диск процессор поток очередь индекс "
      "документ раздел заголовок текст язык перевод смысл вектор расстояние сходство кластер тема книга автор").split()
EN = ("model training memory card sleep workout interval heart recovery quantization note graph link search "
      "embedding dataset chat answer question architecture layer token context speed quality error data server "
      "backup copy night morning week plan project task idea system thinking experience level path analysis "
      "result method check launch setting parameter value disk processor thread queue index document section "
      "heading text language translation meaning vector distance similarity cluster topic book author").split()
FOLDERS = ("LLM", "Спорт", "Projects", "Daily", "Inbox", "Чаты", "Archive/2024", "Archive/2025")


def _sentence(rng: random.Random, words: list[str]) -> str:
    body = " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))
    return body[0].upper() + body[1:] + "."


def _paragraph(rng: random.Random, words: list[str]) -> str:
    return " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 4)))


def note_text(rng: random.Random, i: int, titles: list[str]) -> str:
    words = RU if i % 3 else EN  # two thirds Russian
    tags = rng.sample(["llm/rag", "спорт/вело", "daily", "project/overlay", "заметки", "reading"], 2)
    lines = ["---", f"tags: [{', '.join(tags)}]"]
    if i % 7 == 0:
        lines.append(f"aliases: [alias-{i}]")
    lines += ["---", f"# {titles[i]}", "", _paragraph(rng, words)]
    for s in range(rng.randint(1, 2)):
        lines += ["", f"## {rng.choice(words).capitalize()} {s}", "", _paragraph(rng, words)]
        links = [f"[[{titles[rng.randrange(len(titles))]}]]" for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.1:
            links.append(f"[[Missing {rng.randint(0, 50)}]]")
        lines += ["", f"См. {', '.join(links)} #{rng.choice(tags)}"]
    return "\n".join(lines) + "\n"


def make_vault(root: Path, n: int, seed: int = 7) -> list[str]:
    """Write `n` notes under `root`; return their vault paths."""
    rng = random.Random(seed)
    (root / ".obsidian").mkdir(parents=True, exist_ok=True)
    titles = [f"{rng.choice(RU if i % 3 else EN).capitalize()} {i}" for i in range(n)]
    paths = []
    for i in range(n):
        rel = f"{FOLDERS[i % len(FOLDERS)]}/{titles[i]}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(note_text(rng, i, titles), encoding="utf-8")
        paths.append(rel)
    return paths
