"""The shot planner seam: a video's narration planned into shots (size, camera move, keyframes, motion).

`types.py` holds the plan data and the fixed vocabulary, `validate.py` the pure checks every plan passes before it
may be stored (sentence ranges partition the narration exactly, in order), `offline.py` the deterministic planner.
"""
