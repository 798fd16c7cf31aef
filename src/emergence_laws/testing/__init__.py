"""Fixtures for tests, benchmarks and trying the tool in seconds, no downloads: tiny Hugging Face
checkpoints and tokenizer (`tiny_models`, needs torch), study folders on disk (`study_files`) and
real-shaped checkpoint logs of known curves (`checkpoint_logs`).
"""
