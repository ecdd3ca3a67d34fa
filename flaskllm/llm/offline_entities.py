"""Regex entity extraction for the offline provider.

No model: patterns for the well-formed things (emails, URLs, phones, money, percentages,
dates, times) and runs of Capitalized words for names, typed by small word lists. Every
entity carries exact offsets, ``text[start:end] == entity["text"]``; overlaps are resolved
longest-first so "$25 USD" is one MONEY, not a MONEY and an OTHER.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ENTITY_TYPES = ("PERSON", "ORGANIZATION", "LOCATION", "DATE", "TIME", "MONEY", "PERCENT",
                "EMAIL", "URL", "PHONE", "OTHER")

# Shared with the summarizer: words that carry no topic and never start a name.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each either else
ever every few for from further had has have having he her here hers herself him himself his
how i if in into is it its itself just let me more most my myself neither no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under
until up upon us very was we were what when where which while who whom whose why will with
within without would yet you your yours yourself yourselves shall may might must
""".split())

# Capitalized only because they open a sentence or a letter; never a name on their own.
_COMMON = frozenset("""
please thanks thank hi hello hey dear regards best cheers sincerely yes yeah okay ok great
good bad overall however unfortunately fortunately finally additionally meanwhile today
tomorrow yesterday tonight next last note sorry welcome congratulations love loved hate
highly definitely absolutely honestly really well sure here's there's it's let's i'm i've
we're we'll i'll one two three first second third
""".split())

_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_HONORIFICS = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof"})
_ORG_WORDS = frozenset("""Inc Ltd LLC LLP Corp Corporation Company Co University Bank Group GmbH
PLC Holdings Institute Foundation Association Technologies Labs""".split())
_CONNECTORS = frozenset({"of", "de", "del", "da", "du", "van", "von", "der", "&"})
_LOCATIONS = frozenset(s.strip() for s in """
Afghanistan, Argentina, Australia, Austria, Bangladesh, Belgium, Brazil, Canada, Chile, China,
Colombia, Denmark, Egypt, Ethiopia, Finland, France, Germany, Greece, India, Indonesia, Iran,
Iraq, Ireland, Israel, Italy, Japan, Kenya, Malaysia, Mexico, Morocco, Netherlands, New Zealand,
Nigeria, Norway, Pakistan, Peru, Philippines, Poland, Portugal, Russia, Saudi Arabia,
Singapore, South Africa, South Korea, Korea, Spain, Sweden, Switzerland, Taiwan, Thailand,
Turkey, Ukraine, United Arab Emirates, UAE, United Kingdom, UK, United States, USA, US,
America, Vietnam, Europe, Asia, Africa, England, Scotland, Wales, Hungary, Romania, Czechia,
Amsterdam, Athens, Atlanta, Austin, Bangkok, Barcelona, Beijing, Berlin, Boston, Brussels,
Buenos Aires, Cairo, Chicago, Copenhagen, Dallas, Delhi, New Delhi, Denver, Dubai, Dublin,
Frankfurt, Geneva, Hamburg, Hong Kong, Houston, Istanbul, Jakarta, Johannesburg, Lagos,
Lisbon, London, Los Angeles, Madrid, Manchester, Melbourne, Mexico City, Miami, Milan,
Montreal, Moscow, Mumbai, Munich, Nairobi, New York, Oslo, Paris, Prague, Rio de Janeiro,
Rome, San Francisco, Santiago, Sao Paulo, Seattle, Seoul, Shanghai, Stockholm, Sydney,
Tel Aviv, Tokyo, Toronto, Vancouver, Vienna, Warsaw, Washington, Zurich
""".split(","))

_SP = r"[^\S\r\n]"  # horizontal whitespace only: an entity never spans lines
_MONTH = (r"(?:(?:January|February|March|April|May|June|July|August|September|October"
          r"|November|December)\b|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?)")
_WEEKDAY = (r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
            r"|(?:Mon|Tues|Tue|Wed|Thurs|Thu|Fri|Sat|Sun)\b\.?)")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b"
_OPT_YEAR = rf"(?:,?{_SP}+\d{{4}}\b)?"
_WD = rf"(?:{_WEEKDAY},?{_SP}+)?"
_AMPM = r"(?:[AaPp]\.[Mm]\.|[AaPp][Mm]\b)"  # "3pm." leaves the full stop to the sentence
_TZ = rf"(?:{_SP}?(?:UTC|GMT|CEST|CET|BST|[ECMP][SD]?T)\b)?"
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SCALE = rf"(?:{_SP}?(?:thousand|million|billion|trillion)\b|(?:[kKmMbB]n?)\b)"
_CODE = r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|INR|SEK|NOK|DKK|SGD|HKD|MXN|BRL)"
_CURRENCY_WORD = rf"(?:dollars?|euros?|cents?|yen|rupees?|francs?|pounds{_SP}sterling)"

# (type, pattern). Overlaps go to the longest span, then to the type first in _PRIORITY.
_PATTERNS = [(kind, re.compile(p)) for kind, p in [
    ("EMAIL", r"(?<![\w.+-])[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("URL", r"\b(?:https?://|www\.)[^\s<>\"'`]+"),
    ("URL", r"(?<![\w@.-])(?:[A-Za-z0-9-]+\.)+(?:com|org|net|io|ai|co|dev|app|edu|gov)\b"
            r"(?:/[^\s<>\"'`]*)?"),
    ("PHONE", r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)"),
    ("PHONE", rf"(?<![\w.+-])(?:1[ .-])?(?:\(\d{{3}}\){_SP}?|\d{{3}}[ .-])\d{{3}}[ .-]\d{{4}}(?!\d)"
              rf"(?:{_SP}?(?:x|ext\.?){_SP}?\d{{1,5}})?"),
    ("MONEY", rf"(?:US|A|C|NZ|HK|S)?[$€£¥₹]{_SP}?{_NUM}{_SCALE}?(?:{_SP}?{_CODE}\b)?"),
    ("MONEY", rf"\b{_CODE}{_SP}?{_NUM}{_SCALE}?"),
    ("MONEY", rf"(?<![\w.,]){_NUM}{_SCALE}?{_SP}?(?:{_CODE}\b|{_CURRENCY_WORD}\b|[€£])"),
    ("PERCENT", rf"(?<![\w.]){_NUM}{_SP}?(?:%|percent\b|per{_SP}cent\b|pct\b)"),
    ("DATE", rf"\b{_WD}{_MONTH}{_SP}+{_DAY}{_OPT_YEAR}"),                     # March 15, 2024
    ("DATE", rf"\b{_WD}{_DAY}{_SP}+(?:of{_SP}+)?{_MONTH}{_OPT_YEAR}"),        # 15 March 2024
    ("DATE", rf"\b{_MONTH}{_SP}+\d{{4}}\b"),                               # March 2024
    ("DATE", r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"),
    ("DATE", r"\b(?:0?[1-9]|[12]\d|3[01])([/-])(?:0?[1-9]|[12]\d|3[01])\1(?:\d{4}|\d{2})\b"),
    ("DATE", r"\b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.\d{4}\b"),
    ("DATE", rf"\b(?:(?:[Nn]ext|[Tt]his|[Ll]ast|[Cc]oming){_SP}+)?"
             r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"),
    ("DATE", r"\b(?:[Tt]oday|[Tt]omorrow|[Yy]esterday|[Tt]onight)\b"),
    # A bare month name is a date; "May" alone is too often the verb.
    ("DATE", r"\b(?:January|February|March|April|June|July|August|September|October"
             r"|November|December)\b"),
    ("TIME", rf"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d)(?:{_SP}?{_AMPM})?{_TZ}"),
    ("TIME", rf"\b(?:1[0-2]|0?[1-9]){_SP}?{_AMPM}{_TZ}"),
    ("TIME", r"\b(?:noon|midnight)\b"),
]]
_PRIORITY = {kind: i for i, kind in enumerate(
    ["EMAIL", "URL", "PHONE", "MONEY", "PERCENT", "DATE", "TIME",
     "PERSON", "ORGANIZATION", "LOCATION", "OTHER"])}
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’&-][A-Za-z0-9]+)*|&")
_BULLET_BEFORE = re.compile(r"(?:^|\n)[^\S\n]*(?:[-*•–]|\d{1,2}[.)])$")


class _Span(NamedTuple):
    start: int
    end: int
    type: str


def extract_entities(text: str) -> list[dict]:
    """Entities in ``text``, sorted by start, without overlaps: [{text, type, start, end}]."""
    candidates = list(_pattern_spans(text)) + list(_name_spans(text))
    # Longest first, then the more specific type, then leftmost: a bytearray marks taken
    # characters so resolving stays linear in the text even with thousands of candidates.
    candidates.sort(key=lambda s: (s.start - s.end, _PRIORITY[s.type], s.start))
    taken = bytearray(len(text))
    chosen = []
    for span in candidates:
        if not any(taken[span.start:span.end]):
            taken[span.start:span.end] = b"\x01" * (span.end - span.start)
            chosen.append(span)
    chosen.sort()
    return [{"text": text[s.start:s.end], "type": s.type, "start": s.start, "end": s.end}
            for s in chosen]


def _pattern_spans(text: str):
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if kind == "URL":
                end = _trim_url(text, start, end)
            elif kind == "PHONE" and not 7 <= sum(c.isdigit() for c in text[start:end]) <= 15:
                continue
            if end > start:
                yield _Span(start, end, kind)


def _trim_url(text: str, start: int, end: int) -> int:
    # Sentence punctuation after a URL is not part of it; a ")" only when it closes a "(".
    while end > start:
        last = text[end - 1]
        url = text[start:end]
        if last in ".,;:!?'\"" or (last == ")" and url.count("(") < url.count(")")):
            end -= 1
        else:
            break
    return end


def _name_spans(text: str):
    tokens = [(m.start(), _name_end(m), m.group()) for m in _TOKEN.finditer(text)]
    # Capitalized where no sentence starts: evidence a word is a name, not just a first word.
    mid_sentence = {w for start, _, w in tokens
                    if _is_name_word(w) and not _sentence_start(text, start)}
    i = 0
    while i < len(tokens):
        if not _is_name_word(tokens[i][2]):
            i += 1
            continue
        last, k = i, i + 1
        while k < len(tokens):
            if _adjacent(text, tokens[last], tokens[k]) and _is_name_word(tokens[k][2]):
                last, k = k, k + 1
            elif (k + 1 < len(tokens) and tokens[k][2] in _CONNECTORS
                  and _adjacent(text, tokens[last], tokens[k])
                  and _adjacent(text, tokens[k], tokens[k + 1])
                  and _is_name_word(tokens[k + 1][2])):
                last, k = k + 1, k + 2
            else:
                break
        span = _classify(text, tokens, i, last, mid_sentence)
        if span:
            yield span
        i = last + 1


def _name_end(m: re.Match) -> int:
    # "Acme's" names Acme; "O'Brien" is one name: cut only a lowercase clitic.
    word = m.group()
    for mark in "'’":
        cut = word.find(mark)
        if cut > 0 and word[cut + 1:cut + 2].islower():
            return m.start() + cut
    return m.end()


def _is_name_word(word: str) -> bool:
    if not word[0].isupper():
        return False
    base = re.split(r"['’]", word)[0]
    if base in _HONORIFICS or base in _MONTHS or base in _WEEKDAYS:
        return False
    if base.lower() in _COMMON or word.lower() in _COMMON:
        return False
    if base.isupper() and 2 <= len(base) <= 3:  # an acronym, even one that spells a stopword: US, IT
        return True
    return base.lower() not in STOPWORDS


def _adjacent(text: str, a: tuple, b: tuple) -> bool:
    # Only spaces between, and ``a`` not cut short by a clitic: "Acme's Board" is two names.
    gap = text[a[1]:b[0]]
    return bool(gap) and not gap.strip(" \t") and a[1] == a[0] + len(a[2])


def _classify(text, tokens, i, last, mid_sentence) -> _Span | None:
    start, end = tokens[i][0], tokens[last][1]
    words = [w for _, _, w in tokens[i:last + 1]]
    name = text[start:end]
    if i > 0 and tokens[i - 1][2] in _HONORIFICS and re.fullmatch(
            r"\.?[ \t]+", text[tokens[i - 1][1]:start]):
        return _Span(tokens[i - 1][0], end, "PERSON")
    if any(w in _ORG_WORDS for w in words):
        return _Span(start, end, "ORGANIZATION")
    if name in _LOCATIONS:
        return _Span(start, end, "LOCATION")
    if i == last and words[0] not in mid_sentence and _sentence_start(text, start):
        # A lone capitalized word opening a sentence ("Decided to...", "Action items:") is
        # usually just a word; keep it only if the text capitalizes it mid-sentence too.
        return None
    return _Span(start, end, "OTHER")


def _sentence_start(text: str, pos: int) -> bool:
    # A short look-back window keeps this O(1) per name on long texts.
    before = text[max(0, pos - 80):pos].rstrip(" \t\"'“‘([")
    # Not ":": notes capitalize names in lists ("Attendees: Alice, Bob").
    return not before or before[-1] in ".!?;\n" or bool(_BULLET_BEFORE.search(before))
