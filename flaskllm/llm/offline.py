"""The offline provider: summary, keywords, sentiment and entities with no key, no network
and no model download, so a fresh install answers something useful.

Everything is deterministic. The analysis lives in plain sync functions (``summarize``,
``extract_keywords``, ``analyze_sentiment``, ``extract_entities``, ``analyze``); the
provider calls them inline for short texts and in a worker thread for long ones, so the
event loop never stalls on CPU work. YAKE and VADER are imported on first use: importing
this module stays cheap for servers that never use it.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections import Counter
from typing import AsyncIterator

from flaskllm import errors
from flaskllm.llm import processing
from flaskllm.llm.base import Provider, Result, Task
from flaskllm.llm.offline_entities import STOPWORDS, extract_entities  # noqa: F401 (processing)

DEFAULT_MODEL = "offline-1"
INLINE_MAX_CHARS = 2000  # longer texts are analysed in a worker thread

# Summary -------------------------------------------------------------------------------

_BULLET = re.compile(r"^[ \t]*(?:[-*•–·]|\d{1,2}[.)]|[a-z][.)])[ \t]+")
_TERMINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
# A candidate end: terminal punctuation, then space, then something that can open a
# sentence. Whether it really ends one depends on the word before (see _ends_sentence).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs e.g i.e eg ie cf al approx dept est inc ltd co corp"
    .split())
_NUMBER_ABBREVIATIONS = frozenset("no nos vol p pp fig art sec ref".split())  # "No. 4471"
_CUES = re.compile(r"\b(?:action items?|decided|decision|agreed|approved|deadline|due|must"
                   r"|need to|needs to|important|key|in summary|overall|conclusion|recommend)\b")
_WORD = re.compile(r"[a-z][a-z0-9'’-]*")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_CONTINUATION = re.compile(r"[a-z][a-z'’-]*(?:[\s,;.]|$)")  # a lowercase word, not a URL


def split_sentences(text: str) -> list[tuple[str, bool]]:
    """Sentences of ``text`` as (sentence, is_item) with whitespace collapsed; ``is_item``
    marks list items and unterminated lines (meeting notes), which keep their own line."""
    blocks: list[tuple[list[str], bool] | None] = []  # (lines, is_item)
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            blocks.append(None)  # a paragraph break ends any block
            continue
        bullet = _BULLET.match(line)
        previous = blocks[-1] if blocks else None
        # A line continues the one before when it starts in lowercase, or when the one
        # before is long and unterminated: hard-wrapped prose rather than notes.
        if previous and not bullet and (_CONTINUATION.match(stripped) or (
                len(previous[0][-1]) >= 50 and not _TERMINAL.search(previous[0][-1]))):
            previous[0].append(stripped)
        else:
            blocks.append(([line[bullet.end():].strip() if bullet else stripped], bool(bullet)))
    sentences = []
    for block in filter(None, blocks):
        content, is_item = " ".join(block[0]), block[1]
        start = 0
        for m in _BOUNDARY.finditer(content):
            if _ends_sentence(content, m):
                sentences.append((content[start:m.end()], is_item))
                start = m.end()
        sentences.append((content[start:], is_item or not _TERMINAL.search(content)))
    return [(" ".join(s.split()), item) for s, item in sentences if s.strip()]


def _ends_sentence(content: str, m: re.Match) -> bool:
    if not m.group().startswith(".") or m.group().startswith(".."):
        return True  # "!", "?", or an ellipsis
    # Bounded look-behind and look-ahead keep splitting linear on long paragraphs.
    word = content[max(0, m.start() - 20):m.start()].rsplit(None, 1)
    word = word[-1].lower().lstrip("(\"'“") if word else ""
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):  # "Dr.", "J. Smith"
        return False
    following = _NEXT_CHAR.match(content, m.end())
    return not (word in _NUMBER_ABBREVIATIONS and following and following.group(1).isdigit())


def _content_words(sentence: str) -> list[str]:
    words = []
    for w in _WORD.findall(sentence.lower()):
        w = w.strip("'’-")
        if len(w) > 2 and w not in STOPWORDS:
            # Fold plain plurals so "budget" and "budgets" count together.
            words.append(w[:-1] if w.endswith("s") and not w.endswith("ss") else w)
    return words


def _lowercase_words(sentence: str) -> str:
    # Content written in lowercase: none at all marks a heading or a list of names.
    return " ".join(re.findall(r"\b[a-z][\w'’-]*", sentence))


def summarize(text: str) -> dict:
    """An extractive summary: about a third of the sentences (1 to 5), best by content-word
    frequency with bonuses for the opening sentence and decision/action cues, in original
    order. Returns {"text", "sentences"}."""
    sentences = split_sentences(text)
    if len(sentences) <= 2:
        return {"text": _join(sentences), "sentences": len(sentences)}
    words = [_content_words(s) for s, _ in sentences]
    freq = Counter(w for ws in words for w in ws)
    top = max(freq.values(), default=1)
    scores = []
    substantive = 0
    first_seen = False
    for (sentence, _), ws in zip(sentences, words):
        distinct = set(ws)
        # sqrt length normalisation: long sentences gain, but less than linearly.
        score = sum(freq[w] / top for w in distinct) / math.sqrt(len(distinct) or 1)
        n_words = len(sentence.split())
        if n_words < 4 or not _content_words(_lowercase_words(sentence)):
            score *= 0.3  # greetings, sign-offs, headings, "Attendees: Alice, Bob"
        else:
            substantive += 1
            if n_words >= 6 and not first_seen:
                score *= 1.5  # the first real sentence usually states the point
                first_seen = True
        if _CUES.search(sentence.lower()):
            score *= 1.5  # decisions and action items are what notes are read for
        scores.append(score)
    k = min(5, max(1, (substantive + 1) // 3))  # a third; sign-offs don't make it longer
    best: dict[str, int] = {}  # quoted replies and signatures repeat: pick each sentence once
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        if len(best) == k:
            break
        best.setdefault(sentences[i][0].lower(), i)
    chosen = [sentences[i] for i in sorted(best.values())]
    return {"text": _join(chosen), "sentences": len(chosen)}


def _join(sentences: list[tuple[str, bool]]) -> str:
    # Items from notes read badly run together; prose reads badly one per line.
    separator = "\n" if any(item for _, item in sentences) else " "
    return separator.join(s for s, _ in sentences)


# Keywords and sentiment ----------------------------------------------------------------

_yake_lock = threading.Lock()  # one extractor, and YAKE's caches are not thread-safe
_yake = None
_YAKE_POOL = 30  # candidates asked of YAKE, before _containment_dedup keeps the top ten
_vader = None
_vader_lock = threading.Lock()
_VADER_ALPHA = 15  # VADER's normalisation constant: compound = x / sqrt(x² + alpha)


def extract_keywords(text: str, top: int = 10) -> list[dict]:
    """YAKE keywords (English, up to 3 words), best first: [{"text", "score"}], where
    score = 1 / (1 + yake_score) in (0, 1], higher is better. ``top`` <= 30."""
    global _yake
    with _yake_lock:
        if _yake is None:
            import yake  # first use: the import alone costs ~0.3 s

            # "levs": YAKE's default "seqm" prefilters on first/last letters, so it never
            # merges "product sync" into "weekly product sync"; _containment_dedup does.
            _yake = yake.KeywordExtractor(lan="en", n=3, dedup_lim=0.9, dedup_func="levs",
                                          top=_YAKE_POOL)
        found = _yake.extract_keywords(_as_prose(text))
    keywords = _containment_dedup([(kw, float(score)) for kw, score in found])[:top]
    return [{"text": kw, "score": round(1.0 / (1.0 + score), 4)} for kw, score in keywords]


def _containment_dedup(found: list[tuple[str, float]]) -> list[tuple[str, float]]:
    # Drop a phrase whose content words contain, or are contained in, a better one's.
    kept: list[tuple[str, float]] = []
    kept_words: list[set[str]] = []
    for kw, score in found:
        words = set(kw.lower().split()) - STOPWORDS
        if any(words <= other or other <= words for other in kept_words):
            continue
        kept.append((kw, score))
        kept_words.append(words)
    return kept


def _as_prose(text: str) -> str:
    # YAKE reads newlines as spaces, so "Dr. Jane Smith\nAcme Corp" became one phrase and a
    # bullet's first word looked capitalized mid-sentence: end every line-sentence first.
    return " ".join(s if _TERMINAL.search(s) else s + "." for s, _ in split_sentences(text))


def _analyzer():
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
    return _vader


def analyze_sentiment(text: str) -> dict:
    """VADER sentiment: {"label", "score"} with score the compound in [-1, 1]."""
    analyzer = _analyzer()
    # VADER's cost grows with the square of the text (each sentiment word rescans every
    # word), so score sentence by sentence and recombine: compounds back to raw valences,
    # summed and renormalised as VADER does; pos/neg shares weighted by words.
    valence = pos = neg = words = 0.0
    for sentence, _ in split_sentences(text):
        scores = analyzer.polarity_scores(sentence)
        c = max(-0.9999, min(0.9999, scores["compound"]))
        valence += c * math.sqrt(_VADER_ALPHA / (1 - c * c))
        n = len(sentence.split())
        pos, neg, words = pos + scores["pos"] * n, neg + scores["neg"] * n, words + n
    compound = valence / math.sqrt(valence * valence + _VADER_ALPHA)
    # "mixed": real praise and real complaint (each >= 15% of the text's tone) that roughly
    # cancel out (|compound| < 0.5). Otherwise VADER's usual thresholds: >= 0.05 positive,
    # <= -0.05 negative, neutral in between.
    if words and pos >= 0.15 * words and neg >= 0.15 * words and abs(compound) < 0.5:
        label = "mixed"
    elif compound >= 0.05:
        label = "positive"
    elif compound <= -0.05:
        label = "negative"
    else:
        label = "neutral"
    return {"label": label, "score": round(compound, 4) + 0.0}  # + 0.0: no "-0.0"


# The provider ---------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """A rough token count: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def analyze(task_type: str, text: str, model: str = DEFAULT_MODEL) -> Result:
    """Run one supported type on ``text`` synchronously and count the tokens. The analyzer
    and the summary written for its data are the type's (flaskllm/llm/processing.py)."""
    kind = processing.get(task_type)
    data = globals()[kind.offline](text)  # by name: processing.py cannot import this module
    answer = kind.summary(data)
    return Result(text=answer, data=data, model=model,
                  input_tokens=count_tokens(text), output_tokens=count_tokens(answer))


_warm: set[str] = set()  # the types analysed once in this process (their models loaded)


class OfflineProvider(Provider):
    """The embedded default: no key, no network, deterministic, English."""

    name = "offline"
    needs_key = False
    free = True  # runs in-process: usage.cost_usd is 0
    # The OpenAI-compatible API runs a type named in the model (offline/keywords); with
    # json_object the answer is its typed data as JSON. No sampling options: it samples none.
    chat_options = frozenset({"json_object"})

    @property
    def supports(self) -> frozenset[str]:
        """The types with an offline analyzer."""
        return frozenset(t.name for t in processing.catalog().values() if t.offline)

    @property
    def default_model(self) -> str:
        return self.config.get("model") or DEFAULT_MODEL

    async def _analyze(self, task: Task) -> Result:
        if task.type not in self.supports:
            raise errors.TypeNotSupported(
                detail=f"The offline provider cannot do '{task.type}': it needs a language "
                       "model. Use openai, anthropic or an OpenAI-compatible server "
                       "(set LLM_PROVIDER).")
        model = task.model or self.default_model
        # The first call of a type may load its model (YAKE, VADER): off the event loop too.
        if len(task.text) > INLINE_MAX_CHARS or task.type not in _warm:
            result = await asyncio.to_thread(analyze, task.type, task.text, model)
            _warm.add(task.type)
            return result
        return analyze(task.type, task.text, model)

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        """The answer's text in phrase-sized deltas (sentence by sentence for a summary,
        item by item for lists), then the Result. It is all computed first: an extractive
        summary cannot know its first sentence before it has read the last."""
        result = await self._analyze(task)
        for delta in _deltas(result.text):
            yield delta
            await asyncio.sleep(0)
        yield result


def _deltas(text: str) -> list[str]:
    # Cut after sentence ends, commas and newlines; the pieces concatenate back to ``text``.
    cuts = [m.end() for m in re.finditer(r"[.!?]+[ \t]+|,[ \t]+|\n+", text)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
