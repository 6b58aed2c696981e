"""AWS Bedrock: Claude by InvokeModel as a passthrough, every other model by Converse."""
