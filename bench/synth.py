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


TOPICS_RU = ("Второй мозг и заметки", "Управление командой разработки", "Системное мышление и обратные связи",
             "Архитектура распределённых сервисов", "Воспитание детей без наказаний", "Финансовая грамотность семьи",
             "Тренировки на выносливость", "Книги по психологии принятия решений", "Локальные языковые модели",
             "Домашний сервер и резервные копии", "Писательство и редактура текста", "Путешествия по Кавказу")


def make_realistic_vault(root: Path, n: int, *, unlinked: float = 0.8, seed: int = 7) -> list[str]:
    """A vault shaped like real personal ones (issue: the graph page on a real vault): `unlinked` of the notes link
    nowhere (quote cards, inbox, daily notes), the rest form topic clusters around a few large hubs with long titles
    (most links stay inside the topic, a few cross), plus some pairs and triples. Deterministic for a seed."""
    rng = random.Random(seed)
    (root / ".obsidian").mkdir(parents=True, exist_ok=True)
    linked = n - int(n * unlinked)
    topics = [f"{TOPICS_RU[i % len(TOPICS_RU)]}" + (f" ({i // len(TOPICS_RU) + 1})" if i >= len(TOPICS_RU) else "")
              for i in range(max(3, min(40, linked // 40)))]
    titles = [f"{rng.choice(RU).capitalize()} {rng.choice(RU)} и {rng.choice(RU)} {i}" for i in range(n)]
    topic_of = [rng.randrange(len(topics)) for _ in range(linked)]
    members: dict[int, list[int]] = {}
    for i, t in enumerate(topic_of):
        members.setdefault(t, []).append(i)
    paths = []

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(rel)

    for t, name in enumerate(topics):  # hubs: a long title, links to most of the topic
        links = "\n".join(f"- [[{titles[i]}]]" for i in members.get(t, []) if rng.random() < 0.7)
        write(f"Карты/{name}.md", f"# {name}\n\n{_paragraph(rng, RU)}\n\n{links}\n")
    for i in range(linked):
        t = topic_of[i]
        peers = members[t]
        links = {f"[[{topics[t]}]]"} if rng.random() < 0.5 else set()
        links |= {f"[[{titles[rng.choice(peers)]}]]" for _ in range(rng.randint(0, 3))}
        if rng.random() < 0.05:  # a link across topics
            links.add(f"[[{titles[rng.randrange(linked)]}]]")
        if i % 25 == 0 and i + 1 < linked:  # a pair apart from every topic
            links = {f"[[{titles[i + 1]}]]"}
        write(f"Темы/{titles[i]}.md", f"# {titles[i]}\n\n{_paragraph(rng, RU)}\n\n{' '.join(sorted(links))}\n")
    for i in range(linked, n):
        folder = ("Цитаты", "Inbox", "Daily")[i % 3]
        write(f"{folder}/{titles[i]}.md", f"# {titles[i]}\n\n{_paragraph(rng, RU)}\n")
    return paths
