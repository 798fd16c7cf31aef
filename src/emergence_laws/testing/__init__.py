"""Fixtures for tests, benchmarks and trying the tool in seconds, no downloads: tiny Hugging Face
checkpoints and tokenizer (`tiny_models`, needs torch) and study folders on disk (`study_files`).
"""
