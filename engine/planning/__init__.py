"""The parts of the Dynamic Region Planner (paper section 4.3).

engine/planning/planner.py is the public face (`plan`, `plan_boxes`, `planner_status`); the pieces
behind it live here, one job each: which presets exist (`catalogue`), how a motion sweeps
a box (`geometry`), the offline planner that sizes a box for the preset engine's own
reading of the prompt (`heuristic`, reading via engine.motion.presets.prompts), and the LLM planner
speaking any OpenAI-compatible server (`llm`, `thumbnail`).
"""
