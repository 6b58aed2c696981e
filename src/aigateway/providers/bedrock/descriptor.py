"""AWS Bedrock: Claude by InvokeModel passthrough, every other model by Converse, SigV4-signed
by the standard AWS credential chain unless a Bedrock API key is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.descriptor import Descriptor
from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider


def _build(name: str, config: ProviderConfig) -> Provider:
    from aigateway.providers.bedrock.client import BedrockProvider  # botocore loads only when used

    assert isinstance(config, BedrockConfig)
    return BedrockProvider(name, config)


DESCRIPTORS = [
    Descriptor(
        kind="bedrock",
        # `{region}` is filled from the block's `region`.
        base_url="https://bedrock-runtime.{region}.amazonaws.com",
        key_env="AWS_BEARER_TOKEN_BEDROCK",
        auth="optional",  # without a Bedrock API key the AWS credential chain signs
        build=_build,
        telemetry_name="aws.bedrock",
        config=BedrockConfig,
        prices_id="aws",  # the package knows the `us.`/`eu.`/`apac.`/`global.` inference profiles
    )
]
