"""The embedded default behind `emergence demo`: a generated micro world (language, corpus, reference text,
task), a ladder of tiny Llama checkpoints pretrained on the CPU, and the study, fit and report run on them.

    world.py (the world) -> pretrain.py (the ladder) -> pipeline.py (study, fit, report; config.py: the design)
"""
