"""Number words for video headers, generated from units and tens (1-99), in folded form (see `normalize.fold`).

Arabic: ordinals with and without the article, masculine and feminine (الأول / الأولى, الحادي عشر / الحادية عشرة,
الحادي والعشرون), nominative and genitive tens (العشرون / العشرين), and the common الواحد والعشرون.
English: cardinals and ordinals (one … ninety-nine, first … ninety-ninth), hyphenated or spaced.
"""

from __future__ import annotations

from functools import lru_cache

from core.ingest.normalize import fold

# Per unit: (standalone masculine, standalone feminine, forms used in compounds 11-99)
_AR_UNITS: dict[int, tuple[list[str], list[str]]] = {
    1: (["الأول", "الأولى"], ["الحادي", "الحادية", "الواحد", "الواحدة"]),
    2: (["الثاني", "الثانية"], ["الثاني", "الثانية"]),
    3: (["الثالث", "الثالثة"], ["الثالث", "الثالثة"]),
    4: (["الرابع", "الرابعة"], ["الرابع", "الرابعة"]),
    5: (["الخامس", "الخامسة"], ["الخامس", "الخامسة"]),
    6: (["السادس", "السادسة"], ["السادس", "السادسة"]),
    7: (["السابع", "السابعة"], ["السابع", "السابعة"]),
    8: (["الثامن", "الثامنة"], ["الثامن", "الثامنة"]),
    9: (["التاسع", "التاسعة"], ["التاسع", "التاسعة"]),
}
_AR_TEN = ["العاشر", "العاشرة"]
_AR_TEEN = ["عشر", "عشرة"]
_AR_TENS: dict[int, list[str]] = {
    20: ["العشرون", "العشرين"],
    30: ["الثلاثون", "الثلاثين"],
    40: ["الأربعون", "الأربعين"],
    50: ["الخمسون", "الخمسين"],
    60: ["الستون", "الستين"],
    70: ["السبعون", "السبعين"],
    80: ["الثمانون", "الثمانين"],
    90: ["التسعون", "التسعين"],
}

_EN_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_EN_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_UNIT_ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_EN_TEEN_ORD = [
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_EN_TENS_ORD = ["twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth"]


def _without_article(phrase: str) -> str:
    """ "الحادي عشر" -> "حادي عشر"; "الحادي والعشرون" -> "حادي وعشرون"."""
    words = []
    for word in phrase.split(" "):
        if word.startswith("ال"):
            word = word[2:]
        elif word.startswith("وال"):
            word = "و" + word[3:]
        words.append(word)
    return " ".join(words)


@lru_cache(maxsize=1)
def arabic_ordinals() -> dict[str, int]:
    """Folded Arabic ordinal phrase -> number, 1-99."""
    table: dict[int, list[str]] = {}
    for n, (alone, _) in _AR_UNITS.items():
        table[n] = list(alone)
    table[10] = list(_AR_TEN)
    for n, (_, compound) in _AR_UNITS.items():
        table[10 + n] = [f"{u} {t}" for u in compound for t in _AR_TEEN]
    for tens, tens_words in _AR_TENS.items():
        table[tens] = list(tens_words)
        for n, (_, compound) in _AR_UNITS.items():
            table[tens + n] = [f"{u} و{t}" for u in compound for t in tens_words]
    out: dict[str, int] = {}
    for n, phrases in table.items():
        for phrase in phrases:
            folded = fold(phrase)
            out[folded] = n
            out.setdefault(_without_article(folded), n)
    return out


@lru_cache(maxsize=1)
def english_numbers() -> dict[str, int]:
    """English cardinal and ordinal words -> number, 1-99 ("twenty-one", "twenty one", "twenty-first")."""
    out: dict[str, int] = {}
    for i, (card, ordn) in enumerate(zip(_EN_UNITS, _EN_UNIT_ORD, strict=True), start=1):
        out[card], out[ordn] = i, i
    for i, (card, ordn) in enumerate(zip(_EN_TEENS, _EN_TEEN_ORD, strict=True), start=10):
        out[card], out[ordn] = i, i
    for t, (card, ordn) in enumerate(zip(_EN_TENS, _EN_TENS_ORD, strict=True), start=2):
        out[card], out[ordn] = t * 10, t * 10
        for u in range(1, 10):
            for sep in ("-", " "):
                out[f"{card}{sep}{_EN_UNITS[u - 1]}"] = t * 10 + u
                out[f"{card}{sep}{_EN_UNIT_ORD[u - 1]}"] = t * 10 + u
    return out


def number_words() -> dict[str, int]:
    """All folded number phrases (Arabic ordinals and English words) -> number."""
    return _all_words()


@lru_cache(maxsize=1)
def _all_words() -> dict[str, int]:
    return {**english_numbers(), **arabic_ordinals()}
