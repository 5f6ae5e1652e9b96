"""The ION API Gateway: OAuth2, .ionapi, throttling, authorization and routing."""
