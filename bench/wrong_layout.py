"""Every dev set's questions typed with the other keyboard layout on (`on_wrong_layout`: a Russian question's
Cyrillic words on the Latin keys, an English one's on the Russian keys), scored through search as the questions
themselves are: how much of a question typed so search reads back, and what that costs at hit@1 / hit@5.

    .venv/bin/python bench/wrong_layout.py

Per set: the questions as written, typed on the wrong layout and searched as typed (the reading switched off), and
searched as overlay reads them; plus how many read back to exactly the question. Uses the suite's cached indexes
(bench/retrieval_suite.py builds them).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_suite as suite

from overlay import library
from overlay.search.evaluation import evaluate_search, load_questions, on_wrong_layout
from overlay.search.retrieval import Retriever


def main() -> None:
    print("| set | n | as written hit@1 (hit@5) | wrong layout, as typed | wrong layout, read | read back exactly |")
    print("|---|---|---|---|---|---|")
    reading = Retriever.spelled
    for name, (vault, questions_file) in suite.SETS.items():
        if not vault.exists():
            continue
        retriever = library.open_retriever(suite.settings_for(name, {}, False))
        questions = load_questions(questions_file)
        typed = [dataclasses.replace(q, question=on_wrong_layout(q.question)) for q in questions]
        written = evaluate_search(retriever, questions)
        read = evaluate_search(retriever, typed)
        back = sum(retriever.spelled(t.question) == q.question for t, q in zip(typed, questions, strict=True))
        Retriever.spelled = lambda self, query: query  # the reading off: searched as typed
        try:
            as_typed = evaluate_search(retriever, typed)
        finally:
            Retriever.spelled = reading
        cells = [f"{r['hit@1']:.3f} ({r['hit@5']:.3f})" for r in (written, as_typed, read)]
        print(f"| {name} | {len(questions)} | {' | '.join(cells)} | {back} |")


if __name__ == "__main__":
    main()
