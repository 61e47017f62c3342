"""Words typed with the other keyboard layout on (overlay.search.layout), and their place in search."""

from __future__ import annotations

from overlay.index.stems import tokenize
from overlay.search.evaluation import on_wrong_layout
from overlay.search.layout import Letters, other_layout, relayout

VAULT_WORDS = ("прогрессивное резюмирование заметки обучении docker compose npm ci qwen3 8b разница менеджером "
               "архитектором холизм ошибка редукционизм дом")
KNOWN = set(tokenize(VAULT_WORDS))


def known(stem: str) -> bool:
    return stem in KNOWN


def test_a_word_no_note_has_is_read_on_the_other_layout_when_that_is_a_word_of_the_vault() -> None:
    assert relayout("ghjuhtccbdyjt htp.vbhjdfybt", known) == "прогрессивное резюмирование"  # "." is ю there
    assert relayout("тзь сш", known) == "npm ci"  # Latin typed on the Russian layout
    assert relayout("вщслук compose", known) == "docker compose"  # one word of two
    assert relayout("Йцут3-8И", known) == "Qwen3-8B"  # digits are the same keys on both
    assert relayout("{jkbpv", known) == "Холизм"  # shifted keys: { is Х


def test_a_stop_word_is_read_so_only_in_a_query_typed_on_the_wrong_layout() -> None:
    assert relayout("pfvtnrb ghb j,extybb", known) == "заметки при обучении"  # "ghb" is "при", "," is б
    assert relayout("Hfpybwf vt;le vtytl;thjv b fh[bntrnjhjv", known) == "Разница между менеджером и архитектором"
    assert relayout("jib,rf, rfr b ljv", known) == "ошибка, как и дом"  # the comma after a word stays a comma
    assert relayout("ghb", known) == "ghb"  # a stop word alone: nothing says the layout was wrong
    assert relayout("I use ljv", known) == "I use дом"  # "I" is no Russian word of one letter ("Ш")


def test_the_question_mark_of_a_question_typed_on_the_latin_keys_is_read_too() -> None:
    assert relayout("ghjuhtccbdyjt htp.vbhjdfybt&", known) == "прогрессивное резюмирование?"  # Shift+7
    assert relayout("ljv&", known) == "дом?"
    assert relayout("ghjuhtccbdyjt & ljv", known) == "прогрессивное & дом"  # only right after a word read so


def test_a_short_word_is_read_so_only_where_nothing_else_in_the_query_is_a_word_as_typed() -> None:
    assert relayout("ljv", known) == "дом" and relayout("тзь сш", known) == "npm ci"
    assert relayout("ljv ghjuhtccbdyjt", known) == "дом прогрессивное"  # a long word read vouches for the layout
    assert relayout("the ljv", known) == "the ljv"  # "the" is a word as typed: "ljv" may be a name the vault lacks
    # (one vault word in twenty-odd thousand of another vault reads as a short word of the first: "its" → "шеы")


def test_what_the_vault_has_or_no_layout_makes_a_word_of_is_left_as_typed() -> None:
    assert relayout("npm ci", known) == "npm ci"
    assert relayout("docker, please.", known) == "docker, please."
    assert relayout("прогрессивное резюмирование", known) == "прогрессивное резюмирование"
    assert relayout("hello world", known) == "hello world"  # "руддщ цщкдв" is no word of the vault
    assert relayout("ljv", lambda stem: True) == "ljv"  # a word the vault has ("ljv") is never changed


def test_other_layout_is_its_own_inverse_and_on_wrong_layout_types_a_name_so() -> None:
    for word in ("Прогрессивное", "Холизм", "ёлка", "Qwen3"):
        assert other_layout(other_layout(word)) == word
    assert on_wrong_layout("Прогрессивное резюмирование") == "Ghjuhtccbdyjt htp.vbhjdfybt"
    assert on_wrong_layout("Квантизация GGUF") == "Rdfynbpfwbz GGUF"  # the other script's words come out right
    assert on_wrong_layout("npm ci") == "тзь сш"
    assert on_wrong_layout("Qwen3 и LoRA") == "Йцут3 и ДщКФ"  # mostly Latin: typed on the Russian layout


LETTERS = Letters(tokenize("в каком порту висит сервер, как запустить контейнер: docker compose, мой дом"))


def test_letters_say_how_much_a_string_looks_like_the_vaults_words() -> None:
    assert LETTERS.share("висит") >= 0.5 and LETTERS.share("dbcbn") == 0.0  # stems: вис, not висит
    assert LETTERS.share("запустить") >= 0.5 > LETTERS.share("pfgecnbnm")
    assert LETTERS.share("") == 0.0


def test_the_rest_of_a_query_seen_typed_on_the_wrong_layout_is_read_so_where_it_looks_like_words_there() -> None:
    typed = "yf rfrjv gjhne e vtyz dbcbn ljv"  # "на каком порту у меня висит дом": only "дом" is a word of the vault
    assert relayout(typed, known) == "на rfrjv gjhne у меня dbcbn дом"  # without letters: the stop words only
    assert relayout(typed, known, lambda: LETTERS) == "на каком порту у меня висит дом"
    assert relayout("как запустить вщслук", known, lambda: LETTERS) == "как запустить docker"  # typed right stays
    assert relayout("dbcbn", known, lambda: LETTERS) == "dbcbn"  # nothing the vault has says the layout was wrong


def test_any_text_is_read_without_error_and_a_query_the_vault_knows_is_left_alone() -> None:
    import random

    rng = random.Random(5)
    alphabet = "abcxyzABC абвгдеёжзЖЭХЪ0123456789 ,.;:'\"[]{}<>`~-_!?#*()/\\\t\n🙂ß"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        read = relayout(text, known, lambda: LETTERS)
        assert isinstance(read, str) and relayout(text, lambda stem: True, lambda: LETTERS) == text
