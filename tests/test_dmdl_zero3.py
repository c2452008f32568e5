"""The ZeRO-3 launch config, checked as far as a machine without CUDA allows (DeepSpeed cannot run here).

accelerate's own loader parses the file, its own launcher code turns it into the
environment `accelerate launch` hands the training processes, and accelerate's
DeepSpeedPlugin builds DeepSpeed's config from that environment; the run's options
(parsed from the command the file documents) are then written into it as the trainer does.
"""

from __future__ import annotations

import shlex

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, DistributedType
from accelerate.utils.launch import prepare_deepspeed_cmd_env

from engine.dmdl.errors import DMDLError
from engine.dmdl.train.options import launch_mixed_precision, parse_args
from engine.dmdl.train.run import apply_deepspeed_options
from tests.helpers.paths import REPO_ROOT

ZERO3 = REPO_ROOT / "configs" / "accelerate" / "deepspeed_zero3.yaml"


def documented_command(config) -> list[str]:
    """The trainer's arguments in the `accelerate launch ... -m engine.dmdl.train ...` the file's header shows."""
    lines = [line.lstrip("#").strip().rstrip("\\") for line in config.read_text().splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(lines) if line.startswith("accelerate launch"))
    words = shlex.split(" ".join(lines[start : start + 2]))
    return words[words.index("engine.dmdl.train") + 1 :]


def launch_environment(config) -> dict[str, str]:
    """What `accelerate launch --config_file CONFIG` exports for DeepSpeed (its own code, minus starting processes)."""
    args = launch_command_parser().parse_args(["--config_file", str(config), "-m", "engine.dmdl.train"])
    args, defaults, mixed_precision_from_config = _validate_launch_command(args)
    fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_config else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)  # as accelerate's launch_command sets it
    _, environment = prepare_deepspeed_cmd_env(args)
    return {k: v for k, v in environment.items() if k.startswith("ACCELERATE_")}


@pytest.fixture(autouse=True)
def no_global_deepspeed_config():
    """A DeepSpeedPlugin with zero3_init registers itself with transformers globally: undone after."""
    from transformers.integrations import unset_hf_deepspeed_config

    yield
    unset_hf_deepspeed_config()


def test_zero3_config_parses_and_the_run_options_map_onto_deepspeed(monkeypatch):
    config = load_config_from_file(str(ZERO3))
    assert config.distributed_type == DistributedType.DEEPSPEED and config.deepspeed_config["zero_stage"] == 3
    for name, value in launch_environment(ZERO3).items():
        monkeypatch.setenv(name, value)
    options = parse_args([*documented_command(ZERO3), "--batch-size", "2", "--grad-clip", "0.5"])
    assert options.gradient_checkpointing and options.mixed_precision is None

    plugin = DeepSpeedPlugin()
    deepspeed = apply_deepspeed_options(plugin.deepspeed_config, options)
    plugin.set_mixed_precision(launch_mixed_precision(options))
    assert deepspeed["zero_optimization"]["stage"] == 3
    assert deepspeed["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert deepspeed["train_micro_batch_size_per_gpu"] == 2 and deepspeed["gradient_clipping"] == 0.5
    assert deepspeed["gradient_accumulation_steps"] == 1  # the loop steps after every batch
    assert launch_mixed_precision(options) == config.mixed_precision == "bf16" and deepspeed["bf16"]["enabled"]

    explicit = parse_args([*documented_command(ZERO3), "--mixed-precision", "no"])
    assert launch_mixed_precision(explicit) == "no"  # an explicit option wins over the launch config


def test_a_deepspeed_config_that_accumulates_gradients_is_refused():
    options = parse_args(["--data", "TDL", "--base", "BASE", "--out", "RUN"])
    with pytest.raises(DMDLError, match="gradient_accumulation_steps to 1"):
        apply_deepspeed_options({"gradient_accumulation_steps": 4}, options)
