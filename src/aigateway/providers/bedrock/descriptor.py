"""AWS Bedrock: Claude by InvokeModel passthrough, every other model by Converse, SigV4-signed
by the standard AWS credential chain unless a Bedrock API key is given."""

from __future__ import annotations

from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.descriptor import Descriptor, client

DESCRIPTORS = [
    Descriptor(
        kind="bedrock",
        # `{region}` is filled from the block's `region`.
        base_url="https://bedrock-runtime.{region}.amazonaws.com",
        key_env="AWS_BEARER_TOKEN_BEDROCK",
        auth="optional",  # without a Bedrock API key the AWS credential chain signs
        build=client("aigateway.providers.bedrock.client:BedrockProvider", config=BedrockConfig),
        telemetry_name="aws.bedrock",
        config=BedrockConfig,
        prices_id="aws",  # the package knows the `us.`/`eu.`/`apac.`/`global.` inference profiles
    )
]
