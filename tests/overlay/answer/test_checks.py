from __future__ import annotations

from overlay.answer.checks import cited_sources, normalise_citations, renumber, strip_failures, verify


def test_loose_citation_forms_become_footnotes_but_links_and_definitions_do_not() -> None:
    text = "A [1]. B [2, 3]. C [^4]. [[1]] stays. [x](y) stays. [5](http://a) stays. [^6]: def. Year [2024]."
    assert normalise_citations(text) == (
        "A [^1]. B [^2] [^3]. C [^4]. [[1]] stays. [x](y) stays. [5](http://a) stays. [^6]: def. Year [2024].")


def test_verify_counts_and_names_failures() -> None:
    verdict = verify("x [^1] [^2] [^9] [[Real]] [[Real#H|shown]] [[Fake]]", 3, lambda t: t.startswith("Real"))
    assert (verdict.citations_total, verdict.citations_valid) == (3, 2)
    assert (verdict.links_total, verdict.links_resolved) == (3, 2)
    assert verdict.bad_citations == [9] and verdict.bad_links == ["Fake"] and not verdict.ok


def test_strip_failures_keeps_the_sentence_readable() -> None:
    text = "Восемь часов [^9]. См. [[Книга|книгу о сне]] и [[Другая#Глава]] [^1]."
    verdict = verify(text, 1, lambda t: False)
    assert strip_failures(text, verdict) == "Восемь часов. См. книгу о сне и Другая [^1]."


def test_cited_order_and_renumbering() -> None:
    text = "a [^3] b [^1] c [^3]"
    assert cited_sources(text) == [3, 1]
    assert renumber(text, {3: 1, 1: 2}) == "a [^1] b [^2] c [^1]"
