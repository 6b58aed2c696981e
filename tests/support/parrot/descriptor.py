"""A made-up provider kind, "parrot", for the test that adding a provider takes a folder and one
registry line (tests/providers/test_adding_a_provider.py). Its wire is invented for the test:
`POST /generate` with `{"model", "prompt", "max", "stream"}`; a JSON answer `{"text", "input",
"output", "done"}`, or SSE `data: {"delta": ...}` events ending with `data: {"done", "input", "output"}`.
"""

from __future__ import annotations

from aigateway.providers.descriptor import Descriptor, client

DESCRIPTOR = Descriptor(
    kind="parrot",
    base_url="http://127.0.0.1:9",
    key_env="PARROT_API_KEY",
    auth="key",
    build=client("tests.support.parrot.client:ParrotProvider"),
    telemetry_name="parrot",
)
