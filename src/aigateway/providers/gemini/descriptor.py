"""Google's Gemini API, with the key in the `x-goog-api-key` header."""

from __future__ import annotations

from aigateway.providers.descriptor import Descriptor, client

DESCRIPTORS = [
    Descriptor(
        kind="gemini",
        base_url="https://generativelanguage.googleapis.com/v1beta",
        key_env="GEMINI_API_KEY",
        auth="key",
        build=client("aigateway.providers.gemini.client:GeminiProvider"),
        telemetry_name="gcp.gemini",
        prices_id="google",
        lists_models=True,  # GET models
    )
]
