"""A question that names the note it is about — "какие правила я выписал к книге про канцелярит и штампы", "in my
post about how long to stay at one job, what is the third year for?" — asks for something inside that note or in a
smaller note it links to (a quote card under a book note, the post a summary points to). Hybrid search finds the
named note: its words are the question's best match. What is asked sits in the rest of the question, which this
module separates from the words that name the note. A question that says a note links somewhere — "the roadmap
links to a model note: how do I turn its thinking off", "страница про npm link ссылается на описание папок: куда …"
— asks for a note that one links to.

Written by hand: it is a reading of a sentence's shape (a preposition, a kind of note, "about", the description),
which no library here parses; spaCy-class parsers are hundreds of MB per language for one clause."""

from __future__ import annotations

import re
from dataclasses import dataclass

from overlay.index.stems import tokenize
from overlay.search.names import FRAME

# The words for a kind of note, which a question adds to the words that name one: "к книге про канцелярит", "the
# npm ci page", "в заметке про биохакинг". Stems, as tokenize() makes them: "книг" covers книга/книге/книгой.
KINDS = frozenset(tokenize(
    "книга заметка заметки чат статья пост конспект пересказ дневник разговор переписка лекция подкаст курс видео "
    "доклад выписка записка эссе обзор саммари рецензия страница раздел папка карта хаб команда документация "
    "описание book note notes chat article post summary conversation diary journal talk podcast course lecture page "
    "essay review writeup thread docs documentation guide command section folder map hub file"))
_OWNERS = frozenset(tokenize("мой моя моё мою моей моём моем моих моим мои свой своя своей своём своих эта этой этом "
                             "этот этих my your our"))

_RU_OWNER = r"(?:(?:мо|сво|эт|т)(?:ей|ём|ем|их|ю|ё|й|им|ом|ой|у|а|и)\s+)?"
_RU_ASKING = r"(?:как\w*|что|чем|чего|кто|кого|где|когда|почему|зачем|сколько|из\s+как\w+|с\s+как\w+)"
# The description ends at punctuation, at "и" + a question word (a second question), at "я"/"есть" (a clause of
# its own), or at a verb of linking; "о том, как …" keeps its comma.
_RU_DESCRIPTION = (r"(?P<d>(?:том,\s*(?:как|что|чтобы|почему|где|когда)\s+)?(?:(?!\s+и\s+" + _RU_ASKING
                   + r"\b|\s+я\s|\s+есть\s|\s+(?:ссылается|отсылает|указывает|ведёт|упоминает)\b)[^—:;?!.,])+)")
# a preposition, "my", a kind of note (checked against KINDS), "about" and a description, or a title in quotes
_RU = re.compile(r"(?<!\w)(?:в|во|к|по|из|с|со|на|о|об|про|от)\s+" + _RU_OWNER + r"(?P<kind>[\w-]+)"
                 + r"\s+(?:(?:о|об|обо|про|на\s+тему|по\s+поводу)\s+" + _RU_DESCRIPTION
                 + r"|[«\"“](?P<t>[^»\"”]+)[»\"”])", re.IGNORECASE)
_EN_DESCRIPTION = (r"(?P<d>(?:(?!\s+(?:I|do\s+I|did\s+I|and\s+(?:what|which|how|who|why|when|where)|links|points"
                   r"|refers)\s)[^—:;?!.,])+)")
_EN = re.compile(r"\b(?:in|from|of|on|to|for)\s+(?:my|the|a|this|that|your)\s+(?:[\w-]+\s+)?(?P<kind>[\w-]+)"
                 + r"\s+(?:(?:about|on|of|regarding|called|titled)\s+" + _EN_DESCRIPTION
                 + r"|[\"“'](?P<t>[^\"”']+)[\"”'])", re.IGNORECASE)
# "<a note> links to <a note>: <what is asked>"
_LINKS = re.compile(r"^(?P<s>[^:—]+?)\s+(?:links?\s+to|points?\s+to|refers?\s+to|ссылается\s+на|отсылает\s+к"
                    r"|указывает\s+на|ведёт\s+на|есть\s+ссылка\s+(?:на|про|о))\s+(?P<t>[^:—]+?)\s*[:—]\s*(?P<a>.+)$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class ContextQuestion:
    names: str  # the words that name the note the question is about ("канцелярит и штампы"; "roadmap")
    ask: str  # the question without them: what is asked of that note
    target: str | None = None  # "X links to <target>: …": how the question describes the note X links to


def read_context(question: str, *, links: bool = True) -> ContextQuestion | None:
    """None when the question names no note, or when nothing is left to ask once the naming words are out (only
    asking words: "в книге про канцелярит — что там?"). `links=False`: not as "X links to Y: …" (for when X turned
    out to name no note)."""
    linking = _LINKS.search(question.strip()) if links else None
    if linking is not None:
        subject = " ".join(w for w in re.findall(r"[\w.-]+", linking.group("s"))
                           if tokenize(w) and not set(tokenize(w)) & (KINDS | _OWNERS))
        if tokenize(subject) and set(tokenize(linking.group("a"))) - FRAME:
            return ContextQuestion(subject, linking.group("a").strip(), linking.group("t").strip())
    for pattern in (_RU, _EN):
        match = _naming(pattern, question)
        if match is None:
            continue
        names = (match.group("d") or match.group("t") or "").strip()
        ask = " ".join(f"{question[:match.start()]} {question[match.end():]}".split()).strip(" ,—–:-")
        ask = re.sub(r"\s*,(?:\s*,)+", ",", re.sub(r"\s+([,?!.])", r"\1", ask))
        if names and set(tokenize(ask)) - FRAME:
            return ContextQuestion(names, ask)
    return None


def _naming(pattern: re.Pattern[str], question: str) -> re.Match[str] | None:
    """The first match whose kind of note is one (KINDS): "с другом о книге про …" is tried at "с другом" first."""
    start = 0
    while (match := pattern.search(question, start)) is not None:
        if set(tokenize(match.group("kind"))) & KINDS:
            return match
        start = match.start() + 1
    return None
