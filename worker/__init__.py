"""The async-queue worker: drains the Service Bus request queue into a model's OpenAI-compatible
endpoint and writes each result to the reply queue (see docs/async-queue.md)."""
