"""The offline provider on real texts: what it answers, not only that it answers."""

from __future__ import annotations

import asyncio

import pytest

from flaskllm import errors
from flaskllm.llm.base import Result, Task
from flaskllm.llm.offline import OfflineProvider, split_sentences
from flaskllm.llm.offline_entities import ENTITY_TYPES

EMAIL = """Hi Sarah,

Thanks for meeting with us on Monday. As discussed, Acme Corp will deliver the first 500 units
by March 15, 2024, at a total price of $1,200.50 per batch. Our finance team needs the signed
purchase order before 2024-03-01 so that we can lock in the 12% volume discount.

Please note that shipping to Berlin adds €30 per pallet. If you have questions, call me at
+1 (415) 555-0132 or email jane.doe@acme.com. Mr. Tom Baker from Bank of America will join
the call at 3pm.

Best regards,
Dr. Jane Smith
Acme Corp
https://www.acme.com/orders"""

NOTES = """Weekly product sync - March 4
Attendees: Alice, Bob, Carol

- Decided to postpone the mobile launch to Q3 because the payment SDK is not ready.
- The quarterly budget was approved at $50,000 for marketing.
- Bob reported that churn dropped to 4.5 percent after the onboarding redesign.
- Carol raised concerns about support ticket volume.
Action items:
- Bob to send the vendor contract to legal by Friday
- Alice to draft the quarterly budget breakdown for the board, e.g. by channel
- Carol to hire two more support agents"""

POSITIVE = ("I absolutely love this blender. The motor is powerful, it crushes ice in seconds "
            "and cleanup takes a minute. Customer support was friendly and helpful. Best "
            "purchase I have made this year!")
NEGATIVE = ("The headphones broke after two days. The sound is terrible, the customer service "
            "was rude and useless, and I want my money back. A complete waste.")
MIXED = ("The hotel room was clean and the staff were wonderful. However, the wifi was "
         "terrible and breakfast was a disappointing mess.")


def run(task_type: str, text: str, **task) -> Result:
    provider = OfflineProvider(settings=None)
    return asyncio.run(provider.complete(Task(type=task_type, text=text, **task)))


def collect(task: Task) -> list:
    async def go():
        return [item async for item in OfflineProvider(settings=None).stream(task)]
    return asyncio.run(go())


def test_provider_contract():
    provider = OfflineProvider(settings=None)
    assert provider.name == "offline" and provider.needs_key is False and provider.free
    assert provider.supports == {"summary", "keywords", "sentiment", "entities"}
    assert provider.default_model == "offline-1"
    assert OfflineProvider(settings=None, model="offline-2").default_model == "offline-2"
    assert run("sentiment", POSITIVE, model="offline-x").model == "offline-x"


def test_summary_of_an_email_keeps_the_deal_and_is_shorter():
    result = run("summary", EMAIL)
    assert "Acme Corp will deliver the first 500 units by March 15, 2024" in result.text
    assert len(result.text) < len(EMAIL) / 2
    assert "Best regards" not in result.text and "Hi Sarah" not in result.text
    assert result.data == {"text": result.text, "sentences": 2}  # a third of 6 real ones
    assert result.model == "offline-1"
    assert result.input_tokens > result.output_tokens > 0


def test_summary_of_meeting_notes_keeps_decisions_one_per_line():
    result = run("summary", NOTES)
    lines = result.text.split("\n")
    assert "Decided to postpone the mobile launch to Q3 because the payment SDK is not ready." \
        in lines
    assert "The quarterly budget was approved at $50,000 for marketing." in lines
    assert not any(line.startswith("- ") for line in lines)  # bullet markers are dropped
    assert "Attendees" not in result.text
    assert result.data["sentences"] == len(lines) == 3


def test_summary_returns_sentences_in_original_order():
    result = run("summary", EMAIL)
    positions = [EMAIL.replace("\n", " ").find(s[:30]) for s in _sentences(result.text)]
    assert -1 not in positions and positions == sorted(positions)


def _sentences(text):
    return [s for s, _ in split_sentences(text)]


def test_short_text_is_its_own_summary():
    result = run("summary", "The invoice is paid.  Thanks, Mr. Lee!")
    assert result.text == "The invoice is paid. Thanks, Mr. Lee!"
    assert result.data["sentences"] == 2


def test_sentence_splitter_knows_abbreviations_decimals_and_bullets():
    text = ("Mr. Smith paid $3.50, e.g. for Invoice No. 4471. Dr. J. Watson left at 5 p.m. "
            "today! Did he?\n- First item\n2) Second item\nThis long line of prose is wrapped "
            "by the mail client and\ncontinues here.")
    assert _sentences(text) == [
        "Mr. Smith paid $3.50, e.g. for Invoice No. 4471.",
        "Dr. J. Watson left at 5 p.m. today!",
        "Did he?",
        "First item",
        "Second item",
        "This long line of prose is wrapped by the mail client and continues here.",
    ]


def test_keywords_find_the_topic_phrases():
    result = run("keywords", NOTES)
    texts = [k["text"] for k in result.data]
    assert "quarterly budget" in texts and "payment SDK" in texts
    assert 1 <= len(texts) <= 10 and len(set(t.lower() for t in texts)) == len(texts)
    scores = [k["score"] for k in result.data]
    assert all(0 < s <= 1 and round(s, 4) == s for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert result.text == ", ".join(texts)


def test_keywords_drop_phrases_contained_in_better_ones():
    texts = [k["text"].lower() for k in run("keywords", NOTES).data]
    # YAKE alone also returns "weekly product" and "product sync" next to this.
    assert "weekly product sync" in texts
    assert "weekly product" not in texts and "product sync" not in texts


def test_keywords_of_a_review():
    texts = [k["text"].lower() for k in run("keywords", POSITIVE).data]
    assert any("blender" in t for t in texts) and any("motor" in t for t in texts)


@pytest.mark.parametrize("text, label", [
    (POSITIVE, "positive"), (NEGATIVE, "negative"), (MIXED, "mixed"),
    ("The meeting is in room 4 on the second floor.", "neutral"),
])
def test_sentiment_labels(text, label):
    result = run("sentiment", text)
    assert result.data["label"] == label
    score = result.data["score"]
    assert -1 <= score <= 1 and round(score, 4) == score
    assert result.text == f"{label} ({score:+.2f})"  # one formatter for every provider


def test_sentiment_strength_follows_the_text():
    assert run("sentiment", POSITIVE).data["score"] > 0.8
    assert run("sentiment", NEGATIVE).data["score"] < -0.8
    assert abs(run("sentiment", MIXED).data["score"]) < 0.5


def test_entities_of_a_business_email():
    result = run("entities", EMAIL)
    found = {(e["text"], e["type"]) for e in result.data}
    assert found >= {
        ("jane.doe@acme.com", "EMAIL"), ("+1 (415) 555-0132", "PHONE"),
        ("$1,200.50", "MONEY"), ("€30", "MONEY"), ("12%", "PERCENT"),
        ("March 15, 2024", "DATE"), ("2024-03-01", "DATE"), ("Monday", "DATE"),
        ("3pm", "TIME"), ("Dr. Jane Smith", "PERSON"), ("Mr. Tom Baker", "PERSON"),
        ("Acme Corp", "ORGANIZATION"), ("Bank of America", "ORGANIZATION"),
        ("Berlin", "LOCATION"), ("https://www.acme.com/orders", "URL"),
    }
    assert "Dr. Jane Smith (PERSON)" in result.text and "jane.doe@acme.com (EMAIL)" in result.text
    assert result.text.count("Acme Corp (ORGANIZATION)") == 1  # listed once, found twice
    assert "\n" not in result.text


@pytest.mark.parametrize("text", [EMAIL, NOTES])
def test_entity_offsets_slice_back_without_overlaps(text):
    entities = run("entities", text).data
    assert len(entities) > 5
    previous_end = 0
    for e in entities:
        assert set(e) == {"text", "type", "start", "end"}
        assert text[e["start"]:e["end"]] == e["text"] and e["text"]
        assert e["type"] in ENTITY_TYPES
        assert e["start"] >= previous_end
        previous_end = e["end"]


@pytest.mark.parametrize("text", [POSITIVE, NEGATIVE, MIXED])
def test_reviews_name_nothing(text):
    # "Customer support...", "Best purchase...", "However," open sentences; none is a name.
    result = run("entities", text)
    assert result.data == [] and result.text == ""


def test_entities_in_notes_skip_sentence_initial_words():
    found = {(e["text"], e["type"]) for e in run("entities", NOTES).data}
    assert {("Alice", "OTHER"), ("Bob", "OTHER"), ("$50,000", "MONEY"),
            ("4.5 percent", "PERCENT"), ("Friday", "DATE"), ("March 4", "DATE")} <= found
    texts = {t for t, _ in found}
    assert not texts & {"Decided", "Action", "Weekly", "The", "Attendees"}


@pytest.mark.parametrize("text, expected", [
    ("Prof. Ada Lovelace of the University of London met Ms Lee in New York on Monday, "
     "March 4th.",
     [("Prof. Ada Lovelace", "PERSON"), ("University of London", "ORGANIZATION"),
      ("Ms Lee", "PERSON"), ("New York", "LOCATION"), ("Monday, March 4th", "DATE")]),
    ("The deal is worth 3 million dollars, about 25 USD a seat, up 12.5 percent since 2023.",
     [("3 million dollars", "MONEY"), ("25 USD", "MONEY"), ("12.5 percent", "PERCENT")]),
    ("Call 555-123-4567 or +44 20 7946 0958 before 14:30 on 15/03/2024; in 1999 it cost 1200.",
     [("555-123-4567", "PHONE"), ("+44 20 7946 0958", "PHONE"), ("14:30", "TIME"),
      ("15/03/2024", "DATE")]),
    ("See www.example.com/pricing (or https://docs.acme.io/a_(b)). Meet next Tuesday at "
     "9 a.m. in Paris.",
     [("www.example.com/pricing", "URL"), ("https://docs.acme.io/a_(b)", "URL"),
      ("next Tuesday", "DATE"), ("9 a.m.", "TIME"), ("Paris", "LOCATION")]),
])
def test_entity_patterns(text, expected):
    assert [(e["text"], e["type"]) for e in run("entities", text).data] == expected


def test_results_are_deterministic():
    for task_type in ("summary", "keywords", "sentiment", "entities"):
        for text in (EMAIL, NOTES, MIXED):
            assert run(task_type, text) == run(task_type, text)


def test_long_texts_run_off_the_event_loop_with_the_same_answer():
    long_text = "\n\n".join([EMAIL, NOTES] * 10)
    assert len(long_text) > 2000
    provider = OfflineProvider(settings=None)

    async def both():
        tasks = [Task(type=t, text=long_text) for t in ("summary", "keywords", "entities")]
        return await asyncio.gather(*(provider.complete(t) for t in tasks))

    summary, keywords, entities = asyncio.run(both())
    assert summary.data["sentences"] == 5
    sentences = _sentences(summary.text)
    assert len(set(sentences)) == len(sentences) == 5  # the repeats are picked once
    assert "quarterly budget" in [k["text"] for k in keywords.data]
    assert all(long_text[e["start"]:e["end"]] == e["text"] for e in entities.data)


@pytest.mark.parametrize("task_type", ["translation", "custom"])
def test_translation_and_custom_need_a_language_model(task_type):
    with pytest.raises(errors.TypeNotSupported) as caught:
        run(task_type, "Bonjour tout le monde", language="en")
    problem = caught.value
    assert problem.status == 422 and problem.ext["code"] == "TYPE_NOT_SUPPORTED"
    for name in ("openai", "anthropic", "OpenAI-compatible", "LLM_PROVIDER"):
        assert name in problem.detail


def test_streaming_a_summary_yields_deltas_then_the_result():
    items = collect(Task(type="summary", text=EMAIL))
    *deltas, final = items
    assert isinstance(final, Result) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) >= 3
    assert "".join(deltas) == final.text == run("summary", EMAIL).text


def test_streaming_other_types_and_refusals():
    *deltas, final = collect(Task(type="keywords", text=NOTES))
    assert len(deltas) > 1 and "".join(deltas) == final.text
    with pytest.raises(errors.TypeNotSupported):
        collect(Task(type="translation", text="Hallo", language="en"))


def test_empty_text_answers_empty():
    assert run("summary", "").text == ""
    assert run("keywords", "   ").data == []
    assert run("sentiment", "").data == {"label": "neutral", "score": 0.0}
    assert run("entities", "").data == []
