"""`fastaug train gan|vae [options]`: the trainers from the command line. The options are generated from the
config dataclasses (fastaug.train.gan.GANConfig, fastaug.train.vae.VAEConfig: field data_fraction becomes
--data-fraction, its metadata["help"] the help text), so the CLI and the Python API cannot drift.

Exit status: 0 trained (the final metrics are printed as one JSON line on stdout), 2 a bad option or input
(one line on stderr: "fastaug train gan: --option: what was wrong"), 1 a run that failed while writing
its outputs (a full disk)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import MISSING, fields
from typing import Any, NoReturn

MODELS = ("gan", "vae")

EPILOG = """\
outputs in OUT: metrics.jsonl (one JSON object per line: the config, training losses every --log-every
steps, evaluations), samples.png and samples/<step>.png, losses.png, last.pt (the
checkpoint: --resume continues from it, bit-identically on the CPU).
multi-process: torchrun --nproc_per_node 2 -m fastaug train {name} ... (gloo on the CPU, NCCL on GPUs).
exit status: 0 done, 1 an output could not be written, 2 a bad option or input."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as ONE line, "fastaug train gan: --size: invalid int value: 'x'",
    and exit status 2."""

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _base_type(annotation: Any) -> tuple[str, bool]:
    """('int' | 'float' | 'str' | 'bool' | 'bool|str' | other, optional) from a field's annotation string."""
    text = str(annotation).replace(" ", "")
    parts = [p for p in text.split("|") if p != "None"]
    return "|".join(parts), "None" in text.split("|")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per dataclass field of cls: --field-name, typed from the annotation (int, float, str,
    optional ones; bool as --x/--no-x; 'resume' (bool | str) as --resume [CHECKPOINT]), help and choices from
    the field's metadata, default from the field."""
    for f in fields(cls):
        meta = dict(f.metadata)
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        if f.default_factory is not MISSING:
            default = f.default_factory()
        kind, _ = _base_type(f.type)
        text = meta.get("help", "")
        kwargs: dict[str, Any] = {"dest": f.name, "default": default}
        if kind == "bool":
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, help=f"{text} (default: %(default)s)", **kwargs
            )
            continue
        if kind == "bool|str":
            kwargs.update(nargs="?", const=True, metavar=meta.get("metavar", "VALUE"))
            parser.add_argument(flag, help=text, **kwargs)
            continue
        conv = {"int": int, "float": float, "str": str}.get(kind, str)
        kwargs["type"] = conv
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        if "metavar" in meta:
            kwargs["metavar"] = meta["metavar"]
        parser.add_argument(flag, help=f"{text} (default: %(default)s)", **kwargs)


def _model(name: str) -> tuple[type, type]:
    """(config class, trainer class) for `name`, imported here so that `fastaug --help` never loads torch."""
    if name == "gan":
        from .gan import GANConfig, GANTrainer

        return GANConfig, GANTrainer
    from .vae import VAEConfig, VAETrainer

    return VAEConfig, VAETrainer


def build_parser(name: str, config_cls: type) -> argparse.ArgumentParser:
    doc = (sys.modules[config_cls.__module__].__doc__ or "").strip().split("\n\n")[0]
    parser = _Parser(
        prog=f"fastaug train {name}",
        description=doc,
        epilog=EPILOG.format(name=name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, config_cls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`fastaug train MODEL [options]`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(f"usage: fastaug train {{{','.join(MODELS)}}} [options]   (fastaug train gan --help for the options)")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    prog = f"fastaug train {name}"
    if name not in MODELS:
        print(f"fastaug train: unknown model {name!r}; expected one of {', '.join(MODELS)}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"{prog}: needs PyTorch: pip install 'fastaug[train]'", file=sys.stderr)
        return 2
    try:
        config_cls, trainer_cls = _model(name)
    except (ImportError, AttributeError) as e:
        print(f"{prog}: not available in this build ({e})", file=sys.stderr)
        return 2
    ns = build_parser(name, config_cls).parse_args(rest)
    from .._errors import FastaugError

    try:
        config = config_cls(**vars(ns))
        metrics = trainer_cls(config).fit()
    except FastaugError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk or a folder removed under the run: not a usage error
        print(f"{prog}: could not write the run's outputs: {e}", file=sys.stderr)
        return 1
    if metrics:
        print(json.dumps(metrics))
    return 0
