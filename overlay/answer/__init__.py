"""Answering: sources for a question, the LLM back-ends, the reasoning loop, the checks on what the model wrote, the
answer note's format, and writing it back into the vault. Imports `overlay.search` and below.
"""
