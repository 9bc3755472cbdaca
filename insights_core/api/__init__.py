"""The HTTP API (docs/api.md#http-api): ``app`` (the FastAPI application and ``serve``), ``schema`` (the
models of the OpenAPI document) and ``limits`` (slow clients, long computations, crowds).

Importing this package loads neither FastAPI nor uvicorn; ``app`` does.
"""
