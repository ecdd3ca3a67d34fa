"""The request body validator: connexion's JSON one (compiled once, flaskllm/speedups.py), with
one answer changed. A prompt longer than its ``maxLength`` (MAX_PROMPT_LENGTH, set into the
spec by ``flaskllm.app.load_spec``) is 413 PROMPT_TOO_LONG, as the spec's 413 response says and
as a batch item gets it, instead of connexion's generic 400: single, stream and batch agree.
"""

from __future__ import annotations

from connexion.exceptions import BadRequestProblem

from flaskllm import errors, speedups


def prompt_too_long(validator, body) -> errors.PromptTooLong | None:
    """PromptTooLong when one of the body's errors is the top-level prompt's maxLength."""
    for error in validator.iter_errors(body):
        if error.validator == "maxLength" and list(error.path) == ["prompt"]:
            return errors.PromptTooLong(
                f"The prompt has {len(error.instance)} characters; this server accepts at "
                f"most {error.validator_value} (MAX_PROMPT_LENGTH).")
    return None


class BodyValidator(speedups.CompiledJSONBodyValidator):
    def _validate(self, body):
        try:
            return super()._validate(body)
        except BadRequestProblem:
            # Only failed bodies are looked at again, so valid ones cost nothing more.
            too_long = prompt_too_long(self._validator, body)
            if too_long is not None:
                raise too_long from None
            raise


def validator_map() -> dict:
    found = speedups.validator_map()
    body = dict(found["body"])
    for media_type, cls in body.items():
        if cls is speedups.CompiledJSONBodyValidator:
            body[media_type] = BodyValidator
    return {**found, "body": type(found["body"])(body)}
